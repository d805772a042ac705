"""Opening the pane keeps the user's mailbox time zone (for the CRM pages' times),
read with their own token at most once a day per process."""

from __future__ import annotations

from server.crm.models import User
from tests.support.emulated_messages import find_message
from tests.support.identities import CONTOSO, MEGAN

MEGAN_OID = "3d9a7e1c-5b4f-4c82-b6a0-8e2f1d7c9b35"
SUBJECT = "Hard case: same message in two mailboxes"


def test_pane_open_stores_the_mailbox_time_zone_once(pane, emulator, crm, clean_state):
    message = find_message(emulator, MEGAN, SUBJECT)
    megan = pane(MEGAN)
    emulator.clear_requests()
    assert megan.get(f"/messages/{message['id']}").status_code == 200
    user = User.by_oid(crm, CONTOSO, MEGAN_OID)
    assert user.time_zone == "Europe/Budapest"  # "Central Europe Standard Time"
    assert len(emulator.requests(path=r"/me/mailboxSettings$", method="GET")) == 1

    assert megan.get(f"/messages/{message['id']}").status_code == 200
    assert len(emulator.requests(path=r"/me/mailboxSettings$", method="GET")) == 1  # not read again today


def test_pane_open_works_when_the_zone_cannot_be_read(pane, emulator, crm, clean_state):
    message = find_message(emulator, MEGAN, SUBJECT)
    emulator.fault(path=r"/mailboxSettings", kind="429", retry_after=120, count=5)  # more than the budget
    assert pane(MEGAN).get(f"/messages/{message['id']}").status_code == 200
    assert User.by_oid(crm, CONTOSO, MEGAN_OID).time_zone is None
