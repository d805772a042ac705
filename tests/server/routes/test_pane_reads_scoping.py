"""What the pane's message view reads as plain values in few statements stays within the
caller's tenant and up to date: the mailbox item read together with its email's id, the
email's attachments, the conversation's colleague links, and what a sync answers
without reading back (a new email of a message that lists no attachments has none; one
filed before may well have some)."""

from __future__ import annotations

import base64

from sqlalchemy import select, update

from server.crm.attachment_queries import attachment_values_of, attachments_and_links
from server.crm.models import ConversationLink, Email, MailboxItem
from tests.support.arrange_attachments import attach
from tests.support.arrange_records import add_case, user_of
from tests.support.emulated_messages import find_message, new_message
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, MEGAN, PAT, PAT_OID

LYNNE = "lynne.robbins@northwind.example"
THREAD = "AAQkADBiNWU4ZjRhLXBhbmUtcmVhZHMtc2NvcGluZwAEAA=="


def test_an_item_naming_another_tenants_email_shows_nothing_of_it(pane, emulator, crm):
    # Pat (Fabrikam) files a message with an attachment.
    emulator.deliver(
        PAT,
        new_message(
            LYNNE,
            "Fabrikam: drawings",
            to=[PAT],
            hasAttachments=True,
            attachments=[
                {
                    "name": "drawings.pdf",
                    "contentType": "application/pdf",
                    "contentBytes": base64.b64encode(b"%PDF").decode(),
                }
            ],
        ),
    )
    theirs = pane(PAT).post(f"/messages/{find_message(emulator, PAT, 'Fabrikam: drawings')['id']}/sync").json
    assert theirs["crm_email_id"] and [a["name"] for a in theirs["attachments"]] == ["drawings.pdf"]

    # Adele's item of a message of hers is made to name Pat's email (as a corrupt row would).
    mine = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    filed = pane(ADELE).post(f"/messages/{mine['id']}/sync").json["crm_email_id"]
    adele = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    moved = crm.execute(
        update(MailboxItem)
        .where(MailboxItem.user_id == adele.id, MailboxItem.email_id == filed)
        .values(email_id=theirs["crm_email_id"])
    )
    assert moved.rowcount == 1
    crm.commit()

    view = pane(ADELE).get(f"/messages/{mine['id']}").json
    assert view["state"] == "synced"
    assert view["crm_email_id"] is None and view["crm_url"] is None and view["attachments"] == []
    # The attachments' read is scoped by itself too.
    assert attachment_values_of(crm, CONTOSO, theirs["crm_email_id"]) == []
    assert [r.name for r in attachment_values_of(crm, FABRIKAM, theirs["crm_email_id"])] == ["drawings.pdf"]


def test_a_sync_of_a_copy_filed_before_lists_the_emails_attachments(pane, emulator, crm):
    subject = "Hard case: same message in two mailboxes"
    first = pane(ADELE).post(f"/messages/{find_message(emulator, ADELE, subject)['id']}/sync").json
    email = crm.get(Email, first["crm_email_id"])
    kept = attach(crm, email, "agreement.pdf", b"%PDF agreement")

    # Megan's copy lists no attachment, but the email it files into has one.
    second = pane(MEGAN).post(f"/messages/{find_message(emulator, MEGAN, subject)['id']}/sync").json
    assert second["crm_email_id"] == first["crm_email_id"]
    assert [(a["id"], a["name"]) for a in second["attachments"]] == [(kept.id, "agreement.pdf")]


def test_another_tenants_link_of_the_same_conversation_is_never_suggested(pane, emulator, crm):
    pat = user_of(crm, FABRIKAM, PAT_OID, PAT)
    case = add_case(crm, FABRIKAM, "Fabrikam's own case", pat)
    crm.add(
        ConversationLink(
            tenant_id=FABRIKAM, conversation_id=THREAD, target_type="case", target_id=case.id, created_by_id=pat.id
        )
    )
    crm.commit()
    emulator.deliver(ADELE, new_message(LYNNE, "Thread: shared id", to=[ADELE], conversationId=THREAD))
    message_id = find_message(emulator, ADELE, "Thread: shared id")["id"]
    view = pane(ADELE).get(f"/messages/{message_id}").json
    assert view["conversation_id"] == THREAD and view["colleague_links"] == []
    # Filed, the view reads the email's attachments and the conversation's links together.
    email_id = pane(ADELE).post(f"/messages/{message_id}/sync").json["crm_email_id"]
    attach(crm, crm.get(Email, email_id), "minutes.pdf", b"%PDF minutes")
    view = pane(ADELE).get(f"/messages/{message_id}").json
    assert [a["name"] for a in view["attachments"]] == ["minutes.pdf"] and view["colleague_links"] == []
    assert attachments_and_links(crm, CONTOSO, email_id, THREAD)[1] == []
    assert attachments_and_links(crm, FABRIKAM, email_id, THREAD)[0] == []
    assert [r.id for r in attachments_and_links(crm, FABRIKAM, email_id, THREAD)[1]] == [
        link.id for link in crm.scalars(select(ConversationLink).where(ConversationLink.tenant_id == FABRIKAM))
    ]
