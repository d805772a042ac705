"""Where attachment content lives: one small interface, `BlobStore`, and its default,
`DatabaseBlobStore`, which keeps each file in the CRM's own database in chunks.

Content is addressed per tenant by SHA-256, so one file attached to a hundred emails
is stored once. Every method works in the caller's session and transaction: a file is
committed together with the email that refers to it, or not at all.

`put` streams: it hashes and writes chunk by chunk and never joins the whole file,
so memory stays flat whatever the size. A put that fails half-way (the source
stream raises, or the file is over a limit) removes what it wrote before raising.

To keep files in an S3-compatible object store instead, implement `BlobStore`
(`put`: a multipart upload under a temporary key, then a copy to
`<tenant>/<sha256>` unless that key exists, then delete the temporary key; `open`: a
ranged or streamed GET; `delete`: DELETE) and return it from `blob_store()`. The
filing code, pages and API only ever call `blob_store()`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from server.crm.models.attachments import AttachmentBlob, AttachmentChunk
from server.domain_errors import NotFound

# The size of a stored chunk: large enough for few rows, small enough to be nothing
# in memory.
CHUNK_SIZE = 512 * 1024


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


class BlobNotFound(NotFound):
    code = "attachment_not_found"

    def __init__(self) -> None:
        super().__init__("There is no such attachment.")


class BlobStore(Protocol):
    def put(self, session: Session, tenant_id: str, chunks: Iterable[bytes]) -> Blob:
        """Stores the content the iterable yields and returns its hash and size."""

    def open(self, session: Session, tenant_id: str, sha256: str) -> Iterator[bytes]:
        """The stored content, chunk by chunk (BlobNotFound when there is none)."""

    def exists(self, session: Session, tenant_id: str, sha256: str) -> bool:
        """Whether the tenant has this content."""

    def delete(self, session: Session, tenant_id: str, sha256: str) -> None:
        """Removes the content; nothing happens when there is none."""


def rechunked(chunks: Iterable[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The same bytes in pieces of exactly `size` (the last one shorter), holding at
    most one piece plus one incoming chunk."""
    buffer = bytearray()
    for chunk in chunks:
        if not chunk:
            continue
        buffer += chunk
        while len(buffer) >= size:
            with memoryview(buffer) as view:
                piece = bytes(view[:size])  # one copy, no intermediate slice
            del buffer[:size]
            yield piece
    if buffer:
        yield bytes(buffer)


class DatabaseBlobStore:
    """Blobs in `attachment_blobs` and `attachment_chunks` of the CRM's database
    (PostgreSQL; SQLite for `make run`)."""

    def put(self, session: Session, tenant_id: str, chunks: Iterable[bytes]) -> Blob:
        placeholder = "pending-" + uuid.uuid4().hex
        blob_id = session.execute(
            insert(AttachmentBlob)
            .values(tenant_id=tenant_id, sha256=placeholder, size=0, complete=False)
            .returning(AttachmentBlob.id)
        ).scalar_one()
        digest = hashlib.sha256()
        size = 0
        try:
            for seq, piece in enumerate(rechunked(chunks)):
                digest.update(piece)
                size += len(piece)
                # A Core insert: the ORM's identity map would keep every chunk alive.
                session.execute(
                    insert(AttachmentChunk).values(tenant_id=tenant_id, blob_id=blob_id, seq=seq, data=piece)
                )
                del piece
        except BaseException:
            self._drop(session, blob_id)
            raise
        sha256 = digest.hexdigest()
        if self.exists(session, tenant_id, sha256):
            self._drop(session, blob_id)
        else:
            session.execute(
                update(AttachmentBlob)
                .where(AttachmentBlob.id == blob_id)
                .values(sha256=sha256, size=size, complete=True)
            )
        return Blob(sha256, size)

    def open(self, session: Session, tenant_id: str, sha256: str) -> Iterator[bytes]:
        blob_id = self._blob_id(session, tenant_id, sha256)
        if blob_id is None:
            raise BlobNotFound()
        return self._chunks(session, blob_id)

    def exists(self, session: Session, tenant_id: str, sha256: str) -> bool:
        return self._blob_id(session, tenant_id, sha256) is not None

    def delete(self, session: Session, tenant_id: str, sha256: str) -> None:
        blob_id = self._blob_id(session, tenant_id, sha256)
        if blob_id is not None:
            self._drop(session, blob_id)

    @staticmethod
    def _chunks(session: Session, blob_id: int) -> Iterator[bytes]:
        # One row per query: the driver never buffers the whole file.
        seqs = session.scalars(
            select(AttachmentChunk.seq).where(AttachmentChunk.blob_id == blob_id).order_by(AttachmentChunk.seq)
        ).all()
        for seq in seqs:
            yield session.scalar(
                select(AttachmentChunk.data).where(AttachmentChunk.blob_id == blob_id, AttachmentChunk.seq == seq)
            )

    @staticmethod
    def _blob_id(session: Session, tenant_id: str, sha256: str) -> int | None:
        return session.scalar(
            select(AttachmentBlob.id).where(
                AttachmentBlob.tenant_id == tenant_id,
                AttachmentBlob.sha256 == sha256,
                AttachmentBlob.complete.is_(True),
            )
        )

    @staticmethod
    def _drop(session: Session, blob_id: int) -> None:
        session.execute(delete(AttachmentChunk).where(AttachmentChunk.blob_id == blob_id))
        session.execute(delete(AttachmentBlob).where(AttachmentBlob.id == blob_id))


_DEFAULT = DatabaseBlobStore()


def blob_store() -> BlobStore:
    """The store every caller uses (the database unless replaced here)."""
    return _DEFAULT
