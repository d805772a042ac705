"""GET/PATCH mailboxSettings: the mailbox's time zone, language and formats, in the
shape of Graph's `mailboxSettings` (Microsoft's documented example, without automatic
replies). `timeZone` is the fixture user's `time_zone`, a Windows name by default as in
Exchange Online."""

from emulator import odata
from emulator.graph import access
from emulator.graph.errors import bad_request
from emulator.graph.routing import ok, route

PROPERTIES = [
    "archiveFolder",
    "timeZone",
    "language",
    "workingHours",
    "userPurpose",
    "dateFormat",
    "timeFormat",
    "delegateMeetingMessageDeliveryOptions",
]
SELECTABLE = {p.lower(): p for p in PROPERTIES}
# What a PATCH may change here (Graph allows more; the rest is not emulated).
WRITABLE = {"timeZone", "language", "dateFormat", "timeFormat"}
# The language's display name, as Graph reports it for the fixtures' languages.
LANGUAGE_NAMES = {
    "en-US": "English (United States)",
    "pl-PL": "Polski (Polska)",
    "cs-CZ": "čeština (Česko)",
}


def settings_of(owner) -> dict:
    return {
        "archiveFolder": "",
        "timeZone": owner.time_zone,
        "language": {
            "locale": owner.display_language,
            "displayName": LANGUAGE_NAMES.get(owner.display_language, owner.display_language),
        },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": owner.time_zone},
        },
        "userPurpose": {"value": "user"},
        "dateFormat": owner.date_format,
        "timeFormat": owner.time_format,
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
    }


def _context(req, owner, user) -> str:
    return req.context(f"{access.user_context(req, owner, user)}/mailboxSettings")


@route("GET", "{USER}/mailboxsettings")
def get_settings(req, user=None):
    """The mailbox's settings ($select names some of them)."""
    owner = access.mailbox(req, user, "settings.read")
    odata.check_options(req.args, {"$select"})
    select = odata.parse_select(odata.option(req.args, "$select"), "mailboxSettings", SELECTABLE)
    body = odata.apply_select(settings_of(owner), select, ())
    return ok({"@odata.context": _context(req, owner, user), **body})


@route("GET", "{USER}/mailboxsettings/(?P<setting>timezone|dateformat|timeformat)")
def get_one_setting(req, setting, user=None):
    """One string setting, as `{"value": ...}`."""
    owner = access.mailbox(req, user, "settings.read")
    odata.check_options(req.args, set())
    name = SELECTABLE[setting.lower()]
    return ok({"@odata.context": _context(req, owner, user) + f"/{name}", "value": settings_of(owner)[name]})


@route("PATCH", "{USER}/mailboxsettings")
def update_settings(req, user=None):
    """Changes the time zone, language or formats; answers the changed settings."""
    owner = access.mailbox(req, user, "settings.write")
    body = req.json()
    for key, value in body.items():
        if key.startswith("@odata."):
            continue
        if key not in WRITABLE:
            raise bad_request(f"The property '{key}' cannot be changed here.", "ErrorInvalidRequest")
        if key == "language":
            if not isinstance(value, dict) or not isinstance(value.get("locale"), str):
                raise bad_request("language must be an object with a locale.", "ErrorInvalidRequest")
        elif not isinstance(value, str) or not value.strip():
            raise bad_request(f"{key} must be a non-empty string.", "ErrorInvalidRequest")
    with req.store.lock:
        if "timeZone" in body:
            owner.time_zone = body["timeZone"].strip()
        if "language" in body:
            owner.display_language = body["language"]["locale"]
        if "dateFormat" in body:
            owner.date_format = body["dateFormat"]
        if "timeFormat" in body:
            owner.time_format = body["timeFormat"]
    changed = {k: v for k, v in settings_of(owner).items() if k in body}
    return ok({"@odata.context": _context(req, owner, user), **changed})
