"""The admin's import form and job page as a person uses them: upload a file, follow
the job's page until the job has ended."""

from __future__ import annotations

import io
import re
import time

JOB_LOCATION = re.compile(r"/crm/admin/jobs/(\d+)$")
REFRESH = 'http-equiv="refresh"'


def upload(person, content: bytes, name: str = "contacts.csv", token: str | None = None):
    """Posts the import form with a file, as a browser would (multipart)."""
    data = {"file": (io.BytesIO(content), name)}
    if token is not False:
        data["csrf_token"] = token or person.csrf_token("/crm/admin/import")
    return person.client.post("/crm/admin/import", data=data, content_type="multipart/form-data")


def job_id_of(response) -> int:
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:500])
    match = JOB_LOCATION.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def finished_job_page(person, job_id: int, timeout: float = 30) -> str:
    """Reloads the job page, as its refresh does, until the job has ended; its HTML."""
    deadline = time.monotonic() + timeout
    while True:
        response = person.get(f"/crm/admin/jobs/{job_id}")
        assert response.status_code == 200, response.status_code
        page = response.get_data(as_text=True)
        if REFRESH not in page:
            return page
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not end:\n{page}")
        time.sleep(0.2)
