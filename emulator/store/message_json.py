"""Graph's JSON for messages: checking what comes in, deriving the fields Exchange fills in, writing what goes out."""

from __future__ import annotations

import base64
import copy
import html
import re
from urllib.parse import quote

from emulator.store.attachments import check_attachment_spec
from emulator.store.clock import iso, parse_iso
from emulator.store.ids import b64url, digest, rest_to_ews
from emulator.store.model import Message, User

_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|odp|pd|sv|vs|tr|rv)\s*:\s*)+", re.IGNORECASE)


def html_to_text(content: str) -> str:
    text = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", " ", content or "")
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


def thread_topic(subject: str) -> str:
    """The subject without reply/forward prefixes: replies share their thread's conversationId."""
    return _REPLY_PREFIX.sub("", subject or "").strip().lower()


def check_message_spec(spec: dict) -> None:
    """ValueError unless `spec` is shaped like Graph message JSON (for fixtures and deliveries)."""

    def address(value, name):
        if not (
            isinstance(value, dict)
            and isinstance(value.get("emailAddress"), dict)
            and isinstance(value["emailAddress"].get("address", ""), str)
        ):
            raise ValueError(f"{name} must look like {{'emailAddress': {{'name': ..., 'address': ...}}}}")

    if not isinstance(spec, dict):
        raise ValueError("a message must be a JSON object")
    for name in ("from", "sender"):
        if spec.get(name) is not None:
            address(spec[name], name)
    for name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        if not isinstance(spec.get(name, []), list):
            raise ValueError(f"{name} must be a list")
        for item in spec.get(name, []):
            address(item, name)
    body = spec.get("body")
    if body is not None and not (isinstance(body, dict) and isinstance(body.get("content", ""), str)):
        raise ValueError("body must look like {'contentType': 'text'|'html', 'content': ...}")
    categories = spec.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ValueError("categories must be a list of strings")
    attachments = spec.get("attachments", [])
    if not isinstance(attachments, list):
        raise ValueError("attachments must be a list of objects")
    for attachment in attachments:
        check_attachment_spec(attachment)
    for name in ("receivedDateTime", "sentDateTime"):
        if spec.get(name) is not None:
            if not isinstance(spec[name], str):
                raise ValueError(f"{name} must be an ISO 8601 string")
            parse_iso(spec[name])
    for name in ("subject", "internetMessageId", "conversationId"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise ValueError(f"{name} must be a string")


def new_message_fields(user: User, key: str, spec: dict, attachments: list[dict], received: str) -> dict:
    """A new message's stored fields: `spec` as given, the rest filled in as Exchange would."""
    body = spec.get("body") or {"contentType": "text", "content": ""}
    return {
        "categories": list(spec.get("categories", [])),
        "receivedDateTime": iso(parse_iso(received)),
        "sentDateTime": iso(parse_iso(spec.get("sentDateTime") or received)),
        "hasAttachments": bool(spec.get("hasAttachments", any(not a.get("isInline") for a in attachments))),
        "internetMessageId": spec.get("internetMessageId")
        or f"<{digest('imid', user.oid, key, size=8).hex()}@{(user.mail.split('@') + ['local'])[1]}>",
        "subject": spec.get("subject", ""),
        "bodyPreview": spec.get("bodyPreview")
        or (
            html_to_text(body.get("content", ""))
            if body.get("contentType", "").lower() == "html"
            else " ".join((body.get("content") or "").split())
        )[:255],
        "importance": spec.get("importance", "normal"),
        "conversationId": spec.get("conversationId")
        or "AAQkA" + b64url(digest("conv", user.oid, thread_topic(spec.get("subject", "")), size=40)),
        "conversationIndex": spec.get("conversationIndex")
        or base64.b64encode(b"\x01" + digest("ci", user.oid, key, size=21)).decode(),
        "isDeliveryReceiptRequested": spec.get("isDeliveryReceiptRequested", False),
        "isReadReceiptRequested": spec.get("isReadReceiptRequested", False),
        "isRead": spec.get("isRead", False),
        "isDraft": spec.get("isDraft", False),
        "inferenceClassification": spec.get("inferenceClassification", "focused"),
        "body": {"contentType": body.get("contentType", "text").lower(), "content": body.get("content", "")},
        "sender": spec.get("sender", spec.get("from")),
        "from": spec.get("from"),
        "toRecipients": list(spec.get("toRecipients", [])),
        "ccRecipients": list(spec.get("ccRecipients", [])),
        "bccRecipients": list(spec.get("bccRecipients", [])),
        "replyTo": list(spec.get("replyTo", [])),
        "flag": spec.get("flag") or {"flagStatus": "notFlagged"},
    }


def message_to_json(msg: Message, immutable_ids: bool = False) -> dict:
    """The full default Graph representation of a message (no @odata.context)."""
    f = msg.fields
    item_id = msg.immutable_id if immutable_ids else msg.rest_id
    out = {
        "@odata.etag": f'W/"{msg.change_key}"',
        "id": item_id,
        "createdDateTime": iso(msg.created),
        "lastModifiedDateTime": iso(msg.modified),
        "changeKey": msg.change_key,
        "categories": list(f["categories"]),
        "receivedDateTime": f["receivedDateTime"],
        "sentDateTime": f["sentDateTime"],
        "hasAttachments": f["hasAttachments"],
        "internetMessageId": f["internetMessageId"],
        "subject": f["subject"],
        "bodyPreview": f["bodyPreview"],
        "importance": f["importance"],
        "parentFolderId": msg.folder_id,
        "conversationId": f["conversationId"],
        "conversationIndex": f["conversationIndex"],
        "isDeliveryReceiptRequested": f["isDeliveryReceiptRequested"],
        "isReadReceiptRequested": f["isReadReceiptRequested"],
        "isRead": f["isRead"],
        "isDraft": f["isDraft"],
        "webLink": "https://outlook.office365.com/owa/?ItemID="
        + quote(rest_to_ews(msg.rest_id), safe="")
        + "&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": f["inferenceClassification"],
        "body": dict(f["body"]),
        "sender": copy.deepcopy(f["sender"]),
        "from": copy.deepcopy(f["from"]),
        "toRecipients": copy.deepcopy(f["toRecipients"]),
        "ccRecipients": copy.deepcopy(f["ccRecipients"]),
        "bccRecipients": copy.deepcopy(f["bccRecipients"]),
        "replyTo": copy.deepcopy(f["replyTo"]),
        "flag": copy.deepcopy(f["flag"]),
    }
    return out
