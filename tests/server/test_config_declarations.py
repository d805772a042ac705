"""Settings are declared once (server.config.SETTINGS): `Config` carries every one,
parsed by its type, and `.env.example` and the README's table are generated from the
declarations and in step with them."""

from __future__ import annotations

from server.config import ROOT_DIR, SETTINGS, Config, read_env
from server.config_docs import ENV_EXAMPLE, README, env_example, out_of_step, readme_with_table

# The Office clients Microsoft's Office add-in SSO registration lists.
OFFICE_CLIENTS = (
    "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e,d3590ed6-52b3-4102-aeff-aad2292ab01c,"
    "57fb890c-0dab-4253-a5e0-7188c88b2bb4,08e18876-6177-487e-b8b5-cf950c1e598c,"
    "bc59ab01-8403-45c6-8796-ac3ef710b3e3"
)

# Names and defaults are a contract with every deployment: they never change.
CONTRACT_DEFAULTS = {
    "GRAPH_BASE_URL": "https://graph.microsoft.com/v1.0",
    "AUTHORITY_HOST": "https://login.microsoftonline.com",
    "AZURE_CLIENT_ID": "",
    "AZURE_CLIENT_SECRET": "",
    "AZURE_TENANT_ID": "organizations",
    "ADDIN_ID": "2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52",
    "API_AUDIENCE": "",
    "ALLOWED_CLIENT_IDS": OFFICE_CLIENTS,
    "ALLOW_PERSONAL_ACCOUNTS": False,
    "PUBLIC_BASE_URL": "http://localhost:5000",
    "CA_BUNDLE": None,
    "REDIS_URL": None,
    "OFFICE_JS_URL": "https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
    "GRAPH_TIMEOUT_S": 10.0,
    "GRAPH_MAX_WAIT_S": 10.0,
    "GRAPH_MAILBOX_BUDGET": 10_000,
    "GRAPH_MAILBOX_BUDGET_WINDOW_S": 600.0,
    "GRAPH_INTERACTIVE_RESERVE": 0.01,
    "SECRET_KEY": None,
    "SESSION_RECHECK_S": 900,
    "MAX_CONTENT_LENGTH": 1048576,
    "IMPORT_MAX_BYTES": 20971520,
    "ATTACHMENT_MAX_BYTES": 26214400,
    "ATTACHMENTS_MAX_BYTES_PER_EMAIL": 104857600,
    "MESSAGE_READ_CACHE_S": 120,
    "AUTO_LINK_COMPANIES": True,
    "LOG_LEVEL": "INFO",
    "RATE_LIMIT": "600 per minute",
    "WEBHOOK_RATE_LIMIT": "6000 per minute",
    "PAGES_RATE_LIMIT": "60 per minute",
    "NOTIFICATION_BASE_URL": "http://localhost:5000",
    "DELTA_INTERVAL_S": 600,
    "CATCH_UP_ON_OPEN": True,
    "JOB_WORKERS": 2,
    "JOB_MAX_ATTEMPTS": 5,
    "JOB_RETRY_BASE_S": 5.0,
    "JOB_STALE_S": 300,
}


def test_env_example_is_generated_from_the_declarations():
    assert ENV_EXAMPLE.read_text() == env_example(), "run python -m server.config_docs --write"


def test_readme_settings_table_is_generated_from_the_declarations():
    readme = README.read_text()
    assert readme_with_table(readme) == readme, "run python -m server.config_docs --write"
    assert out_of_step() == []


def test_every_declared_setting_is_on_config():
    for setting in SETTINGS:
        assert hasattr(Config, setting.name), setting.name


def test_unset_settings_take_their_contract_defaults():
    values = read_env({})
    assert set(values) == set(CONTRACT_DEFAULTS) | {"DATABASE_URL", "INSTANCE_DIR"}
    assert {name: values[name] for name in CONTRACT_DEFAULTS} == CONTRACT_DEFAULTS
    assert values["DATABASE_URL"].startswith("sqlite:///") and values["DATABASE_URL"].endswith("instance/crm.sqlite3")
    assert values["INSTANCE_DIR"] == str(ROOT_DIR / "instance")


def test_instance_dir_moves_the_default_database_with_it(tmp_path):
    values = read_env({"INSTANCE_DIR": str(tmp_path / "elsewhere")})
    assert values["INSTANCE_DIR"] == str(tmp_path / "elsewhere")
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'elsewhere' / 'crm.sqlite3'}"


def test_values_are_parsed_by_their_declared_type():
    values = read_env(
        {
            "JOB_WORKERS": " 4 ",
            "GRAPH_TIMEOUT_S": "2.5",
            "AUTO_LINK_COMPANIES": "off",
            "LOG_LEVEL": "debug",
            "GRAPH_BASE_URL": "https://graph.example/v1.0/",
            "JOB_STALE_S": "  ",
            "REDIS_URL": "",
        }
    )
    assert values["JOB_WORKERS"] == 4 and values["GRAPH_TIMEOUT_S"] == 2.5
    assert values["AUTO_LINK_COMPANIES"] is False and values["LOG_LEVEL"] == "DEBUG"
    assert values["GRAPH_BASE_URL"] == "https://graph.example/v1.0"
    assert values["JOB_STALE_S"] == 300 and values["REDIS_URL"] is None


def test_derived_defaults_follow_the_settings_they_come_from():
    values = read_env({"PUBLIC_BASE_URL": "https://crm.example.com/", "AZURE_CLIENT_ID": "client-1"})
    assert values["API_AUDIENCE"] == "api://crm.example.com/client-1,client-1"
    assert values["NOTIFICATION_BASE_URL"] == "https://crm.example.com"
    assert values["ALLOWED_CLIENT_IDS"] == f"{OFFICE_CLIENTS},client-1"  # the pane's own client (NAA)
