"""Files to import and the contacts an import leaves, for the importer's tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.crm.models import Contact
from tests.support.identities import CONTOSO


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def contacts_of(session, tenant: str = CONTOSO) -> list[Contact]:
    session.expire_all()
    return session.scalars(
        select(Contact)
        .where(Contact.tenant_id == tenant, Contact.deleted_at.is_(None))
        .options(selectinload(Contact.emails), selectinload(Contact.company))
        .order_by(Contact.id)
    ).all()
