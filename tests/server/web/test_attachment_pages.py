"""Attachments on the CRM pages: the email page's list (icon, name, size, type, state,
download), inline images shown in place from our own URLs, downloads that are never
rendered, attached emails shown nested, another tenant's 404, and the Files tab."""

from __future__ import annotations

import re
from urllib.parse import quote

from server.crm.models import Contact
from tests.support.arrange_attachments import PNG, WEB_LINK, attach, attached_email_mime
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import filed_email, user_of
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, PAT, PAT_OID

LOGO_BODY = (
    '<p>Quote attached.</p><img src="cid:image001.png@01DA2B3C" alt="logo">'
    '<img src="cid:unknown@x" alt="missing"><img src="https://tracker.example/p.gif">'
)


def body_of(html: str) -> str:
    return re.search(r'<section class="email-body"[^>]*>(.*?)</section>', html, re.S).group(1)


def section(html: str, heading_id: str) -> str:
    return re.search(rf'<h2 id="{heading_id}">(.*?)</section>', html, re.S).group(1)


def adele_email(crm, **kw):
    return filed_email(crm, user_of(crm, CONTOSO, ADELE_OID, ADELE), **kw)


def test_the_email_page_lists_attachments_with_their_state_and_shows_inline_images(browser, crm):
    email = adele_email(crm, body_html=LOGO_BODY)
    quote_pdf = attach(crm, email, "Quote 42.pdf", b"%PDF-1.7 " * 200)
    logo = attach(
        crm, email, "image001.png", PNG, content_type="image/png", inline=True, content_id="<image001.png@01DA2B3C>"
    )
    attach(crm, email, "site survey.mov", None, content_type="video/quicktime", size=400 * 1024 * 1024)
    attach(
        crm,
        email,
        "contract.docx",
        None,
        kind="reference",
        link_url="https://contoso.sharepoint.com/c.docx",
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    waiting = attach(crm, email, "order.xlsx", None, content_type="application/vnd.ms-excel", size=5000)
    assert waiting.state == "pending"

    html = browser().get(f"/crm/emails/{email.id}").get_data(as_text=True)
    body = body_of(html)
    # The stored logo loads from our URL; an unknown cid and the tracker stay blocked.
    assert f'<img src="/crm/attachments/{logo.id}/inline" alt="logo">' in body
    assert 'data-src="cid:unknown@x"' in body and 'data-src="https://tracker.example/p.gif"' in body
    assert not re.search(r'(?<!data-)src="https://tracker', body)

    listed = section(html, "attachments")
    assert "image001.png" not in listed  # shown in place, not listed again
    assert "Quote 42.pdf" in listed and "application/pdf" in listed and "1.8 KB" in listed
    assert f'href="/crm/attachments/{quote_pdf.id}"' in listed
    assert "site survey.mov" in listed and "too large to store" in listed and "400 MB" in listed
    assert f'href="{WEB_LINK.replace("&", "&amp;")}"' in listed and "Open the message in Outlook" in listed
    assert 'href="https://contoso.sharepoint.com/c.docx"' in listed
    assert "order.xlsx" in listed and "still being fetched" in listed
    assert "📕" in listed and "🔗" in listed


def test_a_download_is_streamed_with_headers_that_never_let_it_render(browser, crm):
    email = adele_email(crm)
    page = attach(
        crm, email, 'Nabídka "č. 42".html', b"<script>alert(document.cookie)</script>", content_type="text/html"
    )
    svg = attach(
        crm,
        email,
        "logo.svg",
        b'<svg onload="alert(1)"/>',
        content_type="image/svg+xml",
        inline=True,
        content_id="logo",
    )
    adele = browser()
    for row in (page, svg):
        for path in (f"/crm/attachments/{row.id}", f"/crm/attachments/{row.id}/inline"):
            response = adele.get(path)
            assert response.status_code == 200, path
            assert response.is_streamed
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert response.headers["Content-Disposition"].startswith("attachment;")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    response = adele.get(f"/crm/attachments/{page.id}")
    assert response.data == b"<script>alert(document.cookie)</script>"
    assert response.headers["Content-Length"] == str(len(response.data))
    disposition = response.headers["Content-Disposition"]
    assert 'filename="Nabidka _c. 42_.html"' in disposition
    assert "filename*=UTF-8''" + quote('Nabídka "č. 42".html', safe="") in disposition


def test_only_png_jpeg_gif_and_webp_show_in_place(browser, crm):
    email = adele_email(crm)
    png = attach(crm, email, "logo.png", PNG, content_type="image/png", inline=True, content_id="logo")
    response = browser().get(f"/crm/attachments/{png.id}/inline")
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.data == PNG
    # The same image through the download link is a download.
    assert browser().get(f"/crm/attachments/{png.id}").headers["Content-Disposition"].startswith("attachment;")


def test_an_attached_email_is_shown_nested_with_its_own_attachments(browser, crm):
    email = adele_email(crm, subject="FW: price list")
    item = attach(crm, email, "Northwind price list", attached_email_mime(), content_type="message/rfc822", kind="item")
    adele = browser()
    listed = section(adele.get(f"/crm/emails/{email.id}").get_data(as_text=True), "attachments")
    assert f'href="/crm/attachments/{item.id}/message"' in listed and "✉" in listed

    response = adele.get(f"/crm/attachments/{item.id}/message")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Fwd: Northwind price list" in html and "lynne.robbins@northwind.example" in html
    body = body_of(html)
    assert "<script" not in body.lower() and "Prices attached." in body
    assert 'data-src="https://tracker.example/p.gif"' in body
    logo_url = re.search(rf'<img src="(/crm/attachments/{item.id}/parts/\d+\?inline=1)"', body).group(1)
    pdf_url = re.search(r'href="([^"]+)" download>[^<]*</a></span></li>', section(html, "attachments")).group(1)
    assert "prices.pdf" in section(html, "attachments") and "logo.png" not in section(html, "attachments")

    logo = adele.get(logo_url)
    assert (logo.headers["Content-Type"], logo.data) == ("image/png", PNG)
    assert logo.headers["Content-Disposition"].startswith("inline;")
    pdf = adele.get(pdf_url)
    assert pdf.data == b"%PDF-1.7 price list"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert pdf.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_another_tenant_gets_404_for_every_attachment_url(browser, crm):
    email = adele_email(crm)
    row = attach(crm, email, "Northwind.pdf")
    item = attach(crm, email, "fwd", attached_email_mime(), content_type="message/rfc822", kind="item")
    user_of(crm, FABRIKAM, PAT_OID, PAT)
    pat = browser(PAT)
    for path in (
        f"/crm/attachments/{row.id}",
        f"/crm/attachments/{row.id}/inline",
        f"/crm/attachments/{item.id}/message",
        f"/crm/attachments/{item.id}/parts/3",
    ):
        response = pat.get(path)
        assert response.status_code == 404, path
        assert b"PDF" not in response.data and b"Northwind" not in response.data
    assert browser().get(f"/crm/attachments/{row.id}").status_code == 200


def test_the_files_tab_lists_each_file_once_newest_first_with_its_email(browser, crm):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind")
    links = [("contact", lynne.id, "address"), ("company", lynne.company_id, "company")]
    old = filed_email(crm, adele, subject="Old quote", links=links, minutes=10)
    new = filed_email(crm, adele, subject="New quote", links=links, minutes=20)
    other = filed_email(crm, adele, subject="Not hers", minutes=30)
    attach(crm, old, "quote.pdf", b"%PDF quote v1")
    attach(crm, old, "terms.pdf", b"%PDF terms")
    attach(crm, new, "quote (1).pdf", b"%PDF quote v1")  # the same file again
    attach(crm, new, "logo.png", PNG, content_type="image/png", inline=True, content_id="logo")
    attach(crm, other, "secret.pdf", b"%PDF other")

    person = browser()
    contact_page = person.get(f"/crm/contacts/{lynne.id}").get_data(as_text=True)
    assert f'href="/crm/contacts/{lynne.id}/files"' in contact_page
    for path in (f"/crm/contacts/{lynne.id}/files", f"/crm/companies/{lynne.company_id}/files"):
        html = person.get(path).get_data(as_text=True)
        names = re.findall(r'aria-hidden="true">[^<]*</span> ([^<]+)</span>', html)
        assert names == ["quote (1).pdf", "terms.pdf"], path
        assert "New quote" in html and "Old quote" in html and "Not hers" not in html


def test_the_files_tab_is_keyset_paginated(browser, crm):
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example")
    for n in range(53):
        email = filed_email(
            crm, adele, subject=f"Drawing {n}", links=[("contact", lynne.id, "address")], minutes=100 + n
        )
        attach(crm, email, f"drawing-{n:02}.pdf", f"%PDF drawing {n}".encode(), commit=False)
    crm.commit()
    person = browser()
    first = person.get(f"/crm/contacts/{lynne.id}/files").get_data(as_text=True)
    after = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = person.get(after).get_data(as_text=True)
    pattern = r"drawing-(\d\d)\.pdf"
    seen = [int(n) for n in re.findall(pattern, first)] + [int(n) for n in re.findall(pattern, second)]
    assert seen == list(range(52, -1, -1))
    assert crm.get(Contact, lynne.id) is not None
