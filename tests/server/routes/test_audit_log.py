"""What the pane's API leaves in the audit log: one entry per change, with the right
before and after, the caller and their address; a request that changes nothing
leaves none."""

from __future__ import annotations

from server.crm import audit
from server.crm.models import SyncJob, User
from tests.support.audit_entries import entries_of, only_entry
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO, MEGAN

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"


def me(crm, upn: str) -> User:
    crm.expire_all()
    return crm.query(User).filter(User.upn == upn).one()


def filed_email(pane, emulator, upn=ADELE) -> int:
    message = find_message(emulator, upn, NORTHWIND_ORDER)
    answer = pane(upn).post(f"/messages/{message['id']}/sync")
    assert answer.status_code == 200, answer.json
    return answer.json["crm_email_id"]


def test_changing_my_own_settings_records_what_changed_and_nothing_when_unchanged(pane, crm):
    adele = pane(ADELE)
    assert adele.put("/settings/me", json={"never_sync": ["bank.example"]}).status_code == 200

    entry = only_entry(crm, CONTOSO, audit.SETTINGS_OWN_CHANGED)
    user = me(crm, ADELE)
    assert (entry.actor_user_id, entry.actor_name, entry.actor_upn) == (user.id, "Adele Vance", ADELE)
    assert (entry.target_type, entry.target_id) == ("user", str(user.id))
    assert (entry.before, entry.after) == ({"never_sync": None}, {"never_sync": ["bank.example"]})
    assert entry.client_address == "127.0.0.1"

    assert adele.put("/settings/me", json={"never_sync": ["bank.example"]}).status_code == 200
    assert len(entries_of(crm, CONTOSO, audit.SETTINGS_OWN_CHANGED)) == 1


def test_a_conversation_link_is_recorded_when_made_and_when_removed(pane, emulator, crm):
    email_id = filed_email(pane, emulator)
    adele = pane(ADELE)
    case = adele.post("/cases", json={"title": "Northwind renewal"}).json
    linked = adele.post(f"/emails/{email_id}/conversation-links", json={"case_id": case["id"]})
    assert linked.status_code == 200, linked.json
    link = linked.json["links"][0]

    created = only_entry(crm, CONTOSO, audit.CONVERSATION_LINK_CREATED)
    user = me(crm, ADELE)
    assert (created.actor_user_id, created.target_type, created.target_id) == (
        user.id,
        "conversation_link",
        str(link["id"]),
    )
    assert created.before is None
    assert created.after == {
        "conversation_id": linked.json["conversation_id"],
        "target_type": "case",
        "target_id": case["id"],
        "created_by_id": user.id,
    }
    # Linking the same conversation again changes nothing and records nothing.
    assert adele.post(f"/emails/{email_id}/conversation-links", json={"case_id": case["id"]}).status_code == 200
    assert len(entries_of(crm, CONTOSO, audit.CONVERSATION_LINK_CREATED)) == 1

    assert adele.delete(f"/conversation-links/{link['id']}").status_code == 204
    deleted = only_entry(crm, CONTOSO, audit.CONVERSATION_LINK_DELETED)
    assert (deleted.actor_user_id, deleted.target_id) == (user.id, str(link["id"]))
    assert (deleted.before, deleted.after) == (created.after, None)
    assert adele.delete(f"/conversation-links/{link['id']}").status_code == 404
    assert len(entries_of(crm, CONTOSO, audit.CONVERSATION_LINK_DELETED)) == 1


def test_a_sharing_rule_is_recorded_when_added_and_when_removed_and_a_refusal_is_not(pane, crm):
    adele, megan = pane(ADELE), pane(MEGAN)
    case = adele.post("/cases", json={"title": "Northwind account"}).json
    made = adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": "Lynne.Robbins@Northwind.example"})
    assert made.status_code == 201
    rule_id = made.json["rule"]["id"]
    again = adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": "lynne.robbins@northwind.example"})
    assert again.json["created"] is False

    created = only_entry(crm, CONTOSO, audit.SHARING_RULE_CREATED)
    adele_id = me(crm, ADELE).id
    rule = {"case_id": case["id"], "address": "lynne.robbins@northwind.example", "user_id": adele_id}
    assert (created.actor_user_id, created.target_type, created.target_id) == (adele_id, "sharing_rule", str(rule_id))
    assert (created.before, created.after) == (None, rule)

    assert megan.delete(f"/cases/{case['id']}/sharing-rules/{rule_id}").status_code == 403
    assert entries_of(crm, CONTOSO, audit.SHARING_RULE_DELETED) == []
    assert adele.delete(f"/cases/{case['id']}/sharing-rules/{rule_id}").status_code == 204
    deleted = only_entry(crm, CONTOSO, audit.SHARING_RULE_DELETED)
    assert (deleted.actor_user_id, deleted.before, deleted.after) == (adele_id, rule, None)


def test_a_bulk_sync_asked_for_from_the_pane_is_recorded_with_its_job(pane, crm):
    answer = pane(ADELE).post("/bulk-sync", json={"folder": "inbox", "since": "2026-01-01"})
    assert answer.status_code == 202, answer.json
    job_id = answer.json["job_id"]

    entry = only_entry(crm, CONTOSO, audit.BULK_SYNC_STARTED)
    assert crm.get(SyncJob, job_id).kind == "bulk"
    assert (entry.actor_user_id, entry.target_type, entry.target_id) == (me(crm, ADELE).id, "job", str(job_id))
    assert entry.after == {"folder": "inbox", "since": "2026-01-01T00:00:00Z", "mailbox": ADELE}


def test_an_admins_restriction_through_the_api_is_recorded_with_its_before_and_after(pane, crm):
    pane(MEGAN).get("/settings/me")  # Megan has used the add-in
    megan = me(crm, MEGAN)
    adele = pane(ADELE)
    assert adele.put(f"/settings/users/{megan.id}", json={"auto_sync": "off"}).status_code == 200

    entry = only_entry(crm, CONTOSO, audit.SETTINGS_USER_OVERRIDE_CHANGED)
    assert (entry.actor_upn, entry.target_type, entry.target_id) == (ADELE, "user", str(megan.id))
    assert (entry.before, entry.after) == ({"auto_sync": None}, {"auto_sync": "off"})

    assert adele.put(f"/settings/users/{megan.id}", json={"auto_sync": "off"}).status_code == 200
    assert len(entries_of(crm, CONTOSO, audit.SETTINGS_USER_OVERRIDE_CHANGED)) == 1
