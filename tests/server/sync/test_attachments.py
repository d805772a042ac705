"""Filing stores the attachments' content, end to end: the pane (or automatic sync)
files a message delivered with attachments on the emulator over HTTPS; each kind ends
in its state, the bytes arrive as a stream (150 MB with flat memory), a fault leaves
the email filed and the attachment pending until the retry job stores it, exactly once,
and a sync with k attachments costs 1 read + k `$value` streams + 1 mark."""

from __future__ import annotations

import gc
import re
import time
import tracemalloc

from sqlalchemy import func, select

from server.crm.models import Email, MailboxItem, Tenant
from server.crm.models.attachments import AttachmentBlob, EmailAttachment
from server.crm.tenants import get_or_create_tenant
from server.db import session_scope
from server.jobs.schedule import run_periodic
from server.sync.attachments import retry_pending
from server.sync.automatic import process_messages
from server.sync.bulk import bulk_sync
from server.sync.mailbox_factory import app_only_mailbox
from tests.support.arrange_contacts import seed_contoso
from tests.support.attachments import (
    MiB,
    expected_sha256,
    forwarded_email,
    generated_file,
    inline_image,
    message_with,
    onedrive_link,
)
from tests.support.backend import settle_jobs
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_for

LYNNE = "lynne.robbins@northwind.example"
VALUE = r"/attachments/[^/]+/\$value$"


def deliver(emulator, attachments, subject="Attachments"):
    return emulator.deliver(ADELE, message_with(attachments, subject=subject, sender=LYNNE))


def rows(app, subject="Attachments") -> list[EmailAttachment]:
    with session_scope(app) as session:
        email_id = session.scalar(select(Email.id).where(Email.subject == subject))
        found = session.scalars(
            select(EmailAttachment).where(EmailAttachment.email_id == email_id).order_by(EmailAttachment.id)
        ).all()
        for row in found:
            session.expunge(row)
        return list(found)


def blobs(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(AttachmentBlob))


def sync(pane, message):
    answer = pane().post(f"/messages/{message['id']}/sync")
    assert answer.status_code == 200, answer.json
    assert answer.json["state"] == "synced"
    return answer


def graph_calls(emulator):
    return [r for r in emulator.requests() if r["path"].startswith("/v1.0") and not r["in_batch"]]


def test_every_kind_is_stored_in_its_state(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(
        emulator,
        [
            generated_file("Quote.pdf", 200_000, "quote", "application/pdf"),
            inline_image("logo@northwind"),
            forwarded_email(),
            onedrive_link(),
        ],
    )

    answer = sync(pane, message)

    # The sync's own answer already lists them in the API's shape, content fetched.
    listed = {a["name"]: a for a in answer.json["attachments"]}
    assert listed["Quote.pdf"]["state"] == "stored" and listed["Quote.pdf"]["url"]
    assert listed["Drawings.pdf"]["state"] == "link"
    quote, logo, forwarded, link = rows(app)
    assert (quote.kind, quote.state, quote.sha256) == ("file", "stored", expected_sha256("quote", 200_000))
    assert quote.content_type == "application/pdf" and quote.size == 200_000 and not quote.inline
    assert (logo.state, logo.inline, logo.content_id) == ("stored", True, "logo@northwind")
    assert (forwarded.kind, forwarded.state, forwarded.content_type) == ("item", "stored", "message/rfc822")
    assert (link.kind, link.state) == ("reference", "link")
    assert link.link_url and link.link_url.startswith("https://outlook.office365.com/owa/")
    assert blobs(app) == 3


def message_calls(emulator):
    """The sync's own requests: the message, its attachments, and $batch calls (the
    catch-up the pane's open queued reads folders, not messages)."""
    return [c for c in graph_calls(emulator) if "/messages/" in c["path"] or c["path"].endswith("/$batch")]


def test_a_sync_with_k_attachments_costs_one_read_the_streams_one_batch_and_one_mark(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    large, small = 3, 4
    message = deliver(
        emulator,
        [generated_file(f"large{n}.pdf", 300_000 + n, f"large{n}") for n in range(large)]
        + [generated_file(f"small{n}.png", 10_000 + n, f"small{n}", "image/png") for n in range(small)]
        + [onedrive_link()],
    )
    user = pane()
    # Tokens and keys warm, on another message: this sync has no recent open to reuse,
    # so it reads the message itself (tests/server/routes/test_open_then_sync.py has the open's read).
    user.get(f"/messages/{find_message(emulator, ADELE, 'Plain: order confirmation from Northwind')['id']}")
    settle_jobs(app)  # the catch-up the open queued is not part of the sync
    emulator.clear_requests()

    sync(pane, message)

    calls = message_calls(emulator)
    assert calls[0]["method"] == "GET" and "attachments(" in calls[0]["query"]
    assert "contentBytes" not in calls[0]["query"]  # metadata only
    kinds = [
        "$batch" if c["path"].endswith("/$batch") else "$value" if c["path"].endswith("/$value") else c["method"]
        for c in calls[1:]
    ]
    # 1 read + one $batch for the small ones + one stream per large one + 1 mark
    assert kinds == ["$batch"] + ["$value"] * large + ["PATCH"]
    assert len(calls) == 1 + 1 + large + 1
    batched = [r for r in emulator.requests() if r["in_batch"]]
    assert len(batched) == small and all(r["path"].endswith("/$value") for r in batched)
    stored = [r for r in rows(app) if r.state == "stored"]
    assert len(stored) == large + small and blobs(app) == large + small
    assert {r.sha256 for r in stored if r.name.startswith("small")} == {
        expected_sha256(f"small{n}", 10_000 + n) for n in range(small)
    }

    emulator.clear_requests()
    sync(pane, message)  # a repeat: one read, nothing fetched again
    assert [c["method"] for c in message_calls(emulator)] == ["GET"]
    assert blobs(app) == large + small


def test_open_then_sync_files_the_attachments_from_the_opens_read(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(
        emulator,
        [generated_file("large.pdf", 300_000, "large"), generated_file("small0.png", 10_000, "s0", "image/png")]
        + [generated_file("small1.png", 10_001, "s1", "image/png")],
    )
    user = pane()
    user.get(f"/messages/{find_message(emulator, ADELE, 'Plain: order confirmation from Northwind')['id']}")
    settle_jobs(app)
    emulator.clear_requests()

    assert user.get(f"/messages/{message['id']}").status_code == 200
    sync(pane, message)

    logged = emulator.requests()
    reads = [r for r in logged if r["method"] == "GET" and re.search(r"/messages/[^/]+$", r["path"])]
    # The open's one read carried the attachments' metadata (never their content) ...
    assert len(reads) == 1 and "attachments(" in reads[0]["query"] and "contentBytes" not in reads[0]["query"]
    # ... and the sync used it: the contents (small ones in one $batch) and the mark.
    values = [r["in_batch"] for r in logged if r["path"].endswith("/$value")]
    assert sorted(values) == [False, True, True]
    assert [r["method"] for r in logged if r["method"] == "PATCH"] == ["PATCH"]
    assert {r.state for r in rows(app)} == {"stored"} and blobs(app) == 3


def test_a_small_attachment_the_batch_could_not_answer_is_streamed_alone(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file(f"s{n}.png", 5_000, f"s{n}", "image/png") for n in range(3)])
    emulator.fault(path=VALUE, kind="429", retry_after=60, count=1)  # the first part of the batch
    emulator.clear_requests()

    sync(pane, message)

    assert [r.state for r in rows(app)] == ["stored"] * 3
    streamed = [c for c in graph_calls(emulator) if c["path"].endswith("/$value")]
    assert len(streamed) == 1


def test_a_150_mb_attachment_is_stored_with_flat_memory(app, pane, emulator, crm, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 200 * MiB)
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_BYTES_PER_EMAIL", 200 * MiB)
    seed_contoso(crm, CONTOSO)
    size = 150 * MiB
    message = deliver(emulator, [generated_file("site-survey.mp4", size, "survey", "video/mp4")])
    user = pane()
    user.get(f"/messages/{message['id']}")
    gc.collect()

    tracemalloc.start()
    try:
        sync(pane, message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    (row,) = rows(app)
    assert (row.state, row.size, row.sha256) == ("stored", size, expected_sha256("survey", size))
    assert peak < 24 * MiB, f"filing a 150 MB attachment peaked at {peak / MiB:.1f} MiB"


def test_throttled_past_the_budget_leaves_it_pending_and_the_retry_job_stores_it_once(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("Quote.pdf", 300_000, "throttled", "application/pdf")])
    # Longer than the pane may wait (GRAPH_MAX_WAIT_S): left pending. The retry job then waits
    # the rest of Graph's Retry-After out (the pacer holds background work), and stores it.
    emulator.fault(path=VALUE, kind="429", retry_after=app.config["GRAPH_MAX_WAIT_S"] + 1, count=1)

    sync(pane, message)  # the email is filed and marked all the same

    (row,) = rows(app)
    assert row.state == "pending" and row.attempts == 1 and "429" in row.last_error
    assert blobs(app) == 0
    # The scheduler queues the retry job minutes later; here a few seconds pass, enough
    # for what is left of Graph's Retry-After to fit in the job's own wait.
    time.sleep(2)
    retry_by_job(app)
    (row,) = rows(app)
    assert (row.state, row.sha256) == ("stored", expected_sha256("throttled", 300_000))
    assert blobs(app) == 1


def test_sync_again_fetches_what_a_fault_left_pending(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("Quote.pdf", 300_000, "again", "application/pdf")])
    emulator.fault(path=VALUE, kind="429", retry_after=60, count=1)
    first = sync(pane, message)
    assert [a["state"] for a in first.json["attachments"]] == ["pending"]
    emulator.clear_requests()

    again = sync(pane, message)  # the user presses Sync again: no waiting for the retry job

    assert [a["state"] for a in again.json["attachments"]] == ["stored"]
    assert rows(app)[0].sha256 == expected_sha256("again", 300_000) and blobs(app) == 1
    calls = message_calls(emulator)
    assert [c["method"] for c in calls] == ["GET", "GET"] and calls[1]["path"].endswith("/$value")


def test_5xx_past_the_budget_leaves_it_pending(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("a.bin", 50_000, "five")])
    emulator.fault(path=VALUE, kind="503", retry_after=60, count=1)
    sync(pane, message)
    (row,) = rows(app)
    assert row.state == "pending" and "503" in row.last_error
    retry_by_job(app)
    assert rows(app)[0].state == "stored" and blobs(app) == 1


def test_a_download_cut_half_way_is_repeated_at_once(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("drawing.dwg", 3 * MiB, "cut-once")])
    emulator.fault(path=VALUE, kind="cut", count=1)
    emulator.clear_requests()

    sync(pane, message)

    (row,) = rows(app)
    assert (row.state, row.sha256) == ("stored", expected_sha256("cut-once", 3 * MiB))
    assert len([c for c in graph_calls(emulator) if c["path"].endswith("/$value")]) == 2
    assert blobs(app) == 1


def test_a_download_cut_every_time_stays_pending_with_no_partial_file(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("drawing.dwg", 3 * MiB, "cut-twice")])
    emulator.fault(path=VALUE, kind="cut", count=2)

    sync(pane, message)

    (row,) = rows(app)
    assert row.state == "pending" and row.sha256 is None and "broke off" in row.last_error
    assert blobs(app) == 0  # nothing half-written was kept
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Email)) == 1
        assert session.scalar(select(MailboxItem.state)) == "synced"
    retry_by_job(app)
    assert rows(app)[0].sha256 == expected_sha256("cut-twice", 3 * MiB)
    assert blobs(app) == 1


def test_a_file_over_the_limit_is_too_large_and_the_sync_succeeds(app, pane, emulator, crm, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1 * MiB)
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_BYTES_PER_EMAIL", 2 * MiB)
    seed_contoso(crm, CONTOSO)
    message = deliver(
        emulator,
        [
            generated_file("big.zip", 2 * MiB, "too-big"),
            generated_file("a.pdf", MiB - 10, "a"),
            generated_file("b.pdf", MiB - 10, "b"),
            generated_file("c.pdf", MiB - 10, "c"),  # past the per-email limit
        ],
    )
    emulator.clear_requests()

    sync(pane, message)

    big, a, b, c = rows(app)
    assert (big.state, a.state, b.state, c.state) == ("too_large", "stored", "stored", "too_large")
    assert big.link_url.startswith("https://outlook.office365.com/owa/")
    assert len([r for r in graph_calls(emulator) if r["path"].endswith("/$value")]) == 2


def test_storage_turned_off_records_links_and_fetches_nothing(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    tenant = get_or_create_tenant(crm, CONTOSO)
    tenant.update_settings(store_attachments=False)
    crm.commit()
    message = deliver(emulator, [generated_file("a.pdf", 1000, "off")])
    emulator.clear_requests()

    sync(pane, message)

    (row,) = rows(app)
    assert row.state == "link" and row.link_url
    assert not [r for r in graph_calls(emulator) if r["path"].endswith("/$value")]
    with session_scope(app) as session:
        session.get(Tenant, CONTOSO).update_settings(store_attachments=True)
        session.commit()


def test_a_double_click_and_a_second_mailbox_add_no_duplicate(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    spec = message_with([generated_file("shared.pdf", 70_000, "shared")], subject="Attachments", sender=LYNNE)
    spec["internetMessageId"] = "<shared-attachment@northwind.example>"
    spec["toRecipients"].append({"emailAddress": {"address": "megan.bowen@contoso.com"}})
    adeles = emulator.deliver(ADELE, spec)
    megans = emulator.deliver("megan.bowen@contoso.com", spec)

    sync(pane, adeles)
    sync(pane, adeles)
    answer = pane("megan.bowen@contoso.com").post(f"/messages/{megans['id']}/sync")
    assert answer.status_code == 200

    (row,) = rows(app)
    assert row.state == "stored" and blobs(app) == 1


def test_automatic_sync_stores_attachments_too(app, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("auto.pdf", 40_000, "auto")])
    with app.app_context(), session_scope(app) as session:
        mailbox = app_only_mailbox(app, session, adele)
        from_graph = mailbox.graph.get_message(message["id"])
        outcome = process_messages(mailbox, [from_graph], mode="all")
    assert outcome.filed == 1
    (row,) = rows(app)
    assert (row.state, row.sha256) == ("stored", expected_sha256("auto", 40_000))


def test_batch_sync_and_bulk_sync_store_attachments_too(app, pane, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    first = deliver(emulator, [generated_file("one.pdf", 30_000, "batch1")], subject="Batch one")
    second = deliver(emulator, [generated_file("two.pdf", 300_000, "batch2")], subject="Batch two")
    answer = pane().post("/messages/batch-sync", json={"ids": [first["id"], second["id"]]})
    assert answer.status_code == 200 and all(r["ok"] for r in answer.json["results"])
    assert rows(app, "Batch one")[0].sha256 == expected_sha256("batch1", 30_000)
    assert rows(app, "Batch two")[0].sha256 == expected_sha256("batch2", 300_000)

    third = emulator.deliver(
        ADELE,
        {
            **message_with([generated_file("three.pdf", 20_000, "bulk3")], subject="Bulk three", sender=LYNNE),
            "receivedDateTime": "2026-11-20T10:00:00Z",
        },
    )
    assert third["id"]
    with app.app_context(), session_scope(app) as session:
        outcome = bulk_sync(app_only_mailbox(app, session, adele), "inbox", "2026-11-19")
    assert outcome.filed >= 1
    assert rows(app, "Bulk three")[0].sha256 == expected_sha256("bulk3", 20_000)


def retry_by_job(app):
    """What the scheduler does every few minutes: queue the retry job, which stores what is pending."""
    assert run_periodic(app, "attachments") >= 1
    wait_for(lambda: all(r.state != "pending" for r in all_rows(app)), 30, 0.1, "the pending attachments")


def all_rows(app):
    with session_scope(app) as session:
        return session.scalars(select(EmailAttachment)).all()


def test_retry_finds_the_row_through_its_own_mailbox(app, pane, emulator, crm, adele):
    seed_contoso(crm, CONTOSO)
    message = deliver(emulator, [generated_file("q.pdf", 10_000, "direct")])
    emulator.fault(path=VALUE, kind="429", retry_after=60, count=1)
    sync(pane, message)
    with app.app_context(), session_scope(app) as session:
        outcome = retry_pending(app_only_mailbox(app, session, adele))
    assert (outcome.stored, outcome.pending) == (1, 0)
