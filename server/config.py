"""Every setting of the backend, declared once (name, type, default, meaning), and `Config`.

`SETTINGS` is the one list: `read_env()` parses it from the environment, `Config`
carries the values, and `.env.example` and the README's settings table are generated
from it (`python -m server.config_docs --write`). Consumers read `app.config[NAME]`
and never restate a default. Tests subclass `Config` or pass a dict of overrides to
`create_app`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import load_dotenv

ROOT_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT_DIR / "instance"

# A .env in the repo root (or the working directory) configures a developer's machine;
# real environment variables win over it.
load_dotenv(ROOT_DIR / ".env", override=False)

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def default_database_url(instance_dir: str | Path = INSTANCE_DIR) -> str:
    return f"sqlite:///{Path(instance_dir) / 'crm.sqlite3'}"


def derived_audience(public_base_url: str, client_id: str) -> str:
    """The `aud` values a pane token may carry: the identifier URI (v1) and the client id (v2)."""
    if not client_id:
        return ""
    host = urlsplit(public_base_url).netloc or "localhost:5000"
    return f"api://{host}/{client_id},{client_id}"


# The Office clients that ask Entra for a token for our API (Office SSO), as Microsoft's
# Office add-in SSO registration lists them: Microsoft Office (desktop, and the group
# authorization for Office hosts), Office on the web, Outlook on the web. Our own pane
# client (nested app authentication) is added to them by ALLOWED_CLIENT_IDS' default.
OFFICE_CLIENT_IDS = (
    "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "57fb890c-0dab-4253-a5e0-7188c88b2bb4",
    "08e18876-6177-487e-b8b5-cf950c1e598c",
    "bc59ab01-8403-45c6-8796-ac3ef710b3e3",
)


def default_client_ids(client_id: str) -> str:
    """The client applications whose tokens the API takes: Office's and our own pane's."""
    return ",".join([*OFFICE_CLIENT_IDS, *([client_id] if client_id else [])])


def without_trailing_slash(url: str) -> str:
    return url.rstrip("/")


@dataclass(frozen=True)
class Derived:
    """A default computed from other settings' values (read before any derived one)."""

    compute: Callable[[Mapping[str, Any]], Any]
    shown: str  # how the docs state it (markdown)


@dataclass(frozen=True)
class Setting:
    """One environment variable: how its text is parsed (`type`: str, int, float or
    bool), its value when unset or empty, and one line saying what it does."""

    name: str
    type: type
    default: Any
    doc: str
    shown_default: str = ""  # the docs' wording when the default is not a plain value
    normalise: Callable[[Any], Any] | None = None

    def parse(self, raw: str | None, known: Mapping[str, Any]) -> Any:
        """The value for the environment's text `raw` (None: unset)."""
        if self.type is str:
            unset = not raw
        else:
            unset = raw is None or not raw.strip()
        if unset:
            value = self.default.compute(known) if isinstance(self.default, Derived) else self.default
        elif self.type is bool:
            value = raw.strip().lower() in TRUE_WORDS
        else:
            value = self.type(raw)
        return self.normalise(value) if self.normalise and value is not None else value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "INSTANCE_DIR",
        str,
        str(INSTANCE_DIR),
        "the backend's own files: the SQLite database by default, the generated secret key, "
        "the CA bundle, uploaded imports (`make run` keeps the emulator's keys and log there too)",
        shown_default="`instance/` in the repo",
        normalise=lambda value: str(Path(value).expanduser().resolve()),
    ),
    Setting(
        "DATABASE_URL",
        str,
        Derived(
            lambda known: default_database_url(known["INSTANCE_DIR"]), "SQLite file `crm.sqlite3` in `INSTANCE_DIR`"
        ),
        "SQLAlchemy URL of the CRM database (PostgreSQL in production: "
        "`postgresql+psycopg2://user:password@host:5432/crm`)",
    ),
    Setting(
        "GRAPH_BASE_URL",
        str,
        "https://graph.microsoft.com/v1.0",
        "Microsoft Graph (the emulator: `https://localhost:8443/v1.0`)",
        normalise=without_trailing_slash,
    ),
    Setting(
        "AUTHORITY_HOST",
        str,
        "https://login.microsoftonline.com",
        "Entra ID, for tokens, OpenID metadata and JWKS (the emulator: `https://localhost:8443`)",
        normalise=without_trailing_slash,
    ),
    Setting("AZURE_CLIENT_ID", str, "", "the app registration's application (client) id"),
    Setting("AZURE_CLIENT_SECRET", str, "", "its client secret (or use a certificate in your secret store)"),
    Setting(
        "AZURE_TENANT_ID",
        str,
        "organizations",
        "the registration's tenant: a tenant id, or `organizations` for multi-tenant",
    ),
    Setting(
        "API_AUDIENCE",
        str,
        Derived(
            lambda known: derived_audience(known["PUBLIC_BASE_URL"], known["AZURE_CLIENT_ID"]),
            "`api://<host of PUBLIC_BASE_URL>/<client id>,<client id>`",
        ),
        "accepted `aud` values of API tokens, comma-separated",
    ),
    Setting(
        "ALLOWED_CLIENT_IDS",
        str,
        Derived(
            lambda known: default_client_ids(known["AZURE_CLIENT_ID"]),
            "the Office client ids the README lists, and `AZURE_CLIENT_ID`",
        ),
        "client applications (`azp` of v2 tokens, `appid` of v1) whose delegated tokens the API "
        "accepts, comma-separated; a token from any other client, or naming none, gets 401",
    ),
    Setting(
        "ALLOW_PERSONAL_ACCOUNTS",
        bool,
        False,
        "accept personal Microsoft accounts (tenant `9188040d-6c67-4c5b-b112-36a304b66dad`) in the "
        "pane and on the CRM pages; off: they get 401 and the sign-in page says why",
    ),
    Setting(
        "ADDIN_ID",
        str,
        "2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52",
        "the add-in manifest's `<Id>`: filing from compose reads the add-in's custom properties from "
        "Outlook's extended property `cecp-<this id>` (change it together with the manifest)",
    ),
    Setting(
        "PUBLIC_BASE_URL",
        str,
        "http://localhost:5000",
        "origin (https in production) the add-in and CRM pages are served from; the only origin CORS allows for `/api/*`",
        normalise=without_trailing_slash,
    ),
    Setting(
        "CA_BUNDLE",
        str,
        None,
        "extra CA file to trust for Graph and the authority (the emulator's `instance/emulator/ca.pem`); "
        "unset: the system's and certifi's CAs only",
    ),
    Setting(
        "REDIS_URL",
        str,
        None,
        "when set (`redis://localhost:6379/0`), background jobs go to RQ workers; unset: an in-process worker",
    ),
    Setting(
        "OFFICE_JS_URL",
        str,
        "https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
        "the office.js the task pane loads (the emulator serves a shim)",
    ),
    Setting("GRAPH_TIMEOUT_S", float, 10.0, "timeout of each Graph request (connect and read), seconds"),
    Setting(
        "GRAPH_MAX_WAIT_S",
        float,
        10.0,
        "longest total retry wait (429/503/504) inside one request, seconds; a longer `Retry-After` "
        "goes back to the client as 429/503 with `retry_after`",
    ),
    Setting(
        "GRAPH_MAILBOX_BUDGET",
        int,
        10_000,
        "Graph requests the app sends one mailbox per `GRAPH_MAILBOX_BUDGET_WINDOW_S` (Outlook's limit: 10,000 "
        "per 10 minutes; each `$batch` part counts): a pacer shared by every process (through Redis when "
        "`REDIS_URL` is set) makes requests wait their turn instead of meeting 429; 0 turns pacing off",
    ),
    Setting(
        "GRAPH_MAILBOX_BUDGET_WINDOW_S",
        float,
        600.0,
        "the sliding window of `GRAPH_MAILBOX_BUDGET`, seconds",
    ),
    Setting(
        "GRAPH_INTERACTIVE_RESERVE",
        float,
        0.01,
        "share (0-1) of each mailbox's budget that background jobs (bulk, automatic and delta sync, "
        "notifications) leave to interactive requests (the pane, the pages), which may use all of it; jobs "
        "also hold at most 3 of the mailbox's 4 concurrent requests",
    ),
    Setting(
        "SECRET_KEY",
        str,
        None,
        "signs sessions and CSRF tokens; set one value for all web workers in production",
        shown_default="generated into `instance/secret_key`",
    ),
    Setting(
        "SESSION_RECHECK_S",
        int,
        900,
        "seconds between the CRM pages' checks that Entra ID still lets a signed-in user in (a silent refresh); "
        "a refusal (account disabled or deleted, password reset, sessions revoked) ends their sessions",
    ),
    Setting("MAX_CONTENT_LENGTH", int, 1024 * 1024, "largest accepted request body, bytes (1 MB)"),
    Setting(
        "IMPORT_MAX_BYTES",
        int,
        20 * 1024 * 1024,
        "largest contact file (CSV or vCard) the admin page's import accepts, bytes (20 MB): "
        "that upload's own limit, above `MAX_CONTENT_LENGTH`",
    ),
    Setting(
        "ATTACHMENT_MAX_BYTES",
        int,
        25 * 1024 * 1024,
        "largest attachment filing stores, bytes (25 MB); a larger one is recorded as too large to store, "
        "with a link to the message in Outlook",
    ),
    Setting(
        "ATTACHMENTS_MAX_BYTES_PER_EMAIL",
        int,
        100 * 1024 * 1024,
        "most attachment content filing stores for one email, bytes (100 MB), counted in the attachments' order; "
        "the ones past it are recorded as too large to store",
    ),
    Setting(
        "AUTO_LINK_COMPANIES",
        bool,
        True,
        'tenant default of "auto-link companies" (file email on matched contacts\' companies too); '
        "users may override it",
    ),
    Setting("LOG_LEVEL", str, "INFO", "log level: DEBUG, INFO, WARNING or ERROR", normalise=str.upper),
    Setting(
        "RATE_LIMIT",
        str,
        "600 per minute",
        "per-user limit on `/api/*` (the token's tenant + user, else the client IP), e.g. "
        "`20 per second; 600 per minute`; `off` disables it and `WEBHOOK_RATE_LIMIT`; counters are "
        "shared through Redis when `REDIS_URL` is set; over it: 429 with `Retry-After`",
    ),
    Setting(
        "PAGES_RATE_LIMIT",
        str,
        "60 per minute",
        "limit on form posts to the CRM pages (`POST /crm/...`), per signed-in user (the client IP when "
        "signed out), checked before the body is read; `off` disables it; over it: 429 with `Retry-After` "
        "and a page saying how long to wait",
    ),
    Setting(
        "WEBHOOK_RATE_LIMIT",
        str,
        "6000 per minute",
        "per-IP limit on the webhook endpoints (`/api/v1/notifications*`), which are exempt from `RATE_LIMIT`",
    ),
    Setting(
        "NOTIFICATION_BASE_URL",
        str,
        Derived(lambda known: known["PUBLIC_BASE_URL"], "`PUBLIC_BASE_URL`"),
        "origin Graph posts change notifications to (https and reachable from the internet in "
        "production; `http://localhost` works with the emulator)",
        normalise=without_trailing_slash,
    ),
    Setting(
        "DELTA_INTERVAL_S",
        int,
        600,
        "seconds between delta catch-up rounds of every add-in user's mailbox (the category command and automatic sync)",
    ),
    Setting(
        "CATCH_UP_ON_OPEN",
        bool,
        True,
        "when the pane opens, queue a catch-up round of the user's mailbox (at most once a minute) and subscribe "
        "a user who has no change-notification subscriptions yet",
    ),
    Setting(
        "MESSAGE_READ_CACHE_S",
        int,
        120,
        "seconds the pane's read of a message is kept for the user's Sync to reuse (in Redis when `REDIS_URL` is "
        "set, else per process; the mark is a conditional write, so a change made in between is never lost); "
        "0 turns it off",
    ),
    Setting("JOB_WORKERS", int, 2, "in-process worker threads when `REDIS_URL` is unset"),
    Setting(
        "JOB_MAX_ATTEMPTS",
        int,
        5,
        "runs of a failing job, with no progress between them, before it lands in the failed list (admin page: Retry)",
    ),
    Setting(
        "JOB_RETRY_BASE_S", float, 5.0, "first retry delay, seconds; each further one is 4× longer (at most 15 minutes)"
    ),
    Setting(
        "JOB_STALE_S",
        int,
        300,
        "a running job silent this many seconds is taken to have died (a killed worker) and is run "
        "again from where it stopped",
    ),
)


def declared_default(name: str) -> Any:
    """The default `SETTINGS` declares for `name` (a Derived for a computed one)."""
    return next(s.default for s in SETTINGS if s.name == name)


def read_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every declared setting, parsed from the environment, with its default when unset."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    # Plain values first: derived defaults are computed from them.
    for setting in sorted(SETTINGS, key=lambda s: isinstance(s.default, Derived)):
        values[setting.name] = setting.parse(environ.get(setting.name), values)
    return {s.name: values[s.name] for s in SETTINGS}


def derive_unset(
    values: MutableMapping[str, Any], given: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> None:
    """Recompute, from `values`, each derived default that neither `given` nor the
    environment sets: a dict of overrides changing PUBLIC_BASE_URL moves API_AUDIENCE
    and NOTIFICATION_BASE_URL with it."""
    environ = os.environ if environ is None else environ
    for setting in SETTINGS:
        if isinstance(setting.default, Derived) and setting.name not in given and not environ.get(setting.name):
            values[setting.name] = setting.parse(None, values)


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


class Config:
    """The app's settings as class attributes: every entry of `SETTINGS` (read from the
    environment at import, set below the class) plus the fixed ones here.

    `create_app(None)` uses `Config.from_env()`, which re-reads the environment,
    so a process that changes it before creating the app (tests, scripts) is honoured.
    """

    # flask-smorest / OpenAPI
    API_TITLE = "CRM Sync for Outlook API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    TESTING = False

    @classmethod
    def from_env(cls) -> type[Config]:
        """A subclass of `cls` whose declared settings are re-read now."""
        return type(cls.__name__, (cls,), read_env())


for _name, _value in read_env().items():
    setattr(Config, _name, _value)
