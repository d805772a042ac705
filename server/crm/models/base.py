"""The declarative base every CRM table derives from, and what all tables share:
constraint names, the id range, timestamps.

Every table carries `tenant_id` (the Entra `tid`) and every lookup helper takes
it, so no query crosses tenants. Ids are integers, except Tenant's (the tid).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from server.crm.types import Json, UTCDateTime, utcnow

# Named constraints: Alembic can then alter them on PostgreSQL and in SQLite batch mode.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ModelT = TypeVar("ModelT", bound="Base")


def sql_in_list(values: Sequence[str]) -> str:
    """A literal SQL list for CHECK constraints: ('a', 'b')."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


MAX_ID = 2**63 - 1


def is_id(value: Any) -> bool:
    """True for an int that fits an id column (BIGINT; SQLite's INTEGER)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json()}

    @classmethod
    def get(cls: type[ModelT], session: Session, tenant_id: str, id: int) -> ModelT | None:
        """The row with this id in this tenant, or None (also for another tenant's row, and
        for an id no row can have: the databases refuse integers beyond 64 bits)."""
        if not is_id(id):
            return None
        obj = session.get(cls, id)
        if obj is None or getattr(obj, "tenant_id", None) != tenant_id:
            return None
        return obj


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
