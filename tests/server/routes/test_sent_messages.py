"""GET /api/v1/sent-messages: the Sent Items copy of a message the send handler could not
file (the CRM was unreachable), found from its subject, recipients and the time Send was
pressed, so the pane's "File now" files it through the sync endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from tests.support.identities import ADELE, PAT

TO = "jana.novak@newcustomer.example"


def send(emulator, subject: str, *to: str) -> dict:
    message = {
        "subject": subject,
        "body": {"contentType": "text", "content": "Hello"},
        "toRecipients": [{"emailAddress": {"address": a}} for a in to],
    }
    return emulator.send(ADELE, message)["sent"]


def find(user, **query):
    return user.get("/sent-messages?" + urlencode(query))


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def test_finds_the_sent_copy_and_file_now_files_it(pane):
    pressed = now_iso()
    sent = send(pane().emulator, "Offer, sent while the CRM was down", TO)
    send(pane().emulator, "Something else", TO)
    user = pane()

    response = find(user, subject="Offer, sent while the CRM was down", sent_at=pressed, to=TO)

    assert response.status_code == 200, response.json
    [found] = response.json["messages"]
    assert (found["subject"], found["state"], found["crm_email_id"]) == (sent["subject"], "none", None)
    # The backend's ids are immutable ids: the same message as the one sent.
    assert user.get(f"/messages/{found['id']}").json["internet_message_id"] == sent["internetMessageId"]
    filed = user.post(f"/messages/{found['id']}/sync")
    assert filed.status_code == 200, filed.json
    again = find(user, subject="Offer, sent while the CRM was down", sent_at=pressed, to=TO).json["messages"]
    assert again[0]["state"] == "synced" and again[0]["crm_email_id"] == filed.json["crm_email_id"]


def test_recipients_and_time_narrow_the_search(pane):
    pressed = now_iso()
    send(pane().emulator, "Same subject", "someone@else.example")
    user = pane()
    assert find(user, subject="Same subject", sent_at=pressed, to=TO).json["messages"] == []
    assert len(find(user, subject="Same subject", sent_at=pressed).json["messages"]) == 1
    # Sent long before the handler ran: not this one.
    assert find(user, subject="Same subject", sent_at=now_iso(timedelta(hours=1))).json["messages"] == []


def test_only_the_callers_own_sent_items(pane):
    pressed = now_iso()
    send(pane().emulator, "Adele's own", TO)
    assert find(pane(PAT), subject="Adele's own", sent_at=pressed).json["messages"] == []


def test_malformed_queries_get_4xx_with_the_error_shape(pane, client):
    user = pane()
    cases = [
        find(user, subject="x"),  # no time
        find(user, subject="x", sent_at="yesterday"),
        find(user, subject="x", sent_at="2026-12-05T10:00:00"),  # no zone
        find(user, subject="x", sent_at="0205-09-13T00:11:14+07:37"),  # no mail then
        find(user, subject="x", sent_at=now_iso(), to=",".join(["a@b.example"] * 21)),
        client.get("/api/v1/sent-messages?" + urlencode({"subject": "x", "sent_at": now_iso()})),  # no token
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
        error = response.json["error"]
        assert error["code"] and error["message"]


def test_the_openapi_document_describes_the_search(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/sent-messages"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in operation["parameters"]} >= {"subject", "sent_at", "to"}
