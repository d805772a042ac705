"""The admin's jobs page: recent jobs with progress, the failed list with each job's
error in words and a Retry button, and bulk sync of a folder of the admin's mailbox."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.crm.models import SyncJob, User
from server.jobs.running import run_job
from server.jobs.status import list_failed_jobs
from server.sync.import_job import enqueue_import, upload_path
from tests.support.admin_forms import CSV, contacts_in, finished_job_page, job_id_of, text_of
from tests.support.identities import ADELE, CONTOSO


def test_a_failed_job_is_listed_with_its_error_and_retry_runs_it_again(browser, crm, app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_MAX_ATTEMPTS", 1)
    adele = browser(ADELE)
    user = crm.scalars(select(User).where(User.upn == ADELE)).one()
    stored = "feedfacefeedfacefeedfacefeedface.csv"  # its file never arrived
    job_id = enqueue_import(app, user, stored, "lost.csv", len(CSV), submit=False)
    assert run_job(app, job_id) == "failed"

    page = adele.get("/crm/admin/jobs").get_data(as_text=True)
    failed = page.split('<ul class="rows compact failed-jobs">', 1)[1].split("</ul>", 1)[0]
    assert "Import of lost.csv" in failed
    assert "The uploaded file is no longer on the server. Upload the file again." in text_of(failed)
    assert f'action="/crm/admin/jobs/{job_id}/retry"' in failed and ">Retry</button>" in failed
    assert "Upload the file again" in text_of(adele.get(f"/crm/admin/jobs/{job_id}").get_data(as_text=True))

    upload_path(app, stored).write_bytes(CSV)  # put right what made it fail
    response = adele.post_form(f"/crm/admin/jobs/{job_id}/retry", token_from="/crm/admin/jobs")
    assert job_id_of(response) == job_id
    words = text_of(finished_job_page(adele, job_id))
    assert "is queued again" in words or "Finished" in words
    assert "Finished" in words and "Created 2" in words
    assert list_failed_jobs(CONTOSO, app=app) == []
    assert len(contacts_in(crm, CONTOSO)) == 2

    again = adele.post_form(f"/crm/admin/jobs/{job_id}/retry", token_from="/crm/admin/jobs")
    assert "has not failed, so there is nothing to retry" in text_of(
        adele.get(again.headers["Location"]).get_data(as_text=True)
    )


def test_bulk_sync_form_starts_the_bulk_job_and_its_page_shows_progress(browser, crm, app):
    adele = browser(ADELE)
    response = adele.post_form(
        "/crm/admin/bulk-sync", {"folder": "sentitems", "since": "2026-01-01"}, token_from="/crm/admin/jobs"
    )
    job_id = job_id_of(response)
    job = crm.get(SyncJob, job_id)
    assert (job.kind, job.params, job.tenant_id) == (
        "bulk",
        {"folder": "sentitems", "since": "2026-01-01T00:00:00Z"},
        CONTOSO,
    )

    words = text_of(finished_job_page(adele, job_id))
    assert "Bulk sync of Sent Items since 2026-01-01" in words
    assert "Finished" in words and "Messages handled 2" in words
    # Each outcome on its own line: the two sent messages have no CRM contact on them.
    assert "Filed 0" in words and "Skipped: no CRM contact on it 2" in words and "Already filed 0" in words
    listed = adele.get("/crm/admin/jobs").get_data(as_text=True)
    row = re.search(rf'<tr>\s*<td><a href="/crm/admin/jobs/{job_id}">(.*?)</tr>', listed, re.S).group(1)
    assert "Bulk sync of Sent Items" in row and 'value="100"' in row and "Finished" in row


def test_bulk_sync_form_explains_a_wrong_folder_or_date(browser, crm):
    adele = browser(ADELE)
    response = adele.post_form(
        "/crm/admin/bulk-sync", {"folder": "drafts", "since": "2999-01-01"}, token_from="/crm/admin/jobs"
    )
    assert response.status_code == 400
    words = text_of(response.get_data(as_text=True))
    assert "Choose Inbox or Sent Items" in words and "The since-date is in the future" in words
    assert crm.scalar(select(SyncJob.id)) is None


def test_the_admin_nav_links_to_the_jobs_page(browser):
    adele = browser(ADELE)
    page = adele.get("/crm/admin/jobs").get_data(as_text=True)
    assert '<a href="/crm/admin/jobs" aria-current="page">Jobs</a>' in page
    assert 'href="/crm/admin/import"' in page


def test_jobs_list_filters_by_kind_and_running_jobs_poll_their_progress(browser, crm, app):
    adele = browser(ADELE)
    user = crm.scalars(select(User).where(User.upn == ADELE)).one()
    waiting = enqueue_import(app, user, "0123456789abcdef0123456789abcdef.csv", "waiting.csv", 10, submit=False)
    bulk = job_id_of(
        adele.post_form(
            "/crm/admin/bulk-sync", {"folder": "sentitems", "since": "2026-01-01"}, token_from="/crm/admin/jobs"
        )
    )
    finished_job_page(adele, bulk)

    everything = adele.get("/crm/admin/jobs").get_data(as_text=True)
    assert "Import of waiting.csv" in everything and "Bulk sync of Sent Items" in everything
    assert f'data-progress-url="/crm/admin/jobs/{waiting}/progress"' in everything
    assert f'data-progress-url="/crm/admin/jobs/{bulk}/progress"' not in everything  # it has ended
    assert 'src="/crm/static/job_progress.js"' in everything and 'http-equiv="refresh"' not in everything
    imports = adele.get("/crm/admin/jobs?kind=imports").get_data(as_text=True)
    assert "Import of waiting.csv" in imports and "Bulk sync of Sent Items" not in imports
    assert "Import of waiting.csv" not in adele.get("/crm/admin/jobs?kind=bulk").get_data(as_text=True)
