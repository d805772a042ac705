"""Attachments on the emulated Graph: the three kinds in Microsoft's documented shapes,
inline images, `/$value` streamed (150 MB with flat memory), and faults half-way."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import subprocess

import pytest
import requests

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
from tests.support.identities import ADELE

METADATA = "id,name,contentType,size,isInline,microsoft.graph.fileAttachment/contentId"


@pytest.fixture
def delivered(emulator):
    """One message with every kind: a generated PDF, an inline PNG, a forwarded email, a link."""
    message = emulator.deliver(
        ADELE,
        message_with(
            [
                generated_file("Quote.pdf", 48213, "quote-seed", "application/pdf"),
                inline_image("logo@northwind"),
                forwarded_email(),
                onedrive_link(),
            ]
        ),
    )
    return message


def attachments_of(adele, message_id, **params):
    r = adele.get(f"~/messages/{message_id}/attachments", params=params)
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_list_with_select_is_metadata_only_and_says_each_kind(adele, delivered):
    rows = attachments_of(adele, delivered["id"], **{"$select": METADATA})
    assert [r["@odata.type"] for r in rows] == [
        "#microsoft.graph.fileAttachment",
        "#microsoft.graph.fileAttachment",
        "#microsoft.graph.itemAttachment",
        "#microsoft.graph.referenceAttachment",
    ]
    assert all("contentBytes" not in r for r in rows)
    assert rows[0]["size"] == 48213 and rows[0]["contentType"] == "application/pdf"
    assert rows[1]["isInline"] is True and rows[1]["contentId"] == "logo@northwind"
    assert rows[2]["contentType"] is None  # as in Graph's itemAttachment example
    assert "sourceUrl" not in rows[3]  # v1.0 has only the base properties


def test_file_attachment_has_the_documented_shape(adele, delivered):
    att = attachments_of(adele, delivered["id"])[0]
    r = adele.get(f"~/messages/{delivered['id']}/attachments/{att['id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith("/attachments/$entity")
    assert set(body) >= {
        "@odata.type",
        "id",
        "lastModifiedDateTime",
        "name",
        "contentType",
        "size",
        "isInline",
        "contentId",
        "contentLocation",
        "contentBytes",
    }
    content = base64.b64decode(body["contentBytes"])
    assert hashlib.sha256(content).hexdigest() == expected_sha256("quote-seed", 48213)


def test_inline_image_bytes_and_cid_reference(adele, delivered):
    message = adele.get(f"~/messages/{delivered['id']}", params={"$select": "body"}).json()
    assert 'src="cid:logo@northwind"' in message["body"]["content"]
    att = attachments_of(adele, delivered["id"])[1]
    r = adele.get(f"~/messages/{delivered['id']}/attachments/{att['id']}/$value")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/png"
    assert r.content == PNG_1PX


def test_item_attachment_value_is_mime_with_its_own_attachments(adele, delivered):
    att = attachments_of(adele, delivered["id"])[2]
    r = adele.get(f"~/messages/{delivered['id']}/attachments/{att['id']}/$value")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("message/rfc822")
    parsed = email.message_from_bytes(r.content, policy=email.policy.default)
    assert parsed["Subject"] == "Fwd: delivery note"
    assert "nestor@northwind.example" in parsed["From"]
    nested = [part.get_filename() for part in parsed.iter_attachments()]
    assert nested == ["map.txt"]
    assert int(r.headers["Content-Length"]) == len(r.content) == att["size"]


def test_item_attachment_expands_its_message(adele, delivered):
    att = attachments_of(adele, delivered["id"])[2]
    r = adele.get(
        f"~/messages/{delivered['id']}/attachments/{att['id']}",
        params={"$expand": "microsoft.graph.itemattachment/item"},
    )
    assert r.status_code == 200
    item = r.json()["item"]
    assert item["@odata.type"] == "#microsoft.graph.message"
    assert item["subject"] == "Fwd: delivery note"
    assert item["hasAttachments"] is True


def test_reference_attachment_value_is_405(adele, delivered):
    att = attachments_of(adele, delivered["id"])[3]
    r = adele.get(f"~/messages/{delivered['id']}/attachments/{att['id']}/$value")
    assert r.status_code == 405
    assert r.json()["error"]["code"]


def test_a_file_attachments_own_property_needs_the_type_cast(adele, delivered):
    # As Graph answers: contentId is not a property of the base attachment type.
    plain = adele.get(f"~/messages/{delivered['id']}/attachments", params={"$select": "id,contentId"})
    assert plain.status_code == 400
    assert plain.json()["error"]["message"] == (
        "Could not find a property named 'contentId' on type 'microsoft.graph.attachment'."
    )
    expanded = adele.get(
        f"~/messages/{delivered['id']}", params={"$select": "id", "$expand": "attachments($select=id,contentId)"}
    )
    assert expanded.status_code == 400
    cast = adele.get(
        f"~/messages/{delivered['id']}",
        params={
            "$select": "id",
            "$expand": "attachments($select=id,isInline,microsoft.graph.fileAttachment/contentId)",
        },
    )
    assert cast.status_code == 200
    assert [a.get("contentId") for a in cast.json()["attachments"]][:2] == [None, "logo@northwind"]


def test_unknown_attachment_is_404(adele, delivered):
    r = adele.get(f"~/messages/{delivered['id']}/attachments/AAMkAGUzY5QKjAAABEgAQAMkpJI_X-LBFgvrv1PlZYd8=/$value")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "ErrorItemNotFound"


def test_a_150_mb_file_streams_in_chunks_with_flat_emulator_memory(emulator, adele):
    size = 150 * MiB
    message = emulator.deliver(ADELE, message_with([generated_file("big.bin", size, "big-seed")]))
    att = attachments_of(adele, message["id"], **{"$select": METADATA})[0]
    assert att["size"] == size
    r = adele.get(f"~/messages/{message['id']}/attachments/{att['id']}/$value", stream=True)
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == size
    digest, received, peak_rss = hashlib.sha256(), 0, 0
    for n, chunk in enumerate(r.iter_content(1024 * 1024)):
        digest.update(chunk)
        received += len(chunk)
        if n % 25 == 0:
            peak_rss = max(peak_rss, rss_kib(emulator.process.pid))
    assert received == size
    assert digest.hexdigest() == expected_sha256("big-seed", size)
    # The emulator never holds the file: its resident memory stays far below 150 MB.
    assert peak_rss < 120 * 1024


def rss_kib(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_cut_fault_drops_the_connection_half_way_then_the_next_request_is_whole(emulator, adele):
    size = 4 * MiB
    message = emulator.deliver(ADELE, message_with([generated_file("cut.bin", size, "cut-seed")]))
    att = attachments_of(adele, message["id"])[0]
    path = f"~/messages/{message['id']}/attachments/{att['id']}/$value"
    emulator.fault(path=r"/attachments/[^/]+/\$value$", kind="cut", count=1)
    r = adele.get(path, stream=True)
    assert r.status_code == 200
    received = 0
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for chunk in r.iter_content(64 * 1024):
            received += len(chunk)
    assert received == size // 2
    again = adele.get(path)
    assert hashlib.sha256(again.content).hexdigest() == expected_sha256("cut-seed", size)


def test_cut_after_a_given_number_of_bytes(emulator, adele):
    message = emulator.deliver(ADELE, message_with([generated_file("cut.bin", 1 * MiB, "cut2")]))
    att = attachments_of(adele, message["id"])[0]
    emulator.fault(path=r"/\$value$", kind="cut", after_bytes=1000, count=1)
    r = adele.get(f"~/messages/{message['id']}/attachments/{att['id']}/$value", stream=True)
    received = 0
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for chunk in r.iter_content(100):  # a read that meets the cut loses what it got: read small
            received += len(chunk)
    assert received == 1000


def test_throttling_a_value_download(emulator, adele, delivered):
    att = attachments_of(adele, delivered["id"])[0]
    emulator.fault(path=r"/\$value$", kind="429", retry_after=2, count=1)
    path = f"~/messages/{delivered['id']}/attachments/{att['id']}/$value"
    throttled = adele.get(path)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert adele.get(path).status_code == 200
    rows = emulator.requests(path=r"/\$value$")
    assert [r["status"] for r in rows] == [429, 200] and rows[0]["throttled"]


def test_value_in_a_batch_comes_back_base64(adele, delivered):
    att = attachments_of(adele, delivered["id"])[1]
    r = adele.post(
        "/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": f"/me/messages/{delivered['id']}/attachments/{att['id']}/$value"}
            ]
        },
    )
    assert r.status_code == 200
    inner = r.json()["responses"][0]
    assert inner["status"] == 200 and inner["headers"]["Content-Type"] == "image/png"
    assert base64.b64decode(inner["body"]) == PNG_1PX


def test_a_bad_attachment_spec_is_refused(emulator):
    r = emulator.session.post(
        f"{emulator.base_url}/_emulator/messages",
        json={"upn": ADELE, "folder": "inbox", "message": {"subject": "x", "attachments": [{"@odata.type": "#x"}]}},
        timeout=30,
    )
    assert r.status_code == 400
    assert "@odata.type" in r.json()["error"]["message"]
