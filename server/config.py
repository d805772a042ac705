"""Every setting of the backend, read from the environment (DESIGN §6).

Defaults give the embedded local setup. Tests subclass `Config` or pass a dict
of overrides to `create_app`.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

ROOT_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT_DIR / "instance"

# A .env in the repo root (or the working directory) configures a developer's machine;
# real environment variables win over it.
load_dotenv(ROOT_DIR / ".env", override=False)


def env_bool(name: str, default: bool) -> bool:
    """Reads a boolean variable: 1/true/yes/on are true, 0/false/no/off false."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw and raw.strip() else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw and raw.strip() else default


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'crm.sqlite3'}"


def derived_audience(public_base_url: str, client_id: str) -> str:
    """The `aud` values a pane token may carry: the identifier URI (v1) and the client id (v2)."""
    if not client_id:
        return ""
    host = urlsplit(public_base_url).netloc or "localhost:5000"
    return f"api://{host}/{client_id},{client_id}"


def instance_secret_key(instance_dir: Path) -> str:
    """Returns the secret key stored under instance/, generating it on first run.

    A generated key keeps sessions valid across restarts of one machine without
    ever shipping a hard-coded secret. Several web workers share it through the file.
    """
    path = instance_dir / "secret_key"
    try:
        existing = path.read_text().strip()
        if existing:
            return existing
    except FileNotFoundError:
        pass
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: when two workers start at once, the first one's key wins.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip() or key
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def read_env() -> dict[str, object]:
    """Every environment-backed setting, parsed, with the embedded-setup defaults."""
    public_base_url = (os.environ.get("PUBLIC_BASE_URL") or "http://localhost:5000").rstrip("/")
    client_id = os.environ.get("AZURE_CLIENT_ID", "")
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_database_url(),
        "GRAPH_BASE_URL": (os.environ.get("GRAPH_BASE_URL") or "https://graph.microsoft.com/v1.0").rstrip("/"),
        "AUTHORITY_HOST": (os.environ.get("AUTHORITY_HOST") or "https://login.microsoftonline.com").rstrip("/"),
        "AZURE_CLIENT_ID": client_id,
        "AZURE_CLIENT_SECRET": os.environ.get("AZURE_CLIENT_SECRET", ""),
        "AZURE_TENANT_ID": os.environ.get("AZURE_TENANT_ID") or "organizations",
        "API_AUDIENCE": os.environ.get("API_AUDIENCE") or derived_audience(public_base_url, client_id),
        "PUBLIC_BASE_URL": public_base_url,
        "CA_BUNDLE": os.environ.get("CA_BUNDLE") or None,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "OFFICE_JS_URL": os.environ.get("OFFICE_JS_URL")
        or "https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
        "GRAPH_TIMEOUT_S": env_float("GRAPH_TIMEOUT_S", 10.0),
        "GRAPH_MAX_WAIT_S": env_float("GRAPH_MAX_WAIT_S", 10.0),
        # None -> generated under instance/ by create_app; never a hard-coded secret.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "MAX_CONTENT_LENGTH": env_int("MAX_CONTENT_LENGTH", 1024 * 1024),
        # Largest contact file the admin page's import accepts (its own limit: above MAX_CONTENT_LENGTH).
        "IMPORT_MAX_BYTES": env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024),
        # Per-user API rate limit and per-IP webhook limit (server.ratelimit); None: its
        # defaults (600 and 6000 per minute; none in TESTING apps), "off" disables.
        "RATE_LIMIT": os.environ.get("RATE_LIMIT") or None,
        "WEBHOOK_RATE_LIMIT": os.environ.get("WEBHOOK_RATE_LIMIT") or None,
        "AUTO_LINK_COMPANIES": env_bool("AUTO_LINK_COMPANIES", True),
        "LOG_LEVEL": (os.environ.get("LOG_LEVEL") or "INFO").upper(),
        # Background jobs (server.jobs) and automatic sync.
        "NOTIFICATION_BASE_URL": (os.environ.get("NOTIFICATION_BASE_URL") or public_base_url).rstrip("/"),
        "DELTA_INTERVAL_S": env_int("DELTA_INTERVAL_S", 600),
        "JOB_WORKERS": env_int("JOB_WORKERS", 2),
        "JOB_MAX_ATTEMPTS": env_int("JOB_MAX_ATTEMPTS", 5),
        "JOB_RETRY_BASE_S": env_float("JOB_RETRY_BASE_S", 5.0),
        "JOB_STALE_S": env_int("JOB_STALE_S", 300),
    }


_ENV = read_env()


class Config:
    """Settings from the environment (class attributes, read at import).

    `create_app(None)` uses `Config.from_env()`, which re-reads the environment,
    so a process that changes it before creating the app (tests, scripts) is honoured.
    """

    INSTANCE_DIR = str(INSTANCE_DIR)

    DATABASE_URL: str = _ENV["DATABASE_URL"]  # type: ignore[assignment]
    GRAPH_BASE_URL: str = _ENV["GRAPH_BASE_URL"]  # type: ignore[assignment]
    AUTHORITY_HOST: str = _ENV["AUTHORITY_HOST"]  # type: ignore[assignment]
    AZURE_CLIENT_ID: str = _ENV["AZURE_CLIENT_ID"]  # type: ignore[assignment]
    AZURE_CLIENT_SECRET: str = _ENV["AZURE_CLIENT_SECRET"]  # type: ignore[assignment]
    AZURE_TENANT_ID: str = _ENV["AZURE_TENANT_ID"]  # type: ignore[assignment]
    API_AUDIENCE: str = _ENV["API_AUDIENCE"]  # type: ignore[assignment]
    PUBLIC_BASE_URL: str = _ENV["PUBLIC_BASE_URL"]  # type: ignore[assignment]
    CA_BUNDLE: str | None = _ENV["CA_BUNDLE"]  # type: ignore[assignment]
    REDIS_URL: str | None = _ENV["REDIS_URL"]  # type: ignore[assignment]
    OFFICE_JS_URL: str = _ENV["OFFICE_JS_URL"]  # type: ignore[assignment]
    GRAPH_TIMEOUT_S: float = _ENV["GRAPH_TIMEOUT_S"]  # type: ignore[assignment]
    GRAPH_MAX_WAIT_S: float = _ENV["GRAPH_MAX_WAIT_S"]  # type: ignore[assignment]
    SECRET_KEY: str | None = _ENV["SECRET_KEY"]  # type: ignore[assignment]
    MAX_CONTENT_LENGTH: int = _ENV["MAX_CONTENT_LENGTH"]  # type: ignore[assignment]
    IMPORT_MAX_BYTES: int = _ENV["IMPORT_MAX_BYTES"]  # type: ignore[assignment]
    RATE_LIMIT: str | None = _ENV["RATE_LIMIT"]  # type: ignore[assignment]
    WEBHOOK_RATE_LIMIT: str | None = _ENV["WEBHOOK_RATE_LIMIT"]  # type: ignore[assignment]
    AUTO_LINK_COMPANIES: bool = _ENV["AUTO_LINK_COMPANIES"]  # type: ignore[assignment]
    LOG_LEVEL: str = _ENV["LOG_LEVEL"]  # type: ignore[assignment]
    NOTIFICATION_BASE_URL: str = _ENV["NOTIFICATION_BASE_URL"]  # type: ignore[assignment]
    DELTA_INTERVAL_S: int = _ENV["DELTA_INTERVAL_S"]  # type: ignore[assignment]
    JOB_WORKERS: int = _ENV["JOB_WORKERS"]  # type: ignore[assignment]
    JOB_MAX_ATTEMPTS: int = _ENV["JOB_MAX_ATTEMPTS"]  # type: ignore[assignment]
    JOB_RETRY_BASE_S: float = _ENV["JOB_RETRY_BASE_S"]  # type: ignore[assignment]
    JOB_STALE_S: int = _ENV["JOB_STALE_S"]  # type: ignore[assignment]

    # flask-smorest / OpenAPI
    API_TITLE = "CRM Sync for Outlook API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    TESTING = False

    @classmethod
    def from_env(cls) -> type["Config"]:
        """A subclass of `cls` whose environment-backed settings are re-read now."""
        return type(cls.__name__, (cls,), read_env())


# The variables `.env.example` documents.
ENV_SETTINGS = tuple(read_env())
