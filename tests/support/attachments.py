"""Messages with attachments for the tests, and what their bytes must hash to.

The emulator generates a file's bytes from a seed (emulator/store/attachments.py): chunk i
is SHAKE-256 of "<seed>:<i>", 64 KiB long, the last one cut to the size. `expected_sha256`
computes the same independently, so a test knows the SHA-256 of a 150 MB file without
holding it.
"""

from __future__ import annotations

import base64
import hashlib

MiB = 1024 * 1024
CHUNK = 64 * 1024
FILE = "#microsoft.graph.fileAttachment"
ITEM = "#microsoft.graph.itemAttachment"
REFERENCE = "#microsoft.graph.referenceAttachment"
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def expected_sha256(seed: str, size: int) -> str:
    digest = hashlib.sha256()
    index = 0
    left = size
    while left > 0:
        n = min(CHUNK, left)
        digest.update(hashlib.shake_256(f"{seed}:{index}".encode()).digest(n))
        left -= n
        index += 1
    return digest.hexdigest()


def generated_file(name: str, size: int, seed: str, content_type: str = "application/octet-stream") -> dict:
    return {"@odata.type": FILE, "name": name, "contentType": content_type, "size": size, "seed": seed}


def inline_image(content_id: str, name: str = "logo.png", data: bytes = PNG_1PX) -> dict:
    return {
        "@odata.type": FILE,
        "name": name,
        "contentType": "image/png",
        "contentBytes": base64.b64encode(data).decode(),
        "isInline": True,
        "contentId": content_id,
    }


def forwarded_email(subject: str = "Fwd: delivery note", nested: list[dict] | None = None) -> dict:
    return {
        "@odata.type": ITEM,
        "name": subject,
        "item": {
            "subject": subject,
            "from": {"emailAddress": {"name": "Nestor Wilke", "address": "nestor@northwind.example"}},
            "toRecipients": [{"emailAddress": {"name": "Lynne", "address": "lynne@northwind.example"}}],
            "sentDateTime": "2026-11-05T16:20:00Z",
            "internetMessageId": "<fwd-nested@northwind.example>",
            "body": {"contentType": "text", "content": "Deliver to dock 3."},
            "attachments": nested
            if nested is not None
            else [
                {"name": "map.txt", "contentType": "text/plain", "contentBytes": base64.b64encode(b"dock 3").decode()}
            ],
        },
    }


def onedrive_link(name: str = "Drawings.pdf") -> dict:
    return {
        "@odata.type": REFERENCE,
        "name": name,
        "contentType": "application/pdf",
        "sourceUrl": "https://contoso-my.sharepoint.com/personal/x/Documents/Drawings.pdf",
    }


def message_with(
    attachments: list[dict],
    subject: str = "Attachments",
    sender: str = "lynne@northwind.example",
    html: str | None = None,
) -> dict:
    """A message to deliver with `POST /_emulator/messages` (Graph message JSON)."""
    body = (
        html
        if html is not None
        else "<p>See attached.</p>"
        + "".join(f'<img src="cid:{a["contentId"]}">' for a in attachments if a.get("isInline"))
    )
    return {
        "subject": subject,
        "from": {"emailAddress": {"name": "Sender", "address": sender}},
        "toRecipients": [{"emailAddress": {"name": "Adele Vance", "address": "adele.vance@contoso.com"}}],
        "body": {"contentType": "html", "content": body},
        "attachments": attachments,
    }
