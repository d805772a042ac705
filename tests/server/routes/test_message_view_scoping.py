"""The message view names a CRM email only of the caller's own tenant, however it finds
the email: the user's mailbox item, or the email id our extended property on the message
carries (which anyone who can write the message can set). The view reads that id with a
query of the id alone, not the email row: this pins that it still checks the tenant."""

from __future__ import annotations

from server.graph import properties as props
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, MEGAN, PAT


def claim_email(emulator, upn: str, email_id: int) -> str:
    """A new message in `upn`'s inbox whose CrmEmailId property names `email_id`."""
    delivered = emulator.deliver(
        upn,
        {
            "subject": f"Claims CRM email {email_id}",
            "from": {"emailAddress": {"name": "Someone", "address": "someone@example.org"}},
            "toRecipients": [{"emailAddress": {"address": upn}}],
            "body": {"contentType": "text", "content": "hello"},
        },
    )
    message_id = delivered["id"]
    answer = emulator.graph(
        "PATCH",
        f"/me/messages/{message_id}",
        emulator.graph_token(upn),
        json={"singleValueExtendedProperties": [{"id": props.EMAIL_ID, "value": str(email_id)}]},
    )
    assert answer.status_code == 200, answer.text
    return message_id


def test_the_email_id_on_a_message_is_shown_only_within_the_callers_tenant(pane, emulator):
    filed = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    email_id = pane(ADELE).post(f"/messages/{filed['id']}/sync").json["crm_email_id"]
    assert email_id

    # A colleague of the same tenant whose copy carries the id sees the email...
    colleague = pane(MEGAN).get(f"/messages/{claim_email(emulator, MEGAN, email_id)}").json
    assert colleague["crm_email_id"] == email_id and colleague["crm_url"]

    # ...a user of another tenant whose message claims it sees nothing of it.
    foreign = pane(PAT).get(f"/messages/{claim_email(emulator, PAT, email_id)}").json
    assert foreign["crm_email_id"] is None and foreign["crm_url"] is None and foreign["attachments"] == []


def test_a_sync_answers_with_the_email_it_filed(pane, emulator):
    message = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    synced = pane(ADELE).post(f"/messages/{message['id']}/sync").json
    opened = pane(ADELE).get(f"/messages/{message['id']}").json
    assert synced["crm_email_id"] and synced["crm_email_id"] == opened["crm_email_id"]
    assert synced["crm_url"] == opened["crm_url"] and synced["state"] == opened["state"] == "synced"
