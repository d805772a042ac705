"""The Graph client's attachments against the emulated Graph over HTTPS: metadata without
content, `$value` streamed in chunks (memory flat), faults at the start retried by the
one policy, a cut half-way a clear `DownloadInterrupted`, and small ones in a `$batch`.
End to end, a download that times out leaves the filed email's attachment pending until
the retry job stores it."""

from __future__ import annotations

import hashlib
import tracemalloc
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from server.crm.models import Email
from server.crm.models.attachments import AttachmentBlob, EmailAttachment
from server.db import session_scope
from server.graph import (
    DownloadInterrupted,
    GraphClient,
    GraphTimeout,
    NotFound,
    Throttled,
    attachment_kind,
)
from server.jobs.schedule import run_periodic
from server.tls import http_session
from tests.support.arrange_contacts import seed_contoso
from tests.support.attachments import (
    PNG_1PX,
    MiB,
    expected_sha256,
    forwarded_email,
    generated_file,
    inline_image,
    message_with,
    onedrive_link,
)
from tests.support.backend import GRAPH_TIMEOUT_S
from tests.support.identities import ADELE, CONTOSO
from tests.support.waiting import wait_for

VALUE = r"/attachments/[^/]+/\$value$"


@pytest.fixture
def graph(emulator, tmp_path, clean_state):
    session = http_session({"CA_BUNDLE": emulator.ca_path, "INSTANCE_DIR": str(tmp_path)})
    token = emulator.graph_token(ADELE)

    def make(max_wait_s=5, timeout=(2, GRAPH_TIMEOUT_S)):
        return GraphClient(emulator.graph_url, lambda: token, session, max_wait_s=max_wait_s, timeout=timeout)

    return SimpleNamespace(client=make(), make=make)


def delivered(emulator, attachments):
    message = emulator.deliver(ADELE, message_with(attachments), folder="inbox")
    return message["id"]


def test_list_is_metadata_only_with_each_kind(graph, emulator):
    message_id = delivered(
        emulator, [generated_file("a.pdf", 5000, "a"), inline_image("cid1"), forwarded_email(), onedrive_link()]
    )
    emulator.clear_requests()
    listed = graph.client.list_attachments(message_id)
    assert [attachment_kind(a) for a in listed] == ["file", "file", "item", "reference"]
    assert all("contentBytes" not in a for a in listed)
    assert listed[1]["isInline"] is True and listed[1]["contentId"] == "cid1"
    (call,) = emulator.requests()
    assert "$select=" in call["query"] and "contentBytes" not in call["query"]


def test_content_streams_in_chunks_with_flat_memory(graph, emulator):
    size = 64 * MiB
    message_id = delivered(emulator, [generated_file("big.bin", size, "stream")])
    (att,) = graph.client.list_attachments(message_id)
    digest, chunks = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        for chunk in graph.client.attachment_content(message_id, att["id"]):
            digest.update(chunk)
            chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == expected_sha256("stream", size)
    assert chunks >= size // (1024 * 1024)  # never one piece
    assert peak < 8 * MiB


def test_a_cut_half_way_is_a_clear_download_interrupted(graph, emulator):
    message_id = delivered(emulator, [generated_file("cut.bin", 2 * MiB, "cut")])
    (att,) = graph.client.list_attachments(message_id)
    emulator.fault(path=VALUE, kind="cut", count=1)
    received = 0
    with pytest.raises(DownloadInterrupted) as caught:
        for chunk in graph.client.attachment_content(message_id, att["id"]):
            received += len(chunk)
    assert received < 2 * MiB
    assert "broke off" in caught.value.message and caught.value.status == 503


def test_throttling_at_the_start_is_retried_by_the_policy(graph, emulator):
    message_id = delivered(emulator, [inline_image("x")])
    (att,) = graph.client.list_attachments(message_id)
    emulator.fault(path=VALUE, kind="429", retry_after=0, count=2)
    assert b"".join(graph.client.attachment_content(message_id, att["id"])) == PNG_1PX
    assert [r["status"] for r in emulator.requests(path=VALUE)] == [429, 429, 200]


def test_throttling_past_the_budget_is_raised_at_once(graph, emulator):
    message_id = delivered(emulator, [inline_image("x")])
    (att,) = graph.client.list_attachments(message_id)
    emulator.fault(path=VALUE, kind="429", retry_after=30, count=1)
    with pytest.raises(Throttled) as caught:
        b"".join(graph.client.attachment_content(message_id, att["id"]))
    assert caught.value.retry_after == 30


def test_a_timeout_at_the_start_is_retried_then_raised(graph, emulator):
    message_id = delivered(emulator, [inline_image("x")])
    (att,) = graph.client.list_attachments(message_id)
    emulator.fault(path=VALUE, kind="latency", latency_ms=(GRAPH_TIMEOUT_S + 1) * 1000, count=1)
    assert b"".join(graph.make(max_wait_s=5).attachment_content(message_id, att["id"])) == PNG_1PX
    emulator.fault(path=VALUE, kind="latency", latency_ms=(GRAPH_TIMEOUT_S + 1) * 1000, count=5)
    with pytest.raises(GraphTimeout):
        b"".join(graph.make(max_wait_s=0.5).attachment_content(message_id, att["id"]))


def test_an_unknown_attachment_is_not_found(graph, emulator):
    message_id = delivered(emulator, [inline_image("x")])
    with pytest.raises(NotFound):
        b"".join(graph.client.attachment_content(message_id, "AAMkAGUzY5QKjAAABEgAQAMkpJI_X-LBFgvrv1PlZYd8="))


def test_small_contents_share_one_batch(graph, emulator):
    message_id = delivered(
        emulator, [generated_file(f"s{n}", 1000 + n, f"s{n}") for n in range(3)] + [forwarded_email()]
    )
    listed = graph.client.list_attachments(message_id)
    emulator.clear_requests()
    contents = graph.client.small_attachment_contents(message_id, [a["id"] for a in listed])
    outer = [r for r in emulator.requests() if not r["in_batch"]]
    assert len(outer) == 1 and outer[0]["path"].endswith("/$batch")
    for n, att in enumerate(listed[:3]):
        assert hashlib.sha256(contents[att["id"]]).hexdigest() == expected_sha256(f"s{n}", 1000 + n)
    assert contents[listed[3]["id"]].startswith(b"From: ")  # the item's MIME


def test_a_download_that_keeps_timing_out_leaves_the_attachment_pending_until_the_retry_job(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = emulator.deliver(
        ADELE,
        message_with(
            [generated_file("slow.pdf", 400_000, "slow", "application/pdf")], sender="lynne.robbins@northwind.example"
        ),
    )
    emulator.fault(path=VALUE, kind="latency", latency_ms=(GRAPH_TIMEOUT_S + 1) * 1000, count=20)

    answer = pane().post(f"/messages/{message['id']}/sync")

    assert answer.status_code == 200 and answer.json["state"] == "synced"
    with session_scope(app) as session:
        row = session.scalar(select(EmailAttachment))
        assert row.state == "pending" and "Timeout" in row.last_error
        assert session.scalar(select(func.count()).select_from(Email)) == 1
        assert session.scalar(select(func.count()).select_from(AttachmentBlob)) == 0
    emulator.clear_faults()
    assert run_periodic(app, "attachments") == 1

    def stored():
        with session_scope(app) as session:
            return session.scalar(select(EmailAttachment.sha256).where(EmailAttachment.state == "stored"))

    assert wait_for(stored, 30, 0.1, "the retried attachment") == expected_sha256("slow", 400_000)
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(AttachmentBlob)) == 1
