"""Attachments of filed emails, arranged through the CRM's own functions (recorded,
then their content stored as filing stores it), and attached emails as MIME."""

from __future__ import annotations

from email.message import EmailMessage
from itertools import count

from server.crm.attachments import record_attachments, store_content

_ids = count(1)
WEB_LINK = "https://outlook.office365.com/owa/?ItemID=AAMkAGI2&exvsurl=1&viewmodel=ReadMessageItem"

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def attach(
    session,
    email,
    name: str,
    data: bytes | None = b"%PDF-1.7 quote",
    *,
    content_type: str = "application/pdf",
    kind: str = "file",
    inline: bool = False,
    content_id: str | None = None,
    size: int | None = None,
    link_url: str | None = WEB_LINK,
    commit: bool = True,
):
    """Records one attachment on `email` and, given `data`, stores its content; the row."""
    item = {
        "graph_id": f"att-{next(_ids)}",
        "kind": kind,
        "name": name,
        "content_type": content_type,
        "size": size if size is not None else len(data or b""),
        "inline": inline,
        "content_id": content_id,
        "link_url": link_url,
    }
    (row,) = record_attachments(session, email.tenant_id, email.id, [item])
    if data is not None and row.state == "pending":
        row = store_content(session, email.tenant_id, row.id, [data])
    if commit:
        session.commit()
    return row


def attached_email_mime(subject: str = "Fwd: Northwind price list", body_html: str | None = None) -> bytes:
    """A forwarded email as Graph's itemAttachment $value gives it: html body, an inline
    logo and a PDF."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Lynne Robbins <lynne.robbins@northwind.example>"
    message["To"] = "Adele Vance <adele.vance@contoso.com>"
    message["Date"] = "Mon, 02 Nov 2026 09:30:00 +0000"
    message.set_content("Prices attached.")
    message.add_alternative(
        body_html
        or '<p>Prices attached.</p><img src="cid:logo@northwind"><script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif">',
        subtype="html",
    )
    message.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@northwind>", filename="logo.png")
    message.add_attachment(b"%PDF-1.7 price list", maintype="application", subtype="pdf", filename="prices.pdf")
    return message.as_bytes()
