"""The audit log from the pages: each admin action and settings change leaves exactly
one entry with the right before and after; the admin's page shows who, what, when
(in the viewer's time zone) and before -> after, newest first, a page at a time,
filtered, and as CSV; only the admin sees it, only their own tenant's, and no route
changes an entry."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from server.crm import audit
from server.crm.models import Tenant, User
from server.jobs.running import run_job
from server.sync.import_job import enqueue_import, upload_path
from tests.support.admin_forms import CSV, finished_job_page, job_id_of, text_of, upload
from tests.support.audit_entries import entries_of, only_entry
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, MEGAN, PAT

PAGE = "/crm/admin/audit"


def user_of(crm, upn: str) -> User:
    crm.expire_all()
    return crm.query(User).filter(User.upn == upn).one()


# -- each action, one entry ----------------------------------------------------------------


def test_the_organizations_defaults_changed_by_the_admin_are_recorded(browser, crm):
    adele = browser(ADELE)
    before = crm.get(Tenant, CONTOSO).effective_settings()
    response = adele.post_form(
        "/crm/settings/tenant",
        {"auto_sync": "marked", "auto_link_companies": "on", "never_sync": "bank.example", "store_attachments": "on"},
        token_from="/crm/settings",
    )
    assert response.status_code == 303

    entry = only_entry(crm, CONTOSO, audit.SETTINGS_TENANT_CHANGED)
    assert (entry.actor_user_id, entry.actor_name, entry.actor_upn) == (user_of(crm, ADELE).id, "Adele Vance", ADELE)
    assert (entry.target_type, entry.target_id, entry.client_address) == ("tenant", CONTOSO, "127.0.0.1")
    assert entry.before == {"auto_sync": before["auto_sync"], "never_sync": []}
    assert entry.after == {"auto_sync": "marked", "never_sync": ["bank.example"]}


def test_an_admins_override_of_a_users_settings_is_recorded_on_that_user(browser, crm):
    adele = browser(ADELE)
    browser(MEGAN)
    megan = user_of(crm, MEGAN)
    form = {"auto_link_companies": "off", "auto_sync": "off", "never_sync": "family.example"}
    assert adele.post_form(f"/crm/settings/users/{megan.id}", form, token_from="/crm/settings").status_code == 303

    entry = only_entry(crm, CONTOSO, audit.SETTINGS_USER_OVERRIDE_CHANGED)
    assert (entry.actor_user_id, entry.target_type, entry.target_id) == (user_of(crm, ADELE).id, "user", str(megan.id))
    assert entry.before == {"auto_link_companies": None, "auto_sync": None, "never_sync": None}
    assert entry.after == {"auto_link_companies": False, "auto_sync": "off", "never_sync": ["family.example"]}


def test_a_users_own_preferences_on_the_settings_page_are_recorded(browser, crm):
    browser(ADELE)
    megan = browser(MEGAN)
    assert megan.post_form("/crm/settings/me", {"language": "cs"}, token_from="/crm/settings").status_code == 303

    entry = only_entry(crm, CONTOSO, audit.SETTINGS_OWN_CHANGED)
    megan_id = user_of(crm, MEGAN).id
    assert (entry.actor_user_id, entry.target_id) == (megan_id, str(megan_id))
    assert (entry.before, entry.after) == ({"language": None}, {"language": "cs"})


def test_an_upload_and_the_import_it_starts_are_recorded(browser, crm):
    adele = browser(ADELE)
    job_id = job_id_of(upload(adele, CSV, "people.csv"))
    finished_job_page(adele, job_id)

    started = only_entry(crm, CONTOSO, audit.IMPORT_STARTED)
    adele_id = user_of(crm, ADELE).id
    assert (started.actor_user_id, started.target_type, started.target_id) == (adele_id, "job", str(job_id))
    assert started.after == {"file": "people.csv", "size": len(CSV)}
    applied = only_entry(crm, CONTOSO, audit.IMPORT_APPLIED)
    assert (applied.actor_user_id, applied.target_id, applied.client_address) == (adele_id, str(job_id), None)
    assert applied.after["file"] == "people.csv"
    assert (applied.after["rows"], applied.after["created"], applied.after["errors"]) == (5, 2, 2)


def test_a_bulk_sync_started_on_the_admin_page_is_recorded(browser, crm):
    adele = browser(ADELE)
    response = adele.post_form(
        "/crm/admin/bulk-sync", {"folder": "sentitems", "since": "2026-01-01"}, token_from="/crm/admin/jobs"
    )
    job_id = job_id_of(response)
    finished_job_page(adele, job_id)

    entry = only_entry(crm, CONTOSO, audit.BULK_SYNC_STARTED)
    assert (entry.actor_user_id, entry.target_id) == (user_of(crm, ADELE).id, str(job_id))
    assert entry.after == {"folder": "sentitems", "since": "2026-01-01T00:00:00Z", "mailbox": ADELE}


def test_retrying_a_failed_job_is_recorded_and_a_retry_of_nothing_is_not(browser, crm, app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_MAX_ATTEMPTS", 1)
    adele = browser(ADELE)
    stored = "feedfacefeedfacefeedfacefeedface.csv"  # its file never arrived
    job_id = enqueue_import(app, user_of(crm, ADELE), stored, "lost.csv", len(CSV), submit=False)
    assert run_job(app, job_id) == "failed"
    upload_path(app, stored).write_bytes(CSV)

    response = adele.post_form(f"/crm/admin/jobs/{job_id}/retry", token_from="/crm/admin/jobs")
    assert job_id_of(response) == job_id
    finished_job_page(adele, job_id)
    entry = only_entry(crm, CONTOSO, audit.JOB_RETRIED)
    assert (entry.actor_user_id, entry.target_type, entry.target_id) == (user_of(crm, ADELE).id, "job", str(job_id))
    assert entry.after == {"kind": "crm_import", "file": stored, "name": "lost.csv", "size": len(CSV)}

    adele.post_form(f"/crm/admin/jobs/{job_id}/retry", token_from="/crm/admin/jobs")  # it has not failed
    assert len(entries_of(crm, CONTOSO, audit.JOB_RETRIED)) == 1


def test_test_connection_is_recorded_with_each_checks_outcome(browser, crm):
    adele = browser(ADELE)
    adele.test_connection()

    entry = only_entry(crm, CONTOSO, audit.CONNECTION_TESTED)
    assert (entry.actor_user_id, entry.target_type, entry.target_id) == (user_of(crm, ADELE).id, "tenant", CONTOSO)
    assert entry.after == {
        "checks": ["Token: ok", "Consent: ok", "Graph access: ok", "Categories: ok", "Mailbox access: ok"]
    }


def test_signing_out_records_the_sessions_end(browser, crm):
    adele = browser(ADELE)
    assert adele.post_form("/auth/signout").status_code == 302
    entry = only_entry(crm, CONTOSO, audit.SESSION_ENDED)
    adele_id = user_of(crm, ADELE).id
    assert (entry.actor_user_id, entry.target_type, entry.target_id) == (adele_id, "user", str(adele_id))
    assert entry.after == {"reason": "signed_out"}


# -- the page ------------------------------------------------------------------------------


def arrange(crm, tenant_id: str, actor, action: str, at: datetime | None = None, **kw):
    entry = audit.record(crm, tenant_id, actor, action, **kw)
    if at is not None:
        entry.at = at
    crm.commit()
    return entry


def rows_of(page: str) -> list[str]:
    """Each entry's words as read ("key: before → after": no space before the colon)."""
    return [text_of(row).replace(" : ", ": ") for row in re.findall(r'<tr class="audit-entry".*?</tr>', page, re.S)]


def test_only_an_admin_reads_the_log_and_it_is_linked_from_the_admin_pages(browser):
    adele = browser(ADELE)
    megan = browser(MEGAN)
    assert megan.get(PAGE).status_code == 403
    assert megan.get(PAGE + ".csv").status_code == 403
    assert adele.get(PAGE).status_code == 200
    assert f'href="{PAGE}"' in adele.get("/crm/admin/jobs").get_data(as_text=True)
    assert f'href="{PAGE}"' in adele.get("/crm/admin/import").get_data(as_text=True)


def test_the_page_shows_who_what_when_in_the_viewers_zone_and_before_to_after(browser, crm):
    adele = browser(ADELE)
    browser(MEGAN)
    user = user_of(crm, ADELE)
    user.time_zone = "Europe/Prague"
    crm.commit()
    megan = user_of(crm, MEGAN)
    arrange(
        crm,
        CONTOSO,
        user,
        audit.SETTINGS_USER_OVERRIDE_CHANGED,
        at=datetime(2026, 7, 1, 10, 5, tzinfo=UTC),
        target=("user", megan.id),
        before={"auto_sync": "known_contacts", "never_sync": None},
        after={"auto_sync": "off", "never_sync": ["family.example"]},
        address="198.51.100.4",
    )
    arrange(crm, CONTOSO, None, audit.IMPORT_APPLIED, after={"file": "people.csv", "created": 3})
    page = adele.get(PAGE).get_data(as_text=True)

    newest, oldest = rows_of(page)
    assert "Command line" not in newest and "System" in newest and "Contact import applied" in newest
    assert "file: people.csv" in newest and "created: 3" in newest
    assert "Adele Vance" in oldest and ADELE in oldest and "from 198.51.100.4" in oldest
    assert "A user's settings changed by an admin" in oldest and "User: Megan Bowen" in oldest
    assert "auto_sync: known_contacts → off" in oldest and "never_sync: (empty) → family.example" in oldest
    assert "12:05" in oldest  # 10:05 UTC is 12:05 in Prague in July
    assert 'datetime="2026-07-01T10:05:00+00:00"' in page


def test_the_log_is_paged_newest_first_and_filtered_by_action_and_by_who(browser, crm):
    adele = browser(ADELE)
    browser(MEGAN)
    user, megan = user_of(crm, ADELE), user_of(crm, MEGAN)
    for n in range(audit.PAGE_SIZE + 5):
        audit.record(crm, CONTOSO, user, audit.SESSION_ENDED, after={"n": n})
    audit.record(crm, CONTOSO, megan, audit.SHARING_RULE_CREATED, after={"address": "lynne@northwind.example"})
    crm.commit()

    first = adele.get(PAGE).get_data(as_text=True)
    rows = rows_of(first)
    assert len(rows) == audit.PAGE_SIZE and "Sharing rule added" in rows[0] and "n: 54" in rows[1]
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    rest = rows_of(adele.get(following).get_data(as_text=True))
    assert len(rest) == 6 and "n: 0" in rest[-1]

    sessions = adele.get(PAGE, query_string={"action": audit.SESSION_ENDED, "actor": user.id}).get_data(as_text=True)
    assert len(rows_of(sessions)) == audit.PAGE_SIZE
    assert not any("Sharing rule added" in row for row in rows_of(sessions))
    following = re.search(r'href="([^"]+)" rel="next"', sessions).group(1).replace("&amp;", "&")
    assert f"action={audit.SESSION_ENDED}" in following and f"actor={user.id}" in following
    assert len(rows_of(adele.get(following).get_data(as_text=True))) == 5
    by_megan = rows_of(adele.get(PAGE, query_string={"actor": megan.id}).get_data(as_text=True))
    assert len(by_megan) == 1 and "Megan Bowen" in by_megan[0]
    nothing = adele.get(PAGE, query_string={"action": audit.IMPORT_APPLIED}).get_data(as_text=True)
    assert rows_of(nothing) == [] and "Nothing matches these filters" in text_of(nothing)
    assert adele.get(PAGE, query_string={"after": "not-a-cursor"}).status_code == 400


def test_another_tenants_entries_are_never_shown(browser, crm):
    adele = browser(ADELE)
    pat = browser(PAT)
    arrange(crm, CONTOSO, user_of(crm, ADELE), audit.SESSION_ENDED, after={"reason": "contoso-only"})
    arrange(crm, FABRIKAM, user_of(crm, PAT), audit.SESSION_ENDED, after={"reason": "fabrikam-only"})

    theirs = pat.get(PAGE).get_data(as_text=True)
    assert "fabrikam-only" in theirs and "contoso-only" not in theirs and "Adele" not in theirs
    assert "contoso-only" not in pat.get(PAGE + ".csv").get_data(as_text=True)
    ours = adele.get(PAGE).get_data(as_text=True)
    assert "contoso-only" in ours and "fabrikam-only" not in ours
    # Filtering by another tenant's user shows nothing of theirs either.
    assert "fabrikam-only" not in adele.get(PAGE, query_string={"actor": user_of(crm, PAT).id}).get_data(as_text=True)


def test_an_empty_log_says_what_will_appear(browser):
    words = text_of(browser(ADELE).get(PAGE).get_data(as_text=True))
    assert "Nothing recorded yet" in words and "appear here as they happen" in words


def test_the_csv_download_holds_the_filtered_log_defused_and_is_itself_recorded(browser, crm):
    adele = browser(ADELE)
    arrange(crm, CONTOSO, audit.Actor(None, '=HYPERLINK("http://evil.example")'), audit.IMPORT_APPLIED)
    arrange(crm, CONTOSO, user_of(crm, ADELE), audit.SESSION_ENDED, after={"reason": "signed_out"})

    response = adele.get(PAGE + ".csv", query_string={"action": audit.IMPORT_APPLIED})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:5] == ["at_utc", "actor_user_id", "actor_name", "actor_upn", "action"]
    assert [r[4] for r in rows[1:]] == [audit.IMPORT_APPLIED]
    assert rows[1][2] == '\'=HYPERLINK("http://evil.example")'

    entry = only_entry(crm, CONTOSO, audit.EXPORT_DOWNLOADED)
    assert (entry.actor_user_id, entry.target_type) == (user_of(crm, ADELE).id, "audit_log")
    assert entry.after == {"format": "csv", "action": audit.IMPORT_APPLIED, "actor": None}


def test_no_route_changes_or_removes_an_entry(app, browser, crm):
    adele = browser(ADELE)
    arrange(crm, CONTOSO, user_of(crm, ADELE), audit.SESSION_ENDED, after={"reason": "signed_out"})
    entry_id = entries_of(crm, CONTOSO)[0].id
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    token = adele.csrf_token(PAGE)
    for path in (PAGE, f"{PAGE}/{entry_id}", PAGE + ".csv"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            answer = adele.client.open(path, method=method, data={"csrf_token": token}, headers={"X-CSRF-Token": token})
            assert answer.status_code in (404, 405), (method, path, answer.status_code)
    kept = entries_of(crm, CONTOSO)
    assert [(e.id, e.action, e.after) for e in kept] == [(entry_id, audit.SESSION_ENDED, {"reason": "signed_out"})]
