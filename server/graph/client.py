"""GraphClient: the mailbox operations the backend needs, over the one transport.

Each family of operations has its own module (batch, messages, attachments, contacts,
subscriptions); this one puts them together and adds the few that span them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import requests

from . import properties as props
from .attachments import AttachmentOperations
from .batch import BATCH_LIMIT, BatchRequest
from .contacts import CONTACT_FIELDS, ContactOperations, contact_with_crm
from .errors import Conflict, GraphError, contact_not_found
from .messages import MESSAGE_FIELDS, MessageOperations
from .odata import query_string, select_fields
from .pacer import Budget
from .subscriptions import SubscriptionOperations

TRANSLATE_LIMIT = 1000  # translateExchangeIds maximum


class GraphClient(MessageOperations, AttachmentOperations, ContactOperations, SubscriptionOperations):
    """One mailbox (`/me`, or `/users/{user}` for app-only work) on Microsoft Graph:
    `GraphClient(base_url, token_provider, session, user=...)`, or `from_config`.
    Methods raise GraphError subclasses."""

    @classmethod
    def from_config(
        cls,
        config: Mapping,
        token_provider: Callable[[], str],
        session: requests.Session,
        user: str | None = None,
        mailbox: str | None = None,
    ) -> GraphClient:
        """A client with GRAPH_BASE_URL, GRAPH_TIMEOUT_S, GRAPH_MAX_WAIT_S, REDIS_URL
        (shared mailbox slots and budget), the mailbox budget (GRAPH_MAILBOX_BUDGET,
        GRAPH_MAILBOX_BUDGET_WINDOW_S, GRAPH_INTERACTIVE_RESERVE) and ADDIN_ID (the
        add-in's custom properties) from config. `mailbox` names /me's mailbox for its
        slots and budget (the user's object id)."""
        client = cls(
            config["GRAPH_BASE_URL"],
            token_provider,
            session,
            user=user,
            max_wait_s=float(config["GRAPH_MAX_WAIT_S"]),
            timeout=config["GRAPH_TIMEOUT_S"],
            redis_url=config["REDIS_URL"],
            mailbox=mailbox,
            budget=Budget.from_config(config),
        )
        if config.get("ADDIN_ID"):
            client.custom_properties_id = props.custom_properties_id(config["ADDIN_ID"])
        return client

    def get_message_and_contacts(
        self,
        message_id: str,
        addresses: Iterable[str],
        *,
        select=MESSAGE_FIELDS,
        contact_select=CONTACT_FIELDS,
        expand_attachments: bool = False,
    ) -> tuple[dict, dict[str, list[dict] | GraphError]]:
        """`get_message` (with `expand_attachments` as there) and `find_contacts_many` in
        one `$batch` call, for addresses known before the message is read (at most 19: the
        message takes one of the 20 places). Raises the message's GraphError when the
        message itself failed."""
        addresses = list(dict.fromkeys(addresses))
        if len(addresses) > BATCH_LIMIT - 1:
            raise ValueError(f"at most {BATCH_LIMIT - 1} addresses share a $batch with the message")
        responses = self.batch(
            [BatchRequest("message", "GET", self._message_path(message_id, select, expand_attachments))]
            + [
                BatchRequest(str(n), "GET", self._contacts_by_address_path(a, contact_select))
                for n, a in enumerate(addresses)
            ]
        )
        message = responses[0]
        if not message.ok:
            raise message.error()
        found = {
            a: (
                [contact_with_crm(c) for c in (r.body or {}).get("value") or ()]
                if r.ok
                else contact_not_found(r.error())
            )
            for a, r in zip(addresses, responses[1:])
        }
        return self._with_crm(message.body), found

    def ensure_categories(self) -> None:
        """Create our three master categories where missing (another request creating
        one first is fine)."""
        existing = self._call("GET", f"{self.root}/outlook/masterCategories") or {}
        have = {c.get("displayName", "").casefold() for c in existing.get("value") or ()}
        for name, color in props.CATEGORY_COLORS.items():
            if name.casefold() in have:
                continue
            try:
                self._call(
                    "POST", f"{self.root}/outlook/masterCategories", json_body={"displayName": name, "color": color}
                )
            except Conflict:
                pass

    def translate_ids(
        self, ids: Iterable[str], source: str = "restId", target: str = "restImmutableEntryId"
    ) -> dict[str, str]:
        """translateExchangeIds, 1000 per call: source id -> target id."""
        ids = list(dict.fromkeys(ids))
        result: dict[str, str] = {}
        for start in range(0, len(ids), TRANSLATE_LIMIT):
            answer = self._call(
                "POST",
                f"{self.root}/translateExchangeIds",
                idempotent=True,
                json_body={
                    "inputIds": ids[start : start + TRANSLATE_LIMIT],
                    "sourceIdType": source,
                    "targetIdType": target,
                },
            )
            for item in answer.get("value") or ():
                result[item.get("sourceId")] = item.get("targetId")
        return result

    def get_user(self, select=("id", "displayName", "mail", "userPrincipalName")) -> dict:
        """The mailbox owner (for "Test connection"; add "proxyAddresses" to `select`
        for the user's aliases)."""
        return self._call("GET", self.root + query_string({"$select": select_fields(select)}))

    def get_mailbox_settings(self, select=("timeZone",)) -> dict:
        """The mailbox's settings (`mailboxSettings`): by default only `timeZone`, the
        Windows name ("Central Europe Standard Time") or an IANA one, as its administrator
        set it up. Needs MailboxSettings.Read (delegated or application)."""
        return self._call("GET", f"{self.root}/mailboxSettings" + query_string({"$select": select_fields(select)}))
