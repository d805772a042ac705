"""An attached email (an itemAttachment, stored as its MIME) read for the CRM pages:
its header, its body made safe like every filed body, and its own attachments.

The MIME is parsed whole (Python's `email` package has no streaming reader for
parts): it is one stored attachment, so ATTACHMENT_MAX_BYTES bounds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesFeedParser
from email.utils import getaddresses, parsedate_to_datetime

from server.crm.sanitise import link_cid_images, normal_content_id, sanitise_html, text_to_html

INLINE_PART_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass
class NestedPart:
    index: int  # its place in the message's walk: the part's address in URLs
    name: str
    content_type: str
    size: int
    inline: bool
    content_id: str | None


@dataclass
class NestedMessage:
    subject: str
    from_: list[tuple[str, str]]
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    sent: str | None
    body_html: str
    parts: list[NestedPart] = field(default_factory=list)


def read_message(chunks: Iterable[bytes]) -> EmailMessage:
    parser = BytesFeedParser(policy=policy.default)
    for chunk in chunks:
        parser.feed(chunk)
    return parser.close()  # type: ignore[return-value]


def _leaves(message: EmailMessage) -> list[EmailMessage]:
    return [p for p in message.walk() if not p.is_multipart()]


def _body_part(message: EmailMessage) -> EmailMessage | None:
    try:
        return message.get_body(preferencelist=("html", "plain"))  # type: ignore[return-value]
    except (KeyError, LookupError):
        return None


def _is_text_alternative(part: EmailMessage) -> bool:
    """A plain or html rendering of the body rather than a file."""
    return (
        part.get_content_maintype() == "text"
        and part.get_filename() is None
        and part.get_content_disposition() != "attachment"
    )


def _payload(part: EmailMessage) -> bytes:
    return part.get_payload(decode=True) or b""


def nested_parts(message: EmailMessage) -> list[NestedPart]:
    """The message's files (and inline images), by their index in the walk."""
    found = []
    for index, part in enumerate(_leaves(message)):
        if _is_text_alternative(part):
            continue
        content_type = part.get_content_type()
        found.append(
            NestedPart(
                index=index,
                name=part.get_filename() or "",
                content_type=content_type,
                size=len(_payload(part)),
                inline=part.get_content_disposition() == "inline" or bool(part.get("Content-ID")),
                content_id=normal_content_id(part.get("Content-ID")) or None,
            )
        )
    return found


def part_at(message: EmailMessage, index: int) -> tuple[NestedPart, bytes] | None:
    """One file of the message and its decoded bytes (None when there is no such file)."""
    leaves = _leaves(message)
    for part in nested_parts(message):
        if part.index == index:
            return part, _payload(leaves[index])
    return None


def _people(message: EmailMessage, header: str) -> list[tuple[str, str]]:
    values = [str(v) for v in message.get_all(header, [])]
    return [(name, address) for name, address in getaddresses(values) if name or address]


def _sent(message: EmailMessage) -> str | None:
    raw = message.get("Date")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(str(raw)).isoformat()
    except (TypeError, ValueError):
        return str(raw)


def nested_message(message: EmailMessage, part_url: Callable[[NestedPart], str]) -> NestedMessage:
    """The attached email as the page shows it; its inline images load from `part_url`."""
    body = _body_part(message)
    if body is None:
        html = ""
    else:
        try:
            content = body.get_content()
        except (LookupError, ValueError):
            content = _payload(body).decode("utf-8", "replace")
        html = sanitise_html(content) if body.get_content_subtype() == "html" else text_to_html(content)
    parts = nested_parts(message)
    images = {p.content_id: part_url(p) for p in parts if p.content_id and p.content_type in INLINE_PART_TYPES}
    return NestedMessage(
        subject=str(message.get("Subject") or ""),
        from_=_people(message, "From"),
        to=_people(message, "To"),
        cc=_people(message, "Cc"),
        sent=_sent(message),
        body_html=link_cid_images(html, images),
        parts=parts,
    )
