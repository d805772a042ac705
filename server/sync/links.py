"""URLs of the CRM's own web pages, which the pane and Outlook open."""

from __future__ import annotations


class CrmLinks:
    def __init__(self, public_base_url: str):
        self.base = public_base_url.rstrip("/")

    def email(self, email_id: int | None) -> str | None:
        return None if email_id is None else f"{self.base}/crm/emails/{email_id}"

    def contact(self, contact_id: int) -> str:
        return f"{self.base}/crm/contacts/{contact_id}"

    def company(self, company_id: int) -> str:
        return f"{self.base}/crm/companies/{company_id}"

    def case(self, case_id: int) -> str:
        return f"{self.base}/crm/cases/{case_id}"

    def task(self, task_id: int) -> str:
        return f"{self.base}/crm/tasks/{task_id}"

    def attachment(self, attachment_id: int) -> str:
        """A stored attachment's download on the CRM pages (the browser is signed in there)."""
        return f"{self.base}/crm/attachments/{attachment_id}"
