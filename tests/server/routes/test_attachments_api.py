"""The API's attachments: in the message view, listed per email, and one file's
content streamed with download headers; another tenant's ids answer 404, and the
OpenAPI document describes all of it."""

from __future__ import annotations

from urllib.parse import quote

from server.crm.models import Email
from tests.support.arrange_attachments import PNG, WEB_LINK, attach
from tests.support.arrange_contacts import seed_contoso
from tests.support.arrange_records import filed_email, user_of
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, PAT

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"
KEYS = {"id", "name", "content_type", "size", "inline", "state", "url"}


def test_the_message_view_lists_the_filed_emails_attachments(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, NORTHWIND_ORDER)
    adele = pane()
    before = adele.get(f"/messages/{message['id']}").json
    assert before["attachments"] == []
    filed = adele.post(f"/messages/{message['id']}/sync").json
    email = crm.get(Email, filed["crm_email_id"])
    stored = attach(crm, email, "Objednávka 7.pdf", b"%PDF order")
    logo = attach(crm, email, "logo.png", PNG, content_type="image/png", inline=True, content_id="logo")
    big = attach(crm, email, "survey.mov", None, content_type="video/quicktime", size=300 * 1024 * 1024)
    waiting = attach(crm, email, "order.xlsx", None, content_type="application/vnd.ms-excel", size=10)
    link = attach(crm, email, "plan.docx", None, kind="reference", link_url="https://contoso.sharepoint.com/p")

    view = adele.get(f"/messages/{message['id']}").json
    assert [set(a) for a in view["attachments"]] == [KEYS] * 5
    by_id = {a["id"]: a for a in view["attachments"]}
    assert by_id[stored.id] == {
        "id": stored.id,
        "name": "Objednávka 7.pdf",
        "content_type": "application/pdf",
        "size": 10,
        "inline": False,
        "state": "stored",
        "url": f"http://localhost:5000/crm/attachments/{stored.id}",
    }
    assert by_id[logo.id]["inline"] is True
    assert (by_id[big.id]["state"], by_id[big.id]["url"]) == ("too_large", WEB_LINK)
    assert (by_id[waiting.id]["state"], by_id[waiting.id]["url"]) == ("pending", None)
    assert (by_id[link.id]["state"], by_id[link.id]["url"]) == ("link", "https://contoso.sharepoint.com/p")

    listed = adele.get(f"/emails/{email.id}/attachments")
    assert listed.status_code == 200
    assert listed.json == view["attachments"]


def test_content_is_streamed_as_a_download_that_never_renders(pane, crm, clean_state):
    email = filed_email(crm, user_of(crm, CONTOSO, ADELE_OID, ADELE))
    page = attach(crm, email, "invoice ✓.html", b"<script>alert(1)</script>", content_type="text/html")
    response = pane().get(f"/attachments/{page.id}/content")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.data == b"<script>alert(1)</script>"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"invoice .html\"; filename*=UTF-8''" + quote("invoice ✓.html", safe="")
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_content_that_is_not_stored_is_not_found(pane, crm, clean_state):
    email = filed_email(crm, user_of(crm, CONTOSO, ADELE_OID, ADELE))
    waiting = attach(crm, email, "order.xlsx", None, size=10)
    response = pane().get(f"/attachments/{waiting.id}/content")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "attachment_not_found"


def test_another_tenant_gets_404(pane, crm, clean_state):
    email = filed_email(crm, user_of(crm, CONTOSO, ADELE_OID, ADELE))
    row = attach(crm, email, "Northwind.pdf", b"%PDF secret")
    pat = pane(PAT)
    for path in (f"/attachments/{row.id}/content", f"/emails/{email.id}/attachments"):
        response = pat.get(path)
        assert response.status_code == 404, path
        assert b"secret" not in response.data and b"Northwind" not in response.data
    assert pane().get(f"/attachments/{row.id}/content").data == b"%PDF secret"


def test_the_openapi_document_describes_the_attachments(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    listing = spec["paths"]["/api/v1/emails/{email_id}/attachments"]["get"]
    assert listing["security"] == [{"bearerAuth": []}] and "404" in listing["responses"]
    content = spec["paths"]["/api/v1/attachments/{attachment_id}/content"]["get"]
    assert "application/octet-stream" in content["responses"]["200"]["content"]
    assert "404" in content["responses"]
    schema = spec["components"]["schemas"]["Attachment"]
    assert set(schema["properties"]) == KEYS
    assert schema["properties"]["state"]["enum"] == ["stored", "too_large", "pending", "link"]
    message = spec["components"]["schemas"]["Message"]["properties"]["attachments"]
    assert message["items"]["$ref"].endswith("/Attachment")
