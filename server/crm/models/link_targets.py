"""What an email or a conversation can be filed on, and the table of each kind."""

from __future__ import annotations

from server.crm.models.address_book import Company, Contact
from server.crm.models.base import Base
from server.crm.models.casework import Case, Task

TARGET_TYPES = ("contact", "company", "case", "task")

MODEL_FOR_TARGET: dict[str, type[Base]] = {"contact": Contact, "company": Company, "case": Case, "task": Task}
