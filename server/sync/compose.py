"""Filing from compose: the case and task a user chose while writing a message.

The compose pane puts the category "Sync to CRM" on the draft and writes the link
targets to the add-in's custom properties (Office.js `loadCustomPropertiesAsync` /
`saveAsync`): `crm_case_id` and `crm_task_id`, each a CRM id as a number. Outlook keeps
them on the sent copy as one extended property (graph/properties.py
`custom_properties_id`), which the Graph client reads in the same GET as the message
(`message["crm"]["custom"]`). When the sent copy is filed (the category command, by
notification or delta round: automatic.py), these become links of the filed email.

An id that is not a case or task of the mailbox's tenant is left out and logged: the
email is still filed, on its people, never lost for a stale or forged id.
"""

from __future__ import annotations

import logging

from server.crm.models import Case, Task
from server.sync.mailbox import Mailbox

log = logging.getLogger(__name__)

# The custom properties' names are a contract with the compose pane.
TARGETS = (("crm_case_id", "case", Case), ("crm_task_id", "task", Task))


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def compose_links(mailbox: Mailbox, message: dict) -> list[tuple[str, int, str]]:
    """The links the user chose in the compose pane for this message (source "manual":
    the user picked them), only targets of the mailbox's own tenant."""
    custom = (message.get("crm") or {}).get("custom") or {}
    links: list[tuple[str, int, str]] = []
    for name, target_type, model in TARGETS:
        raw = custom.get(name)
        if raw is None:
            continue
        target_id = _as_id(raw)
        if target_id is None or model.get(mailbox.session, mailbox.tenant_id, target_id) is None:
            log.warning(
                "filing from compose: %s %r of message %s is not a %s of tenant %s; filed without it",
                name,
                raw,
                message.get("id"),
                target_type,
                mailbox.tenant_id,
            )
            continue
        links.append((target_type, target_id, "manual"))
    return links
