"""The admin's contact import: upload, the job's progress page, the summary with bad
rows' line numbers; admin only, tenant-scoped, CSRF-protected, size-limited."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import func, select

from server.crm.models import SyncJob, User
from server.sync.import_job import enqueue_import, uploads_dir
from tests.support.admin_forms import CSV, REFRESH, contacts_in, finished_job_page, job_id_of, text_of, upload
from tests.support.identities import ADELE, CONTOSO, FABRIKAM, MEGAN, PAT


def test_admin_imports_a_csv_and_sees_the_summary_with_bad_rows_line_numbers(browser, crm, app):
    adele = browser(ADELE)
    job_id = job_id_of(upload(adele, CSV, "export from old crm.csv"))

    page = finished_job_page(adele, job_id)
    words = text_of(page)
    assert "Import of export from old crm.csv" in words and "Finished" in words
    assert '<progress id="job-progress" max="100" value="100"' in page
    assert "Created 2" in words and "Merged (same address as an earlier row) 1" in words
    assert "Errors 2" in words
    problems = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", page))
    assert set(problems) == {"4", "6"}, problems
    assert "not-an-address" in htmllib.unescape(problems["6"])
    assert contacts_in(crm, CONTOSO) == ["diego@fourthcoffee.example", "lynne.robbins@northwind.example"]
    assert list(uploads_dir(app).iterdir()) == []  # the file is gone once imported

    progress = adele.get(f"/crm/admin/jobs/{job_id}/progress").json
    assert (progress["state"], progress["percent"], progress["active"]) == ("done", 100, False)
    assert "5 rows read" in progress["text"]
    listed = text_of(adele.get("/crm/admin/import").get_data(as_text=True))
    assert "Import of export from old crm.csv" in listed


def test_a_running_import_page_refreshes_itself_and_has_no_inline_script(browser, crm, app):
    adele = browser(ADELE)
    user = crm.scalars(select(User).where(User.upn == ADELE)).one()
    job_id = enqueue_import(app, user, "0123456789abcdef0123456789abcdef.csv", "waiting.csv", 10, submit=False)

    response = adele.get(f"/crm/admin/jobs/{job_id}")
    page = response.get_data(as_text=True)
    assert f"<noscript><meta {REFRESH}" in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/crm/static/job_progress.js"' in attrs and not body.strip() for attrs, body in scripts)
    assert re.search(r'<progress id="job-progress" max="100"\s+aria-describedby="job-progress-text"', page)
    assert 'role="status" aria-live="polite">Waiting to start</p>' in page
    script = adele.get("/crm/static/job_progress.js")
    assert script.status_code == 200 and b"data-progress-url" in script.data


def test_the_import_has_its_own_size_limit_above_the_request_limit(browser, crm, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 16 * 1024)
    adele = browser(ADELE)
    rows = "".join(f"Person,Number{i},person{i}@bulk.example,,,\n" for i in range(150))
    big = ("first_name,last_name,email,company,job_title,phone\n" + rows).encode()
    assert 2048 < len(big) < 16 * 1024
    job_id = job_id_of(upload(adele, big))
    assert "Created 150" in text_of(finished_job_page(adele, job_id))

    too_big = upload(adele, big * 3)
    assert too_big.status_code == 413
    assert "Too large" in too_big.get_data(as_text=True)
    assert list(uploads_dir(app).iterdir()) == []
    # Only the form's multipart upload gets the larger limit.
    other = adele.client.post("/crm/admin/import", data=b"x" * 4096, content_type="application/octet-stream")
    assert other.status_code == 413


def test_upload_form_explains_what_it_refuses(browser, crm):
    adele = browser(ADELE)
    wrong = upload(adele, b"<xml/>", "contacts.xlsx")
    assert wrong.status_code == 400 and "Only CSV" in wrong.get_data(as_text=True)
    empty = upload(adele, b"", "empty.csv")
    assert empty.status_code == 400 and "The file is empty" in empty.get_data(as_text=True)
    assert crm.scalar(select(func.count()).select_from(SyncJob)) == 0


NOT_UTF8 = "The file is not UTF-8 text. Save it as CSV UTF-8 in Excel (File > Save As > CSV UTF-8) and import it again."
NO_HEADER = (
    "The first row names no column we know (first_name, last_name, display_name, email, company, job_title, "
    "phone, ...). Add a header row and import the file again."
)
MISLEADING = ("Finished", "rows read", "100 %", "after line 0", "header?")


@pytest.mark.parametrize(
    "content, sentence",
    [
        ("first_name,email\nZdeněk,z@x.example\n".encode("cp1250"), NOT_UTF8),
        (b"Lynne,Robbins,lynne@example.com\n", NO_HEADER),
    ],
    ids=["not-utf8", "no-header"],
)
def test_a_refused_file_shows_as_failed_with_one_sentence_why_and_what_to_do(browser, crm, content, sentence):
    adele = browser(ADELE)
    job_id = job_id_of(upload(adele, content))
    page = finished_job_page(adele, job_id)
    words = text_of(page)
    assert "The file could not be imported" in words and sentence in words
    assert 'class="tag job-state job-state-failed">Failed</span>' in page
    assert not any(bad in words for bad in MISLEADING), words
    assert "Retry" not in words  # the same file would be refused again; a fixed one is a new upload
    row = crm.get(SyncJob, job_id)
    assert (row.state, row.attempts) == ("failed", 1)

    progress = adele.get(f"/crm/admin/jobs/{job_id}/progress").json
    assert (progress["state"], progress["active"]) == ("failed", False)
    assert progress["text"] == f"Failed: {sentence}"
    for listing in ("/crm/admin/import", "/crm/admin/jobs"):
        listed = text_of(adele.get(listing).get_data(as_text=True))
        assert sentence in listed and not any(bad in listed for bad in MISLEADING), listing
    assert "Retry" not in text_of(adele.get("/crm/admin/jobs").get_data(as_text=True))


def test_a_file_unreadable_part_way_fails_at_once_keeping_the_rows_before(browser, crm):
    adele = browser(ADELE)
    # Large enough that the reader decodes (and imports) rows before it meets the bad bytes.
    good = "".join(f"P{i},Q{i},p{i}@example.com,,,\n" for i in range(2000))
    content = b"first_name,last_name,email,company,job_title,phone\n" + good.encode()
    job_id = job_id_of(upload(adele, content + "Jiří,Šťastný,jiri@example.cz,,,\n".encode("cp1250")))

    words = text_of(finished_job_page(adele, job_id))

    after = re.search(r"The file is not UTF-8 text after line (\d+); the rows before it are saved\.", words)
    assert after and int(after.group(1)) > 1, words
    assert "Save it as CSV UTF-8 in Excel (File > Save As > CSV UTF-8) and import it again." in words
    assert "Finished" not in words and "Retry" not in words and "line 0" not in words
    row = crm.get(SyncJob, job_id)
    assert (row.state, row.attempts) == ("failed", 1)
    assert 0 < len(contacts_in(crm, CONTOSO)) < 2000


def test_only_the_admin_sees_the_admin_pages(browser, crm, app):
    adele = browser(ADELE)
    job_id = job_id_of(upload(adele, CSV))
    finished_job_page(adele, job_id)
    megan = browser(MEGAN)
    for path in (
        "/crm/admin/import",
        "/crm/admin/jobs",
        f"/crm/admin/jobs/{job_id}",
        f"/crm/admin/jobs/{job_id}/progress",
    ):
        assert megan.get(path).status_code == 403, path
    token = megan.csrf_token("/crm/")
    assert upload(megan, CSV, token=token).status_code == 403
    for path, data in (
        (f"/crm/admin/jobs/{job_id}/retry", {}),
        ("/crm/admin/bulk-sync", {"folder": "inbox", "since": "2026-01-01"}),
    ):
        assert megan.client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert crm.scalar(select(func.count()).select_from(SyncJob)) == 1
    assert 'href="/crm/admin/jobs"' not in megan.get("/crm/settings").get_data(as_text=True)
    settings = adele.get("/crm/settings").get_data(as_text=True)
    assert 'href="/crm/admin/import"' in settings and 'href="/crm/admin/jobs"' in settings


def test_another_tenants_jobs_are_not_found(browser, crm):
    adele = browser(ADELE)
    job_id = job_id_of(upload(adele, CSV))
    finished_job_page(adele, job_id)
    pat = browser(PAT)  # Fabrikam's Global Administrator: an admin there
    for path in (f"/crm/admin/jobs/{job_id}", f"/crm/admin/jobs/{job_id}/progress", "/crm/admin/jobs/99999999"):
        assert pat.get(path).status_code == 404, path
    token = pat.csrf_token("/crm/admin/jobs")
    assert pat.client.post(f"/crm/admin/jobs/{job_id}/retry", data={"csrf_token": token}).status_code == 404
    assert "Import of" not in pat.get("/crm/admin/jobs").get_data(as_text=True)
    assert contacts_in(crm, FABRIKAM) == []


def test_a_forged_post_without_the_csrf_token_is_refused(browser, crm):
    adele = browser(ADELE)
    assert upload(adele, CSV, token=False).status_code == 400
    assert upload(adele, CSV, token="forged").status_code == 400
    assert adele.client.post("/crm/admin/bulk-sync", data={"folder": "inbox", "since": "2026-01-01"}).status_code == 400
    assert adele.client.post("/crm/admin/jobs/1/retry").status_code == 400
    assert crm.scalar(select(func.count()).select_from(SyncJob)) == 0
