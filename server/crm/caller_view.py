"""A read-only view of a user and their tenant, read in one Core statement.

Every API request opens its caller's mailbox, and the pane's own requests (open, sync,
mark) only read the caller: their id, tenant, addresses and settings. Building the two
ORM objects (identity map, attribute instrumentation, mutable-JSON tracking) cost more
than any statement of an open. The views carry the same columns and share their rules
with the rows (`TenantReads`, `UserReads`), so what they answer is what the rows would.
Code that writes to the user asks its Mailbox for the row (`Mailbox.user`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.crm.models import Tenant, User
from server.crm.models.tenancy import TenantReads, UserReads
from server.crm.prepared import Prepared

_tenants, _users = Tenant.__table__, User.__table__
_TENANT_COLUMNS = ("id", "name", "settings", "domains", "created_at")
_USER_COLUMNS = (
    "id",
    "tenant_id",
    "oid",
    "upn",
    "display_name",
    "addresses",
    "addresses_checked_at",
    "time_zone",
    "app_access_refused_at",
    "app_access_checked_at",
    "settings",
    "restrictions",
    "created_at",
)
_CALLER = Prepared(
    select(
        *(_users.c[name] for name in _USER_COLUMNS),
        *(_tenants.c[name] for name in _TENANT_COLUMNS),
    )
    .join_from(_users, _tenants, _tenants.c.id == _users.c.tenant_id)
    .where(_users.c.tenant_id == bindparam("tid"), _users.c.oid == bindparam("oid"))
)


class TenantView(TenantReads):
    """A tenant as read: its columns, and the settings' rules of `Tenant`."""

    __slots__ = _TENANT_COLUMNS

    id: str
    name: str
    settings: dict[str, Any]
    domains: list[str] | None
    created_at: datetime

    def __init__(self, values: Sequence[Any]):
        for name, value in zip(_TENANT_COLUMNS, values, strict=True):
            setattr(self, name, value)


class UserView(UserReads):
    """A user as read, with their tenant: the columns of `User`, its rules for settings
    and own addresses, and no way to write."""

    __slots__ = (*_USER_COLUMNS, "tenant")

    id: int
    tenant_id: str
    oid: str
    upn: str
    display_name: str
    addresses: list[str]
    addresses_checked_at: datetime | None
    time_zone: str | None
    app_access_refused_at: datetime | None
    app_access_checked_at: datetime | None
    settings: dict[str, Any]
    restrictions: dict[str, Any]
    created_at: datetime
    tenant: TenantView

    def __init__(self, values: Sequence[Any], tenant: TenantView):
        self.tenant = tenant
        for name, value in zip(_USER_COLUMNS, values, strict=True):
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"UserView(id={self.id!r}, tenant_id={self.tenant_id!r}, oid={self.oid!r})"


def read_caller(session: Session, tid: str, oid: str) -> UserView | None:
    """The user (tid, oid) with their tenant, as views; None when the CRM has no such user."""
    row = _CALLER.first(session, {"tid": tid, "oid": oid})
    if row is None:
        return None
    # The statement's columns: the user's, then the tenant's, each in its tuple's order.
    split = len(_USER_COLUMNS)
    return UserView(row[:split], TenantView(row[split:]))
