"""Filing from compose: a message sent with the "Sync to CRM" category and the compose
pane's custom properties (crm_case_id, crm_task_id) is filed when its copy appears in
Sent Items, linked to that case and task, its category replaced; under the default
settings, end to end through the emulator's Send, its notifications and the jobs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select

from server.config import SETTINGS
from server.crm.models import ConversationLink, Email, EmailLink
from server.crm.tenants import get_or_create_tenant
from server.db import session_scope
from server.graph import properties as props
from server.sync.delta import schedule_delta_round
from server.sync.message_changes import enqueue_message
from tests.server.sync.test_categories_and_marks import emails
from tests.server.sync.test_defaults import opened
from tests.server.sync.test_webhooks import message_jobs_done
from tests.support.arrange_records import add_case, add_task
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, MEGAN
from tests.support.waiting import wait_for, wait_idle

ADDIN_ID = "2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52"  # addin/manifest.xml <Id>
CUSTOM = props.custom_properties_id(ADDIN_ID)


def composed(subject: str, *, categories=("Sync to CRM",), custom: dict | None = None, to=("jan@fabrikam.example",)):
    """A message as the compose pane leaves it at Send."""
    message = {
        "subject": subject,
        "toRecipients": [{"emailAddress": {"address": a, "name": ""}} for a in to],
        "body": {"contentType": "html", "content": f"<p>{subject}</p>"},
        "categories": list(categories),
    }
    if custom is not None:
        message["singleValueExtendedProperties"] = [{"id": CUSTOM, "value": json.dumps(custom)}]
    return message


def links_of(app, subject: str) -> set[tuple[str, int, str]]:
    """The links of the filed email with this subject (none when it is not filed)."""
    with session_scope(app) as session:
        email = session.scalar(select(Email).where(Email.subject == subject))
        if email is None:
            return set()
        return {
            (link.target_type, link.target_id, link.source)
            for link in session.scalars(select(EmailLink).where(EmailLink.email_id == email.id))
        }


def sent_copy(emulator, subject: str) -> dict:
    return find_message(emulator, ADELE, subject, folder="sentitems")


def filed(emulator, message_id: str) -> bool:
    return outlook_state(emulator, ADELE, message_id)["state"] == "synced"


def test_sent_with_category_and_properties_is_filed_linked_and_recategorised(pane, app, emulator, crm, adele):
    case = add_case(crm, CONTOSO, "Offer for Fabrikam")
    task = add_task(crm, CONTOSO, "Follow up the offer", case)
    opened(pane, app, emulator)

    emulator.send(ADELE, composed("Compose: the offer", custom={"crm_case_id": case.id, "crm_task_id": task.id}))

    sent = sent_copy(emulator, "Compose: the offer")
    wait_for(lambda: filed(emulator, sent["id"]), what="the sent copy filed")
    assert outlook_state(emulator, ADELE, sent["id"])["categories"] == ["Synced to CRM"]
    assert {("case", case.id, "manual"), ("task", task.id, "manual")} <= links_of(app, sent["subject"])
    assert emails(app) == 1


def test_sent_without_the_category_is_not_filed_under_the_defaults(pane, app, emulator, crm, adele):
    case = add_case(crm, CONTOSO, "Offer for Fabrikam")
    opened(pane, app, emulator)

    emulator.send(ADELE, composed("Compose: not filed", categories=(), custom={"crm_case_id": case.id}))

    wait_for(lambda: message_jobs_done(app), what="the notification's job")
    wait_idle(app)
    assert schedule_delta_round(app) >= 1
    wait_idle(app)
    sent = sent_copy(emulator, "Compose: not filed")
    assert outlook_state(emulator, ADELE, sent["id"])["state"] is None
    assert emails(app) == 0


def test_unknown_and_malformed_ids_are_left_out_and_the_email_still_filed(pane, app, emulator, crm, adele):
    get_or_create_tenant(crm, FABRIKAM)
    crm.commit()
    elsewhere = add_case(crm, FABRIKAM, "Another tenant's case")
    opened(pane, app, emulator)

    emulator.send(ADELE, composed("Compose: foreign case", custom={"crm_case_id": elsewhere.id, "crm_task_id": "x"}))
    emulator.send(ADELE, composed("Compose: missing task", custom={"crm_case_id": None, "crm_task_id": 987654321}))

    for subject in ("Compose: foreign case", "Compose: missing task"):
        sent = sent_copy(emulator, subject)
        wait_for(lambda sent=sent: filed(emulator, sent["id"]), what=f"{subject} filed")
        assert not {link for link in links_of(app, sent["subject"]) if link[0] in ("case", "task")}
        assert outlook_state(emulator, ADELE, sent["id"])["categories"] == ["Synced to CRM"]
    assert emails(app) == 2


def test_a_notification_delivered_again_files_once(pane, app, emulator, crm, adele):
    case = add_case(crm, CONTOSO, "Offer for Fabrikam")
    opened(pane, app, emulator)

    emulator.send(ADELE, composed("Compose: twice", custom={"crm_case_id": case.id}))
    sent = sent_copy(emulator, "Compose: twice")
    wait_for(lambda: filed(emulator, sent["id"]), what="filed")
    wait_idle(app)
    before = links_of(app, sent["subject"])

    for _ in range(2):
        enqueue_message(app, CONTOSO, adele, sent["id"])
        wait_idle(app)

    assert emails(app) == 1
    assert links_of(app, sent["subject"]) == before and ("case", case.id, "manual") in before
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(EmailLink).where(EmailLink.target_type == "case")) == 1


def test_sent_while_only_the_delta_round_runs_is_filed_and_linked(app, emulator, crm, adele):
    # No pane open, no subscription: the delta round reads the sent copy (in $batch) with
    # the custom properties in the same request.
    case = add_case(crm, CONTOSO, "Offer for Fabrikam")
    assert schedule_delta_round(app) >= 1
    wait_idle(app)

    emulator.send(ADELE, composed("Compose: by delta", custom={"crm_case_id": case.id}))
    emulator.clear_requests()
    assert schedule_delta_round(app) >= 1
    wait_idle(app)

    sent = sent_copy(emulator, "Compose: by delta")
    assert filed(emulator, sent["id"])
    assert ("case", case.id, "manual") in links_of(app, sent["subject"])
    reads = [r for r in emulator.requests(method="GET") if r["in_batch"] and "messages/" in r["path"]]
    assert reads and all("cecp-" + ADDIN_ID in r["query"] for r in reads)  # one read carries the properties


def test_a_reply_in_a_linked_conversation_is_filed_as_before(pane, app, emulator, crm, adele):
    case = add_case(crm, CONTOSO, "Order 1234")
    opened(pane, app, emulator)
    first = emulator.send(ADELE, composed("Compose: the thread", categories=()))
    conversation = first["sent"]["conversationId"]
    crm.add(
        ConversationLink(
            tenant_id=CONTOSO, conversation_id=conversation, target_type="case", target_id=case.id, created_by_id=adele
        )
    )
    crm.commit()

    emulator.send(ADELE, {**composed("RE: Compose: the thread", categories=()), "conversationId": conversation})

    reply = sent_copy(emulator, "RE: Compose: the thread")
    wait_for(lambda: filed(emulator, reply["id"]), what="the reply filed on the linked conversation")
    assert ("case", case.id, "conversation") in links_of(app, "RE: Compose: the thread")


def test_tenant_recipients_get_the_message_without_the_senders_category_or_properties(pane, app, emulator, adele):
    answer = emulator.send(ADELE, composed("Compose: to a colleague", custom={"crm_case_id": 1}, to=(MEGAN,)))

    assert [d["upn"] for d in answer["delivered"]] == [MEGAN]
    received = find_message(emulator, MEGAN, "Compose: to a colleague", folder="inbox")
    assert received["categories"] == []
    assert answer["sent"]["categories"] == ["Sync to CRM"]
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Email)) == 0


def test_the_addin_id_setting_defaults_to_the_manifests_id():
    manifest = (Path(__file__).resolve().parents[3] / "addin" / "manifest.xml").read_text(encoding="utf-8")
    first_id = re.search(r"<Id>([^<]+)</Id>", manifest).group(1)
    assert first_id == ADDIN_ID == next(s.default for s in SETTINGS if s.name == "ADDIN_ID")
