"""Filing a message into the CRM: the Email, the user's MailboxItem and the links.

Idempotent and safe under concurrency: every write is an INSERT .. ON CONFLICT
on the natural key (tenant + internetMessageId, user + Graph id, email +
target), so ten workers filing one message at once leave one Email.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, literal_column, select, union_all
from sqlalchemy.orm import Session

from server.crm.addresses import normalise_address
from server.crm.models import (
    LINK_SOURCES,
    MAILBOX_STATES,
    MODEL_FOR_TARGET,
    Email,
    EmailLink,
    ItemState,
    MailboxItem,
    User,
)
from server.crm.sanitise import preview_text, sanitise_html, text_to_html
from server.crm.types import utcnow
from server.crm.upsert import (
    insert_ignore,
    insert_ignore_returning,
    insert_ignore_rows,
    refresh_held,
    upsert,
    upsert_returning,
    written_row,
)

Link = tuple[str, int, str]  # (target_type, target_id, source)

# The natural keys every filing write is idempotent on, and what filing again updates.
EMAIL_KEY = ("tenant_id", "internet_message_id")
ITEM_KEY = ("user_id", "graph_id")
ITEM_UPDATE = ("email_id", "state", "folder", "updated_at")
LINK_KEY = ("email_id", "target_type", "target_id")

# Keys of `email_fields` that file_email understands.
EMAIL_FIELDS = (
    "internet_message_id",
    "conversation_id",
    "subject",
    "from_address",
    "from_name",
    "to",
    "cc",
    "bcc",
    "sent_at",
    "received_at",
    "preview",
    "body_html",
    "body_text",
    "has_attachments",
    "attachments",
)


def file_email(
    session: Session,
    tenant_id: str,
    user: User,
    email_fields: Mapping[str, Any],
    graph_id: str,
    folder: str | None,
    links: Iterable[Link] = (),
    known: Iterable[Link] = (),
) -> tuple[Email, MailboxItem, bool]:
    """Files one message for `user` and commits. Returns (email, item, created).

    `links` are checked: each target must exist in the tenant. `known` are links whose
    targets the caller has just read from this tenant (match_addresses: its query is
    scoped to the tenant, contacts and companies alike), so they are not looked up a
    second time; their kinds and sources are checked all the same.

    `email_fields` (see EMAIL_FIELDS): internet_message_id, conversation_id,
    subject, from_address, from_name, to/cc/bcc as lists of {"address", "name"},
    sent_at/received_at (aware datetimes), body_html (raw: it is sanitised here)
    or body_text, preview (derived from the body if absent), has_attachments,
    attachments ([{"name", "content_type", "size"}]). Addresses are normalised.

    The Email is one per tenant per internet_message_id (a message without one is
    keyed by its Graph id); `created` is True only for the call that inserted it.
    The MailboxItem (one per user per Graph id) gets state "synced" and the email.
    Links already present are kept; new ones are added. Everything is written in
    one transaction, which this function commits.

    Raises ValueError for a user of another tenant, an unknown target type or
    source, or a target that is not in the tenant (nothing is written then).
    """
    if user.tenant_id != tenant_id:
        raise ValueError("user belongs to another tenant")
    link_list = _checked_links(session, tenant_id, links, known)
    values = _email_values(tenant_id, email_fields, graph_id)
    user_id = user.id
    try:
        # The row as inserted, or as stored (another request's, when it won the insert):
        # read before the commit, as nothing expires on commit.
        email = insert_ignore_returning(session, Email, values, EMAIL_KEY)
        created = email is not None
        if email is None:
            email = session.scalar(
                _EMAIL_BY_MESSAGE_ID,
                {"tenant_id": tenant_id, "internet_message_id": values["internet_message_id"]},
                execution_options={"populate_existing": True},
            )
        assert email is not None
        email_id = email.id
        now = utcnow()
        item = upsert_returning(
            session,
            MailboxItem,
            _item_values(tenant_id, user_id, graph_id, email_id, folder, now),
            ITEM_KEY,
            ITEM_UPDATE,
        )
        _insert_links(session, tenant_id, email_id, user_id, now, link_list)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    assert item is not None
    return email, item, created


@dataclass(frozen=True, slots=True)
class FiledEmail:
    """The email filing wrote or found, as values: not a session entity (load the Email
    by id to read more of it or change it)."""

    id: int
    tenant_id: str


def file_email_values(
    session: Session,
    tenant_id: str,
    user: User,
    email_fields: Mapping[str, Any],
    graph_id: str,
    folder: str | None,
    links: Iterable[Link] = (),
    known: Iterable[Link] = (),
) -> tuple[FiledEmail, ItemState, bool]:
    """file_email answering values instead of session entities: (email, item, created),
    the item as the pane reads one (its email, just written, is of the tenant). The same
    rows are written by the same statements, in one transaction that this commits; only
    an email another request filed first is read by its id alone. Nothing is added to the
    session, so the commit has nothing to flush; an object of the item (or email) the
    session holds already gets the values written, as with file_email.

    Building the two entities was a good part of filing's CPU (bench/b1_profile.py), and
    the sync paths read no more than these ids and the item's state.
    Raises ValueError like file_email."""
    if user.tenant_id != tenant_id:
        raise ValueError("user belongs to another tenant")
    link_list = _checked_links(session, tenant_id, links, known)
    values = _email_values(tenant_id, email_fields, graph_id)
    user_id = user.id
    try:
        # Whatever the session has pending is written first, as its autoflush would.
        session.flush()
        connection = session.connection()
        params, row = written_row(connection, Email, values, EMAIL_KEY)
        created = row is not None
        if row is not None:
            email_id = row[0]
            refresh_held(session, Email, params, row, EMAIL_KEY, None)
        else:
            email_id = connection.execute(
                _EMAIL_ID_BY_MESSAGE_ID,
                {"tenant_id": tenant_id, "internet_message_id": values["internet_message_id"]},
            ).scalar_one()
        now = utcnow()
        params, row = written_row(
            connection,
            MailboxItem,
            _item_values(tenant_id, user_id, graph_id, email_id, folder, now),
            ITEM_KEY,
            ITEM_UPDATE,
        )
        refresh_held(session, MailboxItem, params, row, ITEM_KEY, ITEM_UPDATE)
        _insert_links(session, tenant_id, email_id, user_id, now, link_list)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return FiledEmail(email_id, tenant_id), ItemState(row[0], "synced", email_id, email_id), created


def _item_values(
    tenant_id: str, user_id: int, graph_id: str, email_id: int, folder: str | None, now: datetime
) -> dict[str, Any]:
    """The user's MailboxItem of a filed message: synced, with its email."""
    return {
        "tenant_id": tenant_id,
        "user_id": user_id,
        "graph_id": graph_id,
        "email_id": email_id,
        "state": "synced",
        "folder": folder,
        "updated_at": now,
    }


def _insert_links(
    session: Session, tenant_id: str, email_id: int, user_id: int, now: datetime, link_list: Sequence[Link]
) -> None:
    """Every link in one statement (those there already are kept as they are)."""
    insert_ignore_rows(
        session.connection(),
        EmailLink,
        {"tenant_id": tenant_id, "email_id": email_id, "created_by_id": user_id, "created_at": now},
        [
            {"target_type": target_type, "target_id": target_id, "source": source}
            for target_type, target_id, source in link_list
        ],
        LINK_KEY,
    )


def link_email(session: Session, tenant_id: str, email: Email, links: Iterable[Link], user: User | None = None) -> int:
    """Adds links to a filed email (idempotently) and commits; returns how many were new.
    Raises ValueError like file_email."""
    if email.tenant_id != tenant_id:
        raise ValueError("email belongs to another tenant")
    added = 0
    try:
        for target_type, target_id, source in _checked_links(session, tenant_id, links):
            added += insert_ignore(
                session,
                EmailLink,
                {
                    "tenant_id": tenant_id,
                    "email_id": email.id,
                    "target_type": target_type,
                    "target_id": target_id,
                    "source": source,
                    "created_by_id": user.id if user else None,
                },
                ["email_id", "target_type", "target_id"],
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire(email, ["links"])
    return added


def set_item_state(
    session: Session,
    tenant_id: str,
    user: User,
    graph_id: str,
    state: str,
    *,
    folder: str | None = None,
    commit: bool = True,
) -> MailboxItem:
    """Sets the state of a message in the user's mailbox (creating its MailboxItem
    if new), keeping its email. States: none, pending, synced, excluded.
    Raises ValueError for an unknown state or a user of another tenant."""
    if state not in MAILBOX_STATES:
        raise ValueError(f"unknown mailbox state {state!r}")
    if user.tenant_id != tenant_id:
        raise ValueError("user belongs to another tenant")
    user_id = user.id
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "user_id": user_id,
        "graph_id": graph_id,
        "state": state,
        "updated_at": utcnow(),
    }
    update = ["state", "updated_at"]
    if folder is not None:
        values["folder"] = folder
        update.append("folder")
    try:
        upsert(session, MailboxItem, values, conflict=["user_id", "graph_id"], update=update)
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    item = session.scalar(
        _ITEM_OF_USER, {"user_id": user_id, "graph_id": graph_id}, execution_options={"populate_existing": True}
    )
    assert item is not None
    return item


def _checked_links(session: Session, tenant_id: str, links: Iterable[Link], known: Iterable[Link] = ()) -> list[Link]:
    """Validated, de-duplicated links; every target not `known` must exist in the tenant."""
    unique: dict[tuple[str, int], Link] = {}
    unchecked: set[tuple[str, int]] = set()
    for is_known, group in ((True, known), (False, links)):
        for target_type, target_id, source in group:
            if target_type not in MODEL_FOR_TARGET:
                raise ValueError(f"unknown link target type {target_type!r}")
            if source not in LINK_SOURCES:
                raise ValueError(f"unknown link source {source!r}")
            key = (target_type, int(target_id))
            unique.setdefault(key, (target_type, int(target_id), source))
            if is_known:
                unchecked.add(key)
    by_type: dict[str, set[int]] = {}
    for target_type, target_id, _ in unique.values():
        if (target_type, target_id) not in unchecked:
            by_type.setdefault(target_type, set()).add(target_id)
    if by_type:
        # Every kind in one statement (a kind without ids matches nothing).
        params = {f"{kind}_ids": sorted(by_type.get(kind, ())) for kind in MODEL_FOR_TARGET}
        found: dict[str, set[int]] = {}
        for kind, target_id in session.execute(_TARGETS_IN_TENANT, {"tenant_id": tenant_id, **params}):
            found.setdefault(kind, set()).add(target_id)
        for target_type, ids in by_type.items():
            missing = ids - found.get(target_type, set())
            if missing:
                raise ValueError(f"no {target_type} {sorted(missing)} in this tenant")
    return list(unique.values())


def _recipients(entries: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    out = []
    for entry in entries or []:
        raw = entry.get("address") or ""
        out.append({"address": normalise_address(raw) or raw.strip(), "name": (entry.get("name") or "").strip()})
    return out


def _email_values(tenant_id: str, fields: Mapping[str, Any], graph_id: str) -> dict[str, Any]:
    unknown = set(fields) - set(EMAIL_FIELDS)
    if unknown:
        raise ValueError(f"unknown email fields: {', '.join(sorted(unknown))}")
    internet_message_id = (fields.get("internet_message_id") or "").strip()
    if not internet_message_id:
        # Drafts and some system messages have none; the mailbox id keeps them apart.
        internet_message_id = f"<no-message-id:{graph_id}>"
    if fields.get("body_html"):
        body_html = sanitise_html(fields["body_html"])
    else:
        body_html = sanitise_html(text_to_html(fields.get("body_text")))
    preview = fields.get("preview")
    preview = preview_text(preview if preview else body_html)
    for key in ("sent_at", "received_at"):
        value = fields.get(key)
        if value is not None and not isinstance(value, datetime):
            raise ValueError(f"{key} must be a datetime")
    from_raw = fields.get("from_address") or ""
    return {
        "tenant_id": tenant_id,
        "internet_message_id": internet_message_id[:998],
        "conversation_id": fields.get("conversation_id") or None,
        "subject": fields.get("subject") or "",
        "from_address": normalise_address(from_raw) or (from_raw.strip() or None),
        "from_name": (fields.get("from_name") or "").strip(),
        "to": _recipients(fields.get("to")),
        "cc": _recipients(fields.get("cc")),
        "bcc": _recipients(fields.get("bcc")),
        "sent_at": fields.get("sent_at"),
        "received_at": fields.get("received_at"),
        "preview": preview,
        "body_html": body_html,
        "has_attachments": bool(fields.get("has_attachments") or fields.get("attachments")),
        "attachments": [
            {"name": a.get("name", ""), "content_type": a.get("content_type", ""), "size": a.get("size")}
            for a in fields.get("attachments") or []
        ],
    }


# Built once (filing runs them for every message it files).
_EMAIL_BY_MESSAGE_ID = select(Email).where(
    Email.tenant_id == bindparam("tenant_id"), Email.internet_message_id == bindparam("internet_message_id")
)
_EMAIL_ID_BY_MESSAGE_ID = select(Email.__table__.c.id).where(
    Email.__table__.c.tenant_id == bindparam("tenant_id"),
    Email.__table__.c.internet_message_id == bindparam("internet_message_id"),
)
_ITEM_OF_USER = select(MailboxItem).where(
    MailboxItem.user_id == bindparam("user_id"), MailboxItem.graph_id == bindparam("graph_id")
)
# On the tables (plain rows; a Core statement skips the ORM's per-execution work).
_TARGETS_IN_TENANT = union_all(
    *(
        select(literal_column(f"'{kind}'").label("kind"), model.__table__.c.id).where(
            model.__table__.c.tenant_id == bindparam("tenant_id"),
            model.__table__.c.id.in_(bindparam(f"{kind}_ids", expanding=True)),
        )
        for kind, model in MODEL_FOR_TARGET.items()
    )
)
