"""The audit log's module: what an entry keeps (nothing secret), that it is only
ever added to, one tenant's pages of it, and the command line's imports and exports."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from server.crm import audit
from server.crm.keyset import InvalidCursor, encode_cursor
from server.crm.models import AuditEntry, User
from server.crm.tenants import get_or_create_user
from tests.support.audit_entries import entries_of, only_entry
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, PAT, PAT_OID
from tests.support.paths import ROOT

DEMO = ROOT / "demo" / "contacts.csv"


@pytest.fixture
def adele_user(crm, clean_state) -> User:
    user = get_or_create_user(crm, CONTOSO, ADELE_OID, ADELE, "Adele Vance")
    crm.commit()
    return user


def test_an_entry_keeps_who_as_they_were_then_and_no_secret(crm, adele_user):
    entry = audit.record(
        crm,
        CONTOSO,
        adele_user,
        audit.SETTINGS_TENANT_CHANGED,
        target=("tenant", CONTOSO),
        before={"auto_sync": "off", "client_secret": "s3cr3t", "nested": {"refresh_token": "abc"}},
        after={
            "auto_sync": "marked",
            "client_secret": "n3w",
            "note": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
            "api_key": None,
        },
        address="203.0.113.7",
    )
    crm.commit()
    adele_user.display_name = "Adele Vance-Smith"  # a later rename leaves the entry as it was
    crm.commit()

    stored = only_entry(crm, CONTOSO, audit.SETTINGS_TENANT_CHANGED)
    assert stored.id == entry.id
    assert (stored.actor_user_id, stored.actor_name, stored.actor_upn) == (adele_user.id, "Adele Vance", ADELE)
    assert (stored.target_type, stored.target_id, stored.client_address) == ("tenant", CONTOSO, "203.0.113.7")
    assert stored.before == {"auto_sync": "off", "client_secret": audit.MASK, "nested": {"refresh_token": audit.MASK}}
    assert stored.after == {"auto_sync": "marked", "client_secret": audit.MASK, "note": audit.MASK, "api_key": None}
    assert stored.at is not None


def test_an_action_outside_the_fixed_list_is_refused(crm, adele_user):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(crm, CONTOSO, adele_user, "settings.whatever")
    assert audit.SESSION_ENDED == "session.ended" and audit.SESSION_ENDED in audit.ACTIONS


def test_only_the_keys_that_changed_are_recorded_and_no_change_records_nothing(crm, adele_user):
    same = {"auto_sync": "off", "never_sync": ["a.example"]}
    assert audit.record_change(crm, CONTOSO, adele_user, audit.SETTINGS_OWN_CHANGED, same, dict(same)) is None
    audit.record_change(
        crm, CONTOSO, adele_user, audit.SETTINGS_OWN_CHANGED, same, {"auto_sync": "marked", "never_sync": ["a.example"]}
    )
    crm.commit()
    entry = only_entry(crm, CONTOSO, audit.SETTINGS_OWN_CHANGED)
    assert (entry.before, entry.after) == ({"auto_sync": "off"}, {"auto_sync": "marked"})


def test_an_entry_is_never_changed_or_removed(crm, adele_user):
    audit.record(crm, CONTOSO, adele_user, audit.SESSION_ENDED, target=("user", adele_user.id))
    crm.commit()
    entry = only_entry(crm, CONTOSO, audit.SESSION_ENDED)

    entry.actor_name = "Someone else"
    with pytest.raises(audit.AuditLogIsAppendOnly):
        crm.flush()
    crm.rollback()
    crm.delete(only_entry(crm, CONTOSO, audit.SESSION_ENDED))
    with pytest.raises(audit.AuditLogIsAppendOnly):
        crm.flush()
    crm.rollback()
    with pytest.raises(audit.AuditLogIsAppendOnly):
        crm.execute(update(AuditEntry).values(action=audit.EXPORT_WRITTEN))
    crm.rollback()
    with pytest.raises(audit.AuditLogIsAppendOnly):
        crm.execute(delete(AuditEntry))
    crm.rollback()
    with pytest.raises(audit.AuditLogIsAppendOnly):
        crm.execute(AuditEntry.__table__.update().values(actor_name="x"))
    crm.rollback()
    # Below the ORM the database itself refuses an UPDATE.
    with pytest.raises(DBAPIError, match="never changed"):
        crm.connection().execute(AuditEntry.__table__.update().values(actor_name="x"))
    crm.rollback()

    kept = only_entry(crm, CONTOSO, audit.SESSION_ENDED)
    assert (kept.actor_name, kept.action) == ("Adele Vance", audit.SESSION_ENDED)


def test_pages_are_newest_first_keyset_filtered_and_of_one_tenant_only(crm, adele_user):
    pat = get_or_create_user(crm, FABRIKAM, PAT_OID, PAT, "Pat Kowalski")
    for n in range(7):
        audit.record(crm, CONTOSO, adele_user, audit.SESSION_ENDED, after={"n": n})
        audit.record(crm, CONTOSO, None, audit.IMPORT_APPLIED, after={"n": n})
    audit.record(crm, FABRIKAM, pat, audit.SESSION_ENDED, after={"n": "fabrikam"})
    crm.commit()

    first = audit.entries(crm, CONTOSO, size=5)
    second = audit.entries(crm, CONTOSO, size=5, after=first.next_cursor)
    third = audit.entries(crm, CONTOSO, size=5, after=second.next_cursor)
    seen = [e.id for e in first.rows + second.rows + third.rows]
    assert seen == sorted(seen, reverse=True) and len(seen) == 14 and third.next_cursor is None
    assert all(e.tenant_id == CONTOSO for e in first.rows + second.rows + third.rows)

    for forged in ("not-a-cursor", encode_cursor([2**70]), encode_cursor([-1]), encode_cursor(["1"])):
        with pytest.raises(InvalidCursor):
            audit.entries(crm, CONTOSO, after=forged)

    mine = audit.entries(crm, CONTOSO, actor=str(adele_user.id), size=50).rows
    assert [e.after["n"] for e in mine] == [6, 5, 4, 3, 2, 1, 0]
    system = audit.entries(crm, CONTOSO, actor=audit.SYSTEM, action=audit.IMPORT_APPLIED, size=50).rows
    assert len(system) == 7 and all(e.actor_user_id is None for e in system)
    assert audit.entries(crm, CONTOSO, actor=str(pat.id), size=50).rows == []
    assert audit.actors(crm, CONTOSO) == [(adele_user.id, "Adele Vance")]
    assert [e.after for e in audit.entries(crm, FABRIKAM).rows] == [{"n": "fabrikam"}]


def test_the_command_lines_import_and_export_are_recorded_once_each(cli, crm, tmp_path):
    assert cli("crm", "import", "--tenant", CONTOSO, DEMO).exit_code == 0
    imported = only_entry(crm, CONTOSO, audit.IMPORT_APPLIED)
    assert imported.actor_user_id is None and imported.actor_name == "command line"
    assert imported.before is None
    assert imported.after["file"] == DEMO.name and imported.after["created"] > 0
    assert (
        imported.after["rows"]
        == imported.after["created"]
        + imported.after["updated"]
        + imported.after["skipped"]
        + imported.after["merged"]
        + imported.after["errors"]
    )

    out = tmp_path / "contacts.csv"
    assert cli("crm", "export", "--tenant", CONTOSO, out).exit_code == 0
    exported = only_entry(crm, CONTOSO, audit.EXPORT_WRITTEN)
    assert exported.after == {"format": "csv", "contacts": imported.after["created"], "file": "contacts.csv"}
    assert len(entries_of(crm, CONTOSO)) == 2
