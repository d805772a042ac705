"""Migrations: `db upgrade` on an empty database builds exactly the models' schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from server import create_app, migrate
from server.crm.models import Base
from server.db import make_engine
from tests.support.backend import app_config

STAMP = "2026-01-01 00:00:00+00:00"

# SQLite cannot reflect expression indexes (lower(name)); Alembic says so once per index.
# compare_metadata skips them there, so test_every_model_index_exists checks them by name.
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
]


def schema_differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_on_empty_database_matches_the_models(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url)
        assert set(Base.metadata.tables) <= table_names(url)
        assert schema_differences(url) == []


def index_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
            else:
                rows = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
            return {name for (name,) in rows}
    finally:
        engine.dispose()


def test_every_model_index_exists(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url)
        wanted = {index.name for table in Base.metadata.tables.values() for index in table.indexes}
        assert wanted - index_names(url) == set()


def test_downgrade_to_base_and_back_again(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url)
        migrate.downgrade(url, "base")
        assert table_names(url) - {"alembic_version"} == set()
        migrate.upgrade(url)
        assert schema_differences(url) == []


def test_migration_history_is_one_line():
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_flask_db_upgrade_and_current(fresh_database_factory, tmp_path):
    with fresh_database_factory() as url:
        app = create_app(app_config(url, tmp_path / "instance"))
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
        assert f"empty -> {head}" in result.output
        assert schema_differences(url) == []
        result = runner.invoke(args=["db", "current"])
        assert result.exit_code == 0 and result.output.strip() == migrate.current_revision(url)
        result = runner.invoke(args=["db", "downgrade", "base"])
        assert result.exit_code == 0, result.output
        assert "emails" not in table_names(url)


def test_folded_search_keys_are_backfilled_for_existing_rows(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url, "0005")
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO tenants (id, name, settings, created_at) VALUES ('t1', '', '{}', :now)"),
                    {"now": STAMP},
                )
                conn.execute(
                    text(
                        "INSERT INTO companies (id, tenant_id, name, name_key, domains, created_at, updated_at) "
                        "VALUES (1, 't1', 'Łódź Meble', 'łódź meble', '[]', :now, :now)"
                    ),
                    {"now": STAMP},
                )
                conn.execute(
                    text(
                        "INSERT INTO contacts (id, tenant_id, first_name, last_name, display_name, job_title, "
                        "business_phone, mobile_phone, company_id, created_at, updated_at) "
                        "VALUES (:id, 't1', 'Antonín', 'Dvořák', 'Antonín Dvořák', '', '', '', 1, :now, :now)"
                    ),
                    [{"id": i, "now": STAMP} for i in range(1, 2502)],  # more than one backfill batch
                )
            migrate.upgrade(url)
            with engine.connect() as conn:
                keys = conn.execute(
                    text("SELECT DISTINCT first_name_fold, last_name_fold, display_name_fold FROM contacts")
                ).all()
                company = conn.execute(text("SELECT name_fold FROM companies")).scalar_one()
        finally:
            engine.dispose()
        assert keys == [("antonin", "dvorak", "antonin dvorak")]
        assert company == "lodz meble"
