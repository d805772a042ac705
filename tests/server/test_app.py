"""The app shell: health, OpenAPI, the one error shape, security headers, CORS, settings."""

import marshmallow as ma
import pytest
from flask import abort
from sqlalchemy import text

from server import create_app
from server.api import Blueprint, api
from server.config import Config
from server.crm.models import Tenant
from server.db import db_session, engine_for, session_scope
from server.errors import ApiError
from tests.support.backend import app_config


def assert_error_shape(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


class EchoSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10))
    count = ma.fields.Integer()


@pytest.fixture
def app_with_probes(database_url, tmp_path):
    """An app with extra routes that fail in each way the real ones can."""
    app = create_app(app_config(database_url, tmp_path / "instance"))
    probes = Blueprint("probes", __name__, url_prefix="/api/v1/probes")

    @probes.post("/echo")
    @probes.arguments(EchoSchema)
    @probes.response(200, EchoSchema)
    def echo(data):
        return data

    @probes.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    @probes.get("/throttled")
    def throttled():
        raise ApiError(429, "throttled", "Outlook is busy. Retry in 30 seconds.", retry_after=29.2)

    @probes.get("/forbidden")
    def forbidden():
        abort(403)

    @probes.get("/unprocessable")
    def unprocessable():
        abort(422)

    api.register_blueprint(probes)
    return app


def test_health_says_ok(offline_client):
    response = offline_client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_openapi_document_is_served(offline_client):
    response = offline_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "CRM Sync for Outlook API"
    assert "/api/v1/health" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_unknown_url_gets_404_in_the_error_shape(offline_client):
    assert_error_shape(offline_client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_gets_405_in_the_error_shape(offline_client):
    error = assert_error_shape(offline_client.delete("/api/v1/health"), 405, "method_not_allowed")
    assert "GET" in error["allowed"]


def test_oversize_body_gets_413_in_the_error_shape(app_with_probes):
    client = app_with_probes.test_client()
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = client.post("/api/v1/probes/echo", data=big, content_type="application/json")
    assert_error_shape(response, 413, "payload_too_large")


def test_uncaught_exception_gets_500_without_internals(app_with_probes):
    response = app_with_probes.test_client().get("/api/v1/probes/boom")
    assert_error_shape(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text


def test_validation_errors_are_400_with_field_details(app_with_probes):
    client = app_with_probes.test_client()
    error = assert_error_shape(client.post("/api/v1/probes/echo", json={"count": "many"}), 400, "invalid_request")
    assert set(error["details"]) == {"name", "count"}
    error = assert_error_shape(
        client.post("/api/v1/probes/echo", json={"name": "ok", "extra": 1}), 400, "invalid_request"
    )
    assert "extra" in error["details"]
    assert client.post("/api/v1/probes/echo", json={"name": "ok"}).get_json() == {"name": "ok"}


def test_malformed_json_is_400(app_with_probes):
    response = app_with_probes.test_client().post(
        "/api/v1/probes/echo", data=b"{not json", content_type="application/json"
    )
    assert_error_shape(response, 400, "invalid_request")


def test_retry_after_is_in_body_and_header(app_with_probes):
    response = app_with_probes.test_client().get("/api/v1/probes/throttled")
    error = assert_error_shape(response, 429, "throttled")
    assert error["retry_after"] == 30
    assert response.headers["Retry-After"] == "30"


def test_werkzeug_errors_get_the_shape_too(app_with_probes):
    client = app_with_probes.test_client()
    assert_error_shape(client.get("/api/v1/probes/forbidden"), 403, "forbidden")
    assert_error_shape(client.get("/api/v1/probes/unprocessable"), 400, "invalid_request")


def test_openapi_documents_validation_as_400_with_the_error_schema(app_with_probes):
    spec = app_with_probes.test_client().get("/api/v1/openapi.json").get_json()
    responses = spec["paths"]["/api/v1/probes/echo"]["post"]["responses"]
    assert "400" in responses and "422" not in responses
    assert "error" in spec["components"]["schemas"]["Error"]["properties"]


def test_security_headers_are_set(offline_client):
    headers = offline_client.get("/api/v1/health").headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors" in csp and "https://outlook.office.com" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # PUBLIC_BASE_URL is http here


def test_hsts_is_sent_when_served_over_https(database_url, tmp_path):
    config = {**app_config(database_url, tmp_path), "PUBLIC_BASE_URL": "https://crm.example.com"}
    headers = create_app(config).test_client().get("/api/v1/health").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_allows_only_the_public_origin(offline_client):
    ok = offline_client.options(
        "/api/v1/health",
        headers={
            "Origin": "http://localhost:5000",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert ok.headers.get("Access-Control-Allow-Origin") == "http://localhost:5000"
    assert "authorization" in ok.headers.get("Access-Control-Allow-Headers", "").lower()
    evil = offline_client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_settings_come_from_the_environment(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRAPH_BASE_URL", "https://localhost:8443/v1.0/")
    monkeypatch.setenv("AZURE_CLIENT_ID", "client-1")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://crm.example.com")
    monkeypatch.setenv("GRAPH_TIMEOUT_S", "2.5")
    monkeypatch.setenv("AUTO_LINK_COMPANIES", "false")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.delenv("API_AUDIENCE", raising=False)
    app = create_app()
    assert app.config["GRAPH_BASE_URL"] == "https://localhost:8443/v1.0"
    assert app.config["GRAPH_TIMEOUT_S"] == 2.5
    assert app.config["AUTO_LINK_COMPANIES"] is False
    assert app.config["API_AUDIENCE"] == "api://crm.example.com/client-1,client-1"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_defaults_give_the_embedded_setup(monkeypatch):
    for name in ("DATABASE_URL", "GRAPH_BASE_URL", "AUTHORITY_HOST", "AZURE_TENANT_ID", "OFFICE_JS_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    config = Config.from_env()
    assert config.DATABASE_URL.startswith("sqlite:////") and config.DATABASE_URL.endswith("instance/crm.sqlite3")
    assert config.GRAPH_BASE_URL == "https://graph.microsoft.com/v1.0"
    assert config.AUTHORITY_HOST == "https://login.microsoftonline.com"
    assert config.AZURE_TENANT_ID == "organizations"
    assert config.OFFICE_JS_URL == "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
    assert config.REDIS_URL is None
    assert (config.GRAPH_TIMEOUT_S, config.GRAPH_MAX_WAIT_S) == (10.0, 10.0)


def test_config_subclass_is_used_as_is(database_url, tmp_path):
    class TestingConfig(Config):
        TESTING = True
        DATABASE_URL = database_url
        INSTANCE_DIR = str(tmp_path)
        SECRET_KEY = "subclass"

    app = create_app(TestingConfig)
    assert app.config["SECRET_KEY"] == "subclass" and app.testing


def test_secret_key_is_generated_once_into_instance(monkeypatch, database_url, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {**app_config(database_url, tmp_path / "inst"), "SECRET_KEY": None}
    first = create_app(config).config["SECRET_KEY"]
    second = create_app(config).config["SECRET_KEY"]
    assert first and len(first) >= 32 and first == second
    assert (tmp_path / "inst" / "secret_key").read_text().strip() == first


def test_request_session_is_one_per_app_context_and_closed_after(offline_app):
    with offline_app.app_context():
        first = db_session()
        assert db_session() is first
        assert first.execute(text("SELECT 1")).scalar() == 1
    with offline_app.app_context():
        assert db_session() is not first


def test_session_scope_commits_or_rolls_back(offline_app):
    with session_scope(offline_app) as session:
        session.add(Tenant(id="tenant-committed", name="A"))
    with pytest.raises(RuntimeError):
        with session_scope(offline_app) as session:
            session.add(Tenant(id="tenant-rolled-back", name="B"))
            session.flush()
            raise RuntimeError("job failed")
    with session_scope(offline_app) as session:
        assert session.get(Tenant, "tenant-committed") is not None
        assert session.get(Tenant, "tenant-rolled-back") is None


def test_sqlite_runs_in_wal_mode_with_foreign_keys(offline_app):
    engine = engine_for(offline_app)
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
