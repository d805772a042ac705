"""The user's time zone, for the times the CRM pages show: their Outlook mailbox's
`timeZone` (Graph `mailboxSettings`), kept on the user (`users.time_zone`) as an IANA name.

Outlook answers a Windows zone name ("Central Europe Standard Time") unless the
administrator set up IANA names; Windows names are mapped with CLDR's windowsZones
table, which Babel ships (its `windows_zone_mapping`), so no table of our own goes
stale. It is read when the user signs in to the pages (app-only: sign-in asks Microsoft
for no mailbox permission) and when the pane opens (their own token; at most once a day
per process). Reading it is best effort: a failure leaves the zone as it was.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from babel.core import get_global
from sqlalchemy import update
from sqlalchemy.orm import Session

from server.crm.models import User, is_time_zone
from server.errors import ApiError
from server.graph import GraphClient
from server.graph.errors import GraphError
from server.sync.mailbox import Mailbox
from server.sync.mailbox_factory import app_only_graph

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 24 * 3600  # people rarely move their mailbox to another zone

_last_read: dict[tuple, float] = {}
_lock = threading.Lock()


def iana_time_zone(name) -> str | None:
    """The IANA name for a mailbox's `timeZone` (a Windows name or an IANA one);
    None for a name neither CLDR nor this system knows."""
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip()
    mapped = get_global("windows_zone_mapping").get(name)
    if mapped and is_time_zone(mapped):
        return mapped
    return name if is_time_zone(name) else None


def remember_time_zone(session: Session, user: User, graph: GraphClient) -> str | None:
    """Reads the mailbox's time zone and stores it on the user (commits when it
    changed). Returns the IANA name, or None when it could not be read."""
    zone = read_time_zone(user.id, graph)
    if zone is not None and user.time_zone != zone:
        user.time_zone = zone
        session.commit()
    return zone


def read_time_zone(user_id: int, graph: GraphClient) -> str | None:
    """The mailbox's time zone as an IANA name, or None when it could not be read."""
    try:
        settings = graph.get_mailbox_settings()
    except (GraphError, ApiError) as exc:
        log.info("mailbox time zone not read for user %s: %s", user_id, exc)
        return None
    raw = (settings or {}).get("timeZone")
    zone = iana_time_zone(raw)
    if zone is None:
        log.info("mailbox time zone %r of user %s is not a known zone", raw, user_id)
    return zone


def remember_time_zone_at_sign_in(config: Mapping, session: Session, user: User) -> str | None:
    """At sign-in to the pages: the zone read with the app's permission."""
    return remember_time_zone(session, user, app_only_graph(config, user.tenant_id, user.oid))


def refresh_time_zone(mailbox: Mailbox) -> str | None:
    """The pane opened: read the zone with the user's own token, unless this process
    did so for them in the last day. Returns the zone read, or None."""
    me = mailbox.me
    key = (me.tenant_id, me.oid, me.created_at)
    now = time.monotonic()
    with _lock:
        last = _last_read.get(key)
        if last is not None and now - last < REFRESH_EVERY_S:
            return None
        if len(_last_read) > 100_000:
            _last_read.clear()
        _last_read[key] = now
    zone = read_time_zone(me.id, mailbox.graph)
    if zone is None or me.time_zone == zone:
        return zone
    if isinstance(me, User):
        me.time_zone = zone
    else:  # a read-only view: the one column is written without loading the row
        mailbox.session.execute(update(User).where(User.id == me.id).values(time_zone=zone))
        me.time_zone = zone
    mailbox.session.commit()
    return zone
