"""The admin's import form and job page as a person uses them: a CSV with good and bad
rows to upload, the page's text as a person reads it, following the job's page until the
job has ended, and the contacts the import left."""

from __future__ import annotations

import html as htmllib
import io
import re
import time
from urllib.parse import urlencode

from sqlalchemy import select

from server.crm.models import Contact, ContactEmail

UPLOAD_ACTION = re.compile(r'<form method="post" action="([^"]+)" enctype="multipart/form-data"')
JOB_LOCATION = re.compile(r"/crm/admin/jobs/(\d+)$")
REFRESH = 'http-equiv="refresh"'

CSV = (
    b"first_name,last_name,email,company,job_title,phone\n"
    b"Lynne,Robbins,lynne.robbins@northwind.example,Northwind Traders,Buyer,+1 425 555 0110\n"
    b"Diego,Siciliani,diego@fourthcoffee.example,Fourth Coffee,,\n"
    b",,,,Boss,+1 425 555 0199\n"
    b"Lynne,Robbins,LYNNE.ROBBINS@northwind.example,Northwind Traders,Buyer,+1 425 555 0111\n"
    b"Bad,Address,not-an-address,,,\n"
)


def text_of(page: str) -> str:
    """The page's words as a person reads them: tags dropped, entities decoded."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def contacts_in(crm, tenant_id: str) -> list[str]:
    """The addresses of the tenant's contacts, sorted."""
    crm.expire_all()
    return sorted(
        crm.scalars(
            select(ContactEmail.address)
            .join(Contact, Contact.id == ContactEmail.contact_id)
            .where(Contact.tenant_id == tenant_id)
        )
    )


def upload(person, content: bytes, name: str = "contacts.csv", token: str | bool | None = None):
    """Posts the import form with a file, as a browser would (multipart, to the form's
    action, whose query string carries the CSRF token). `token`: another token in its
    place, or False for none."""
    if token is None:
        page = person.get("/crm/admin/import").get_data(as_text=True)
        path = htmllib.unescape(UPLOAD_ACTION.search(page).group(1))
    elif token is False:
        path = "/crm/admin/import"
    else:
        path = f"/crm/admin/import?{urlencode({'csrf_token': token})}"
    data = {"file": (io.BytesIO(content), name)}
    return person.client.post(path, data=data, content_type="multipart/form-data")


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
