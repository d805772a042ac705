"""Tenants and their users, with the settings a tenant sets and a user overrides."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ForeignKey, String, UniqueConstraint, select, text
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.crm.addresses import normalise_address
from server.crm.models.base import Base
from server.crm.types import Id, Json, utcnow
from server.domain_errors import Invalid

# From the narrowest to the widest: each mode files what the ones before it file, and more.
AUTO_SYNC_MODES = ("off", "marked", "known_contacts")
# What an administrator may restrict for one user: automatic sync (down to a narrower
# mode), linking companies (off) and the never-sync list (more entries).
RESTRICTIONS = ("auto_sync", "auto_link_companies", "never_sync")


def narrower_mode(first: str, second: str | None) -> str:
    """The narrower of two automatic-sync modes (`second` None: no limit)."""
    if second not in AUTO_SYNC_MODES:
        return first
    return min(first, second, key=AUTO_SYNC_MODES.index)


# Whether the compose pane's "File in the CRM when sent" starts on, from the least
# filing to the most: never, when a recipient is a CRM contact, always.
COMPOSE_DEFAULTS = ("never", "crm_recipients", "always")

# What a tenant gets before anyone changes a setting. `auto_link_companies`'s
# deployment-wide default comes from the AUTO_LINK_COMPANIES setting via
# get_or_create_tenant; this is the fallback for tenants created without it.
DEFAULT_SETTINGS: dict[str, Any] = {
    "auto_link_companies": True,
    "auto_sync": "off",
    "never_sync": [],
    # Automatic and bulk sync file only mail with a CRM contact on it; with this on, an
    # unknown external sender gets a CRM contact and the message is filed on it.
    "create_unknown_senders": False,
    # Filing stores attachments' content; off, they are recorded as links to the
    # message in Outlook.
    "store_attachments": True,
    # Filing from compose. The toggle starts on when a recipient is a CRM contact: mail
    # to customers is what the CRM is for (as HubSpot and Dynamics log it), while
    # "always" would also file internal and private mail by default, and "never" would
    # let the offer or the follow-up go unfiled because nobody thought of it.
    "compose_default": "crm_recipients",
    # Ask "File this email in the CRM?" at Send, when a recipient is a CRM contact and
    # the user has not decided: off by default, since a prompt on every send is
    # friction the user opts into.
    "ask_on_send": False,
    # The admin's restriction of compose filing (tenant only): a user's
    # `compose_default` never files more than this ("always": no restriction).
    "compose_limit": "always",
}

# The languages of the CRM pages. A user's settings may also hold `language` (one of
# these; absent = the browser's): personal, so never a tenant default.
PAGE_LANGUAGES = ("en", "pl", "cs")
PERSONAL_SETTINGS = ("language",)
# Settings only the tenant's admin sets: a user cannot override them.
TENANT_ONLY_SETTINGS = ("compose_limit",)


def narrowed(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with the admin's restrictions applied: `compose_default` never files
    more than `compose_limit`. A restriction only narrows, never widens."""
    limit = settings.get("compose_limit")
    chosen = settings.get("compose_default")
    if limit in COMPOSE_DEFAULTS and chosen in COMPOSE_DEFAULTS:
        if COMPOSE_DEFAULTS.index(chosen) > COMPOSE_DEFAULTS.index(limit):
            settings["compose_default"] = limit
    return settings


class TenantReads:
    """What is read from a tenant, shared by the row (Tenant) and its read-only view
    (crm/caller_view.py `TenantView`): one definition of the settings' rules."""

    def effective_settings(self) -> dict[str, Any]:
        """DEFAULT_SETTINGS overlaid with this tenant's values."""
        merged = dict(DEFAULT_SETTINGS)
        merged.update({k: v for k, v in (self.settings or {}).items() if v is not None})
        merged["never_sync"] = list(merged.get("never_sync") or [])
        return narrowed(merged)


class Tenant(TenantReads, Base):
    """An Entra ID tenant (organisation); `id` is its `tid`."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    # The domains of its users' addresses (primary, aliases, UPN), sorted: what tells the
    # tenant's own people from outsiders. Kept as users' addresses grow (crm/tenants.py
    # `note_domains`, the one writer); None: not recorded yet, read from the users.
    domains: Mapped[list[str] | None] = mapped_column(Json())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def get(cls, session: Session, tenant_id: str, id: str | None = None) -> Tenant | None:  # type: ignore[override]
        return session.get(cls, tenant_id)

    def update_settings(self, **changes: Any) -> None:
        """Sets tenant defaults; a value of None removes the key (back to the default)."""
        validate_settings(changes, personal=False)
        current = dict(self.settings or {})
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        self.settings = current


class UserReads:
    """What is read from a user, shared by the row (User) and its read-only view
    (crm/caller_view.py `UserView`)."""

    def chosen_settings(self, tenant: TenantReads | None = None) -> dict[str, Any]:
        """The tenant's settings with this user's own choices; the user's value wins.
        `never_sync` is the union of the tenant's and the user's lists. No
        administrator's restriction is applied here (see effective_settings)."""
        tenant = tenant or self.tenant
        merged = tenant.effective_settings()
        tenant_never = merged["never_sync"]
        merged.update(
            {k: v for k, v in (self.settings or {}).items() if v is not None and k not in TENANT_ONLY_SETTINGS}
        )
        personal = list((self.settings or {}).get("never_sync") or [])
        merged["never_sync"] = list(dict.fromkeys([*tenant_never, *personal]))
        return narrowed(merged)

    def effective_settings(self, tenant: TenantReads | None = None) -> dict[str, Any]:
        """What applies to this user's mailbox: the user's own choice (or the tenant's
        default they have not overridden), narrowed by an administrator's restrictions.
        A restriction only narrows: automatic sync is the narrower of the two modes,
        linking companies is off when restricted, and the administrator's never-sync
        entries are added. Nothing an administrator sets turns filing on."""
        merged = self.chosen_settings(tenant)
        limits = self.restrictions or {}
        merged["auto_sync"] = narrower_mode(merged.get("auto_sync") or "off", limits.get("auto_sync"))
        if limits.get("auto_link_companies") is False:
            merged["auto_link_companies"] = False
        merged["never_sync"] = list(dict.fromkeys([*merged["never_sync"], *(limits.get("never_sync") or [])]))
        return merged

    def own_addresses(self) -> set[str]:
        """Normalised addresses that are this user's: never filed as contacts."""
        found = {normalise_address(a) for a in [*(self.addresses or []), self.upn]}
        return {a for a in found if a}


class User(UserReads, Base):
    """A mailbox user of a tenant, known by the `oid` of their tokens."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "oid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    oid: Mapped[str] = mapped_column(String(64))
    upn: Mapped[str] = mapped_column(String(320), default="")
    display_name: Mapped[str] = mapped_column(String(256), default="")
    # The user's own addresses (primary SMTP and aliases), lower-case; never matched as contacts.
    addresses: Mapped[list[str]] = mapped_column(MutableList.as_mutable(Json()), default=list)
    # When `addresses` was last read from the user's Graph profile (aliases change rarely).
    addresses_checked_at: Mapped[datetime | None]
    # The IANA name of the Outlook mailbox's time zone, in which the CRM pages show
    # times (read from Graph's mailboxSettings; None until then: the pages show UTC).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # When Microsoft 365 refused the app's app-only access to this mailbox (Exchange's RBAC
    # for Applications or an application access policy leaves it out of scope); None while
    # allowed. Automatic sync leaves the mailbox alone until a check finds it allowed again
    # (server/sync/app_access.py); the user's own pane commands, on their token, still work.
    app_access_refused_at: Mapped[datetime | None]
    # When the app's access to this mailbox was last tried (a job, the daily re-check, Test connection).
    app_access_checked_at: Mapped[datetime | None]
    # The user's own choices over the tenant's settings; absent key = use the tenant's value.
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(Json()), default=dict)
    # An administrator's limits on what this user's mailbox files (RESTRICTIONS): they
    # only ever narrow the user's own choice or the tenant's default, never widen it.
    restrictions: Mapped[dict[str, Any]] = mapped_column(
        MutableDict.as_mutable(Json()), default=dict, server_default=text("'{}'")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tenant: Mapped[Tenant] = relationship()

    @classmethod
    def by_oid(cls, session: Session, tenant_id: str, oid: str) -> User | None:
        return session.scalar(select(cls).where(cls.tenant_id == tenant_id, cls.oid == oid))

    def restrict(self, **limits: Any) -> None:
        """Sets an administrator's restrictions (RESTRICTIONS); None lifts one.
        `auto_sync` is the widest mode allowed, `auto_link_companies` can only be
        False, `never_sync` a list of entries added to the user's.
        Raises InvalidSettings for anything that would widen what the mailbox files."""
        validate_restrictions(limits)
        current = dict(self.restrictions or {})
        for key, value in limits.items():
            if value is None or value == []:
                current.pop(key, None)
            else:
                current[key] = value
        self.restrictions = current

    def update_settings(self, **changes: Any) -> None:
        """Sets overrides; a value of None removes the override (back to the tenant's)."""
        validate_settings(changes)
        current = dict(self.settings or {})
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        self.settings = current

    def remember_addresses(self, addresses: Iterable[str]) -> None:
        """Adds addresses to the user's own (never removes one). Callers then record
        their domains on the tenant (crm/tenants.py `note_domains`)."""
        known = with_addresses(self.addresses, addresses)
        if known != list(self.addresses or []):
            self.addresses = known


def with_addresses(known: Iterable[str] | None, addresses: Iterable[str]) -> list[str]:
    """`known` with the new valid `addresses` added, normalised, in order (none removed)."""
    merged = list(known or [])
    for raw in addresses:
        address = normalise_address(raw)
        if address and address not in merged:
            merged.append(address)
    return merged


class InvalidSettings(Invalid):
    """A setting the CRM does not know, or a value of the wrong kind."""

    code = "invalid_settings"


def is_time_zone(name: Any) -> bool:
    """Whether `name` is an IANA time zone this system knows."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate_restrictions(limits: dict[str, Any]) -> None:
    """Raises InvalidSettings for an unknown restriction, or one that would widen."""
    for key, value in limits.items():
        if key not in RESTRICTIONS:
            raise InvalidSettings(f"{key!r} cannot be restricted")
        if value is None:
            continue
        if key == "auto_sync" and value not in AUTO_SYNC_MODES:
            raise InvalidSettings(f"auto_sync must be one of {', '.join(AUTO_SYNC_MODES)}")
        if key == "auto_link_companies" and value is not False:
            raise InvalidSettings("an administrator can only turn auto_link_companies off for a user")
        if key == "never_sync" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise InvalidSettings("never_sync must be a list of addresses and domains")


def validate_settings(changes: dict[str, Any], personal: bool = True) -> None:
    """Raises InvalidSettings for an unknown key or a value of the wrong kind.
    `personal`: a user's settings, which may also hold PERSONAL_SETTINGS."""
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS and not (personal and key in PERSONAL_SETTINGS):
            raise InvalidSettings(f"unknown setting {key!r}")
        if personal and key in TENANT_ONLY_SETTINGS:
            raise InvalidSettings(f"{key} is set for the whole organization only")
        if value is None:
            continue
        if key in ("auto_link_companies", "create_unknown_senders", "store_attachments", "ask_on_send") and not (
            isinstance(value, bool)
        ):
            raise InvalidSettings(f"{key} must be true or false")
        if key == "auto_sync" and value not in AUTO_SYNC_MODES:
            raise InvalidSettings(f"auto_sync must be one of {', '.join(AUTO_SYNC_MODES)}")
        if key == "never_sync" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise InvalidSettings("never_sync must be a list of addresses and domains")
        if key in ("compose_default", "compose_limit") and value not in COMPOSE_DEFAULTS:
            raise InvalidSettings(f"{key} must be one of {', '.join(COMPOSE_DEFAULTS)}")
        if key == "language" and value not in PAGE_LANGUAGES:
            raise InvalidSettings(f"language must be one of {', '.join(PAGE_LANGUAGES)}")
