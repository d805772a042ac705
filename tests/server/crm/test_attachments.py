"""Attachment content in the CRM: stored once per tenant by SHA-256, streamed in chunks
with flat memory, within the limits, never half-written, and gone with the last email
that refers to it."""

import hashlib
import tracemalloc

import pytest
from sqlalchemy import func, select

from server import create_app
from server.crm.attachment_queries import attachment_json
from server.crm.attachments import (
    AttachmentLimits,
    attachment_storage_enabled,
    delete_email,
    pending_attachments,
    record_attachments,
    record_failure,
    store_content,
)
from server.crm.blob_store import CHUNK_SIZE, BlobNotFound, DatabaseBlobStore
from server.crm.models import AttachmentBlob, AttachmentChunk, Email, EmailAttachment, Tenant
from server.crm.sanitise import link_cid_images, normal_content_id, sanitise_html
from server.crm.tenants import get_or_create_user
from server.db import Database
from tests.support.backend import app_config
from tests.support.identities import ADELE_OID, CONTOSO, FABRIKAM, PAT_OID

WEB_LINK = "https://outlook.office365.com/owa/?ItemID=AAMk1&exvsurl=1&viewmodel=ReadMessageItem"
MB = 1024 * 1024


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def make_email(db, n: int = 1, tenant: str = CONTOSO) -> Email:
    email = Email(tenant_id=tenant, internet_message_id=f"<m{n}@acme.example>", subject=f"Quote {n}")
    db.add(email)
    db.flush()
    return email


def pdf(graph_id: str = "att-1", size: int = 1000, **extra) -> dict:
    return {
        "graph_id": graph_id,
        "kind": "file",
        "name": "quote.pdf",
        "content_type": "application/pdf",
        "size": size,
        "inline": False,
        "content_id": None,
        "link_url": WEB_LINK,
        **extra,
    }


def pieces(data: bytes, size: int = 7000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
def tenants(db):
    get_or_create_user(db, CONTOSO, ADELE_OID, "adele.vance@contoso.com", "Adele Vance")
    get_or_create_user(db, FABRIKAM, PAT_OID, "pat@fabrikam.com", "Pat")
    db.commit()


def test_one_file_on_a_hundred_emails_is_stored_once(db, tenants):
    content = b"%PDF-1.7 quote 42 " * 70_000  # 1.2 MB: several chunks
    for n in range(100):
        email = make_email(db, n)
        (row,) = record_attachments(db, CONTOSO, email.id, [pdf(size=len(content))])
        store_content(db, CONTOSO, row.id, pieces(content))
    db.commit()
    assert count(db, EmailAttachment) == 100
    assert count(db, AttachmentBlob) == 1
    assert count(db, AttachmentChunk) == -(-len(content) // CHUNK_SIZE)
    sha = hashlib.sha256(content).hexdigest()
    assert set(db.scalars(select(EmailAttachment.sha256))) == {sha}
    assert set(db.scalars(select(EmailAttachment.state))) == {"stored"}
    assert b"".join(DatabaseBlobStore().open(db, CONTOSO, sha)) == content


def test_the_same_file_in_another_tenant_is_that_tenants_own(db, tenants):
    content = b"signed order"
    for tenant in (CONTOSO, FABRIKAM):
        (row,) = record_attachments(db, tenant, make_email(db, 1, tenant).id, [pdf(size=len(content))])
        store_content(db, tenant, row.id, [content])
    db.commit()
    assert count(db, AttachmentBlob) == 2
    sha = hashlib.sha256(content).hexdigest()
    store = DatabaseBlobStore()
    store.delete(db, FABRIKAM, sha)
    assert b"".join(store.open(db, CONTOSO, sha)) == content
    with pytest.raises(BlobNotFound):
        store.open(db, FABRIKAM, sha)


def stream_of(total: int, digest):
    piece = 64 * 1024
    for n in range(total // piece):
        chunk = bytes([n % 251]) * piece  # a new object each time, as a download makes
        digest.update(chunk)
        yield chunk


def peak_of(run):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def read_all(store, db, sha):
    read = hashlib.sha256()
    size = 0
    for chunk in store.open(db, CONTOSO, sha):
        read.update(chunk)
        size += len(chunk)
    return read.hexdigest(), size


def test_put_of_150_mb_holds_only_a_few_chunks_in_memory(db, tenants):
    store = DatabaseBlobStore()
    small_digest, digest = hashlib.sha256(), hashlib.sha256()
    _, small_peak = peak_of(lambda: store.put(db, CONTOSO, stream_of(15 * MB, small_digest)))
    blob, put_peak = peak_of(lambda: store.put(db, CONTOSO, stream_of(150 * MB, digest)))
    (read_sha, size), open_peak = peak_of(lambda: read_all(store, db, blob.sha256))
    assert blob.size == 150 * MB == size
    assert blob.sha256 == digest.hexdigest() == read_sha
    # Flat: ten times the file costs no more memory, give or take one chunk...
    assert put_peak < small_peak + CHUNK_SIZE, (small_peak, put_peak)
    # ...and that is a few chunks: the one being written, the one being filled, and on
    # PostgreSQL the driver's hex-escaped copy of the one being written (twice its size).
    assert put_peak < 8 * CHUNK_SIZE, put_peak
    assert open_peak < 8 * CHUNK_SIZE, open_peak


def test_deleting_the_last_email_that_refers_to_a_file_deletes_the_file(db, tenants):
    content = b"photo of a damaged delivery" * 1000
    emails = [make_email(db, n) for n in (1, 2)]
    for email in emails:
        (row,) = record_attachments(db, CONTOSO, email.id, [pdf(size=len(content))])
        store_content(db, CONTOSO, row.id, [content])
    db.commit()
    delete_email(db, CONTOSO, emails[0].id)
    db.commit()
    assert count(db, EmailAttachment) == 1
    assert count(db, AttachmentBlob) == 1
    delete_email(db, CONTOSO, emails[1].id)
    db.commit()
    assert count(db, Email) == 0
    assert count(db, EmailAttachment) == 0
    assert count(db, AttachmentBlob) == 0
    assert count(db, AttachmentChunk) == 0


def test_limits_storage_off_and_kinds_decide_the_first_state(db, tenants):
    limits = AttachmentLimits(max_bytes=100, max_bytes_per_email=250)
    email = make_email(db)
    items = [
        pdf("a", 90),
        pdf("b", 101),  # over the per-file limit
        pdf("c", 100),
        pdf("d", 80),  # 90 + 100 + 80 is past the per-email limit
        pdf("e", 60),  # 90 + 100 + 60 is within it
        {**pdf("f", 0), "kind": "reference", "link_url": "https://contoso.sharepoint.com/x.docx"},
        {**pdf("g", 50), "kind": "item", "content_type": "message/rfc822"},
    ]
    rows = record_attachments(db, CONTOSO, email.id, items, limits=limits)
    assert [r.state for r in rows] == ["pending", "too_large", "pending", "too_large", "pending", "link", "too_large"]
    assert rows[1].link_url == WEB_LINK
    assert rows[5].link_url == "https://contoso.sharepoint.com/x.docx"
    # Recording again (a retried sync) finds the same rows.
    again = record_attachments(db, CONTOSO, email.id, items, limits=limits)
    assert [r.id for r in again] == [r.id for r in rows]
    assert count(db, EmailAttachment) == len(items)

    db.get(Tenant, CONTOSO).update_settings(store_attachments=False)
    assert attachment_storage_enabled(db, CONTOSO) is False
    other = make_email(db, 2)
    (row,) = record_attachments(db, CONTOSO, other.id, [pdf("a", 10)], limits=limits)
    assert (row.state, row.link_url) == ("link", WEB_LINK)


def test_content_larger_than_announced_is_too_large_and_keeps_nothing(db, tenants):
    limits = AttachmentLimits(max_bytes=10_000, max_bytes_per_email=50_000)
    (row,) = record_attachments(db, CONTOSO, make_email(db).id, [pdf(size=5_000)], limits=limits)
    row = store_content(db, CONTOSO, row.id, pieces(b"x" * 20_000, 3000), limits=limits)
    db.commit()
    assert (row.state, row.sha256) == ("too_large", None)
    assert count(db, AttachmentBlob) == 0
    assert count(db, AttachmentChunk) == 0


def test_the_configured_limits_reach_the_crm_through_the_session(offline_database_url, tmp_path):
    app = create_app({**app_config(offline_database_url, tmp_path), "ATTACHMENT_MAX_BYTES": 10})
    try:
        with Database.state(app).session_factory() as session:
            assert AttachmentLimits.of(session) == AttachmentLimits(10, 100 * MB)
    finally:
        Database.state(app).engine.dispose()


def test_a_download_failing_half_way_leaves_the_row_pending_and_no_partial_file(db, tenants):
    content = b"q" * (3 * CHUNK_SIZE)
    (row,) = record_attachments(db, CONTOSO, make_email(db).id, [pdf(size=len(content))])
    db.commit()

    def broken():
        yield content[: CHUNK_SIZE * 2 + 10]
        raise ConnectionError("the connection dropped")

    with pytest.raises(ConnectionError):
        store_content(db, CONTOSO, row.id, broken())
    record_failure(db, CONTOSO, row.id, "the connection dropped")
    db.commit()
    assert count(db, AttachmentBlob) == 0
    assert count(db, AttachmentChunk) == 0
    db.refresh(row)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "the connection dropped")
    assert [r.id for r in pending_attachments(db, CONTOSO)] == [row.id]
    assert pending_attachments(db, CONTOSO, max_attempts=1) == []
    assert [r.id for r in pending_attachments(db, CONTOSO, email_id=row.email_id)] == [row.id]
    assert pending_attachments(db, CONTOSO, email_id=row.email_id + 1) == []

    store_content(db, CONTOSO, row.id, pieces(content))
    db.commit()
    assert (row.state, row.sha256, row.last_error) == ("stored", hashlib.sha256(content).hexdigest(), None)
    assert pending_attachments(db) == []
    assert count(db, AttachmentChunk) == 3


def test_another_tenants_attachment_cannot_be_stored_or_recorded(db, tenants):
    email = make_email(db)
    (row,) = record_attachments(db, CONTOSO, email.id, [pdf()])
    with pytest.raises(LookupError):
        store_content(db, FABRIKAM, row.id, [b"x"])
    with pytest.raises(LookupError):
        record_attachments(db, FABRIKAM, email.id, [pdf("z")])


def test_cid_images_point_at_our_urls_only_after_the_sanitiser():
    body = sanitise_html(
        '<img src="cid:Logo%40Acme" onerror="alert(1)" alt="logo"><img src="cid:other">'
        '<img src="https://tracker.example/p.gif"><a href="cid:logo@acme">x</a>'
    )
    linked = link_cid_images(body, {normal_content_id("<logo@acme>"): "/crm/attachments/7/inline"})
    assert '<img src="/crm/attachments/7/inline" alt="logo">' in linked
    assert 'data-src="cid:other"' in linked and 'data-src="https://tracker.example/p.gif"' in linked
    assert "onerror" not in linked and 'href="cid:' not in linked


def test_a_link_that_is_not_a_web_address_is_never_handed_out(db, tenants):
    email = make_email(db)
    (row,) = record_attachments(db, CONTOSO, email.id, [{**pdf(), "kind": "reference", "link_url": "javascript:x()"}])
    assert attachment_json(row, lambda i: f"/d/{i}")["url"] is None
