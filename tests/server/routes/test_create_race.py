"""Create Outlook contact under concurrency: Graph has no unique key, so two calls
for one user and address (pane and ribbon, two windows, a retry after a timeout)
must still make one Outlook contact. The real emulator slows the contact lookup so
both calls find none before either creates; the reservation row decides."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from sqlalchemy import select

from server.crm.models import OutlookContactReservation
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from tests.support.emulated_contacts import contacts_with
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, MEGAN, PAT

LOOKUP = r"/v1\.0/me/contacts$"  # the lookup by address (inside a $batch)
BY_ID = r"/v1\.0/me/contacts/[^/]+$"  # one contact read by id


def reservations(crm, address: str | None = None) -> list[OutlookContactReservation]:
    crm.expire_all()
    query = select(OutlookContactReservation).order_by(OutlookContactReservation.id)
    if address is not None:
        query = query.where(OutlookContactReservation.address == address)
    return list(crm.scalars(query))


def reserve_for(
    crm, emulator, upn: str, tid: str, address: str, *, age: timedelta, holder: str = "another-request"
) -> OutlookContactReservation:
    """What a request that reserved `address` and has not stored a contact yet leaves."""
    user = get_or_create_user(crm, tid, emulator.user(upn)["oid"], upn)
    crm.flush()
    row = OutlookContactReservation(
        tenant_id=tid,
        user_id=user.id,
        address=address,
        holder=holder,
        outlook_contact_id=None,
        reserved_at=utcnow() - age,
    )
    crm.add(row)
    crm.commit()
    return row


def simultaneously(*calls):
    answers = [None] * len(calls)

    def run(n, call):
        answers[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_simultaneous_creates_make_one_outlook_contact(pane, emulator, crm):
    address = "race.twice@example.org"
    window, ribbon = pane(), pane()
    # Warm up sign-in (keys, on-behalf-of token): a cold start would delay one thread
    # past the other's lookup.
    assert window.post("/outlook-contacts", json={"address": "warm.up@example.org"}).status_code == 200
    emulator.clear_requests()
    # The emulator sleeps before it answers: both lookups start, then both answer "none"
    # (within milliseconds of each other) half a second before any creation takes effect.
    emulator.fault(path=LOOKUP, method="GET", kind="latency", latency_ms=2000, count=2)
    emulator.fault(path=LOOKUP, method="POST", kind="latency", latency_ms=500)
    body = {"address": address, "name": "Twice, Race"}

    answers = simultaneously(
        lambda: window.post("/outlook-contacts", json=body), lambda: ribbon.post("/outlook-contacts", json=body)
    )

    assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
    assert len({a.json["id"] for a in answers}) == 1
    assert sorted(a.json["created"] for a in answers) == [False, True]
    assert all(a.json["address"] == address and a.json["display_name"] == "Race Twice" for a in answers)
    assert len(contacts_with(emulator, ADELE, address)) == 1
    # The race happened: the loser found nothing, waited, and read the winner's contact by id.
    assert len(emulator.requests(BY_ID, method="GET")) == 1
    assert [r.outlook_contact_id for r in reservations(crm, address)] == [answers[0].json["id"]]


def test_a_repeat_after_success_is_the_same_contact_and_no_new_row(pane, emulator, crm):
    user = pane()
    first = user.post("/outlook-contacts", json={"address": "Once.Only@Example.org", "name": "Only, Once"})
    assert first.status_code == 200 and first.json["created"] is True

    again = user.post("/outlook-contacts", json={"address": "once.only@example.org", "name": "Once Only"})

    assert again.status_code == 200
    assert again.json == {**first.json, "created": False}
    assert len(contacts_with(emulator, ADELE, "once.only@example.org")) == 1
    assert [(r.address, r.outlook_contact_id) for r in reservations(crm)] == [
        ("once.only@example.org", first.json["id"])
    ]


def test_a_contact_deleted_in_outlook_is_created_again(pane, emulator, crm):
    user = pane()
    address = "gone.again@example.org"
    first = user.post("/outlook-contacts", json={"address": address, "name": "Again, Gone"}).json
    token = emulator.graph_token(ADELE)
    assert emulator.graph("DELETE", f"/me/contacts/{first['id']}", token).status_code == 204

    second = user.post("/outlook-contacts", json={"address": address, "name": "Again, Gone"})

    assert second.status_code == 200, second.json
    assert second.json["created"] is True and second.json["id"] != first["id"]
    assert len(contacts_with(emulator, ADELE, address)) == 1
    # The stored id was checked (404) before the row was dropped and the address reserved anew.
    assert [r["status"] for r in emulator.requests(re.escape(first["id"]), method="GET")] == [404]
    assert [(r.address, r.outlook_contact_id) for r in reservations(crm)] == [(address, second.json["id"])]


def test_a_stale_reservation_of_a_crashed_creator_is_taken_over(pane, emulator, crm):
    address = "crashed.creator@example.org"
    reserve_for(crm, emulator, ADELE, CONTOSO, address, age=timedelta(hours=1), holder="crashed")

    answer = pane().post("/outlook-contacts", json={"address": address, "name": "Creator, Crashed"})

    assert answer.status_code == 200, answer.json
    assert answer.json["created"] is True
    assert len(contacts_with(emulator, ADELE, address)) == 1
    [row] = reservations(crm)
    assert (row.holder != "crashed", row.outlook_contact_id) == (True, answer.json["id"])


def test_a_creation_still_under_way_answers_busy_and_creates_nothing(pane, emulator, crm):
    address = "under.way@example.org"
    reserve_for(crm, emulator, ADELE, CONTOSO, address, age=timedelta(seconds=0))

    answer = pane().post("/outlook-contacts", json={"address": address, "name": "Way, Under"})

    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "contact_being_created"
    assert answer.json["error"]["retry_after"] >= 1 and answer.headers["Retry-After"]
    assert contacts_with(emulator, ADELE, address) == []
    assert emulator.requests(r"/v1\.0/me/contacts$", method="POST") == []


def test_reservations_belong_to_one_user_of_one_tenant(pane, emulator, crm):
    address = "shared.person@example.org"
    reserve_for(crm, emulator, ADELE, CONTOSO, address, age=timedelta(seconds=0))

    for upn in (MEGAN, PAT):
        answer = pane(upn).post("/outlook-contacts", json={"address": address, "name": "Person, Shared"})
        assert answer.status_code == 200, (upn, answer.json)
        assert answer.json["created"] is True
        assert len(contacts_with(emulator, upn, address)) == 1

    # Adele's reservation is untouched; Megan and Pat each have their own, filled.
    assert sorted((r.tenant_id, r.outlook_contact_id is not None) for r in reservations(crm, address)) == [
        (CONTOSO, False),
        (CONTOSO, True),
        (FABRIKAM, True),
    ]
