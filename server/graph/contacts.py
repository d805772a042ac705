"""Outlook contacts on Graph: find them by address (one or many), create, read,
update and delete them, with the CRM contact id they carry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import properties as props
from .batch import BatchOperations, BatchRequest
from .errors import GraphError, NotFound, contact_not_found
from .odata import odata_string, query_string, select_fields

CONTACT_FIELDS = (
    "id",
    "displayName",
    "givenName",
    "surname",
    "emailAddresses",
    "companyName",
    "jobTitle",
    "businessPhones",
    "mobilePhone",
    "homePhones",
    "categories",
)
CONTACT_PROPERTIES = props.expand_filter(props.CONTACT_ID)


def contact_with_crm(contact: dict, written: Mapping[str, str | None] | None = None) -> dict:
    """The contact plus "crm": {"contact_id"}. Create/PATCH answers carry no extended
    properties (Graph returns them only when expanded), so what we just wrote counts."""
    contact = dict(contact)
    contact_id = props.property_value(contact, props.CONTACT_ID)
    if contact_id is None and written and props.CONTACT_ID in written:
        contact_id = written[props.CONTACT_ID] or None
    contact["crm"] = {"contact_id": contact_id}
    return contact


class ContactOperations(BatchOperations):
    """The mailbox's Outlook contacts."""

    def _contacts_call(self, method: str, path: str, **kwargs) -> Any:
        """`_call` on the contacts collection, where a 404 means the contact is gone."""
        try:
            return self._call(method, path, **kwargs)
        except NotFound as error:
            raise contact_not_found(error) from error

    def _contacts_by_address_path(self, address: str, select) -> str:
        address = address.strip()
        return f"{self.root}/contacts" + query_string(
            {
                "$filter": f"emailAddresses/any(a:a/address eq {odata_string(address)})",
                "$select": select_fields(select),
                "$expand": CONTACT_PROPERTIES,
            }
        )

    def find_contacts(self, address: str, select=CONTACT_FIELDS) -> list[dict]:
        """Outlook contacts having this email address (each with "crm": {"contact_id"})."""
        page = self._contacts_call("GET", self._contacts_by_address_path(address, select))
        return [contact_with_crm(c) for c in page.get("value") or ()]

    def find_contacts_many(self, addresses: Iterable[str], select=CONTACT_FIELDS) -> dict[str, list[dict] | GraphError]:
        """`find_contacts` for several addresses in `$batch` calls: address -> contacts
        or the GraphError for that address."""
        addresses = list(dict.fromkeys(addresses))
        responses = self.batch(
            [BatchRequest(str(n), "GET", self._contacts_by_address_path(a, select)) for n, a in enumerate(addresses)]
        )
        return {
            a: (
                [contact_with_crm(c) for c in (r.body or {}).get("value") or ()]
                if r.ok
                else contact_not_found(r.error())
            )
            for a, r in zip(addresses, responses)
        }

    def create_contact(self, contact: Mapping, properties: Mapping[str, str | None] | None = None) -> dict:
        """Create an Outlook contact (Graph contact JSON); `properties` e.g.
        {CONTACT_ID: crm id}. Returns the contact with "crm"."""
        body = dict(contact)
        if properties:
            body["singleValueExtendedProperties"] = props.extended_properties(properties)
        return contact_with_crm(self._contacts_call("POST", f"{self.root}/contacts", json_body=body), properties)

    def get_contact(self, contact_id: str, select=CONTACT_FIELDS) -> dict:
        """The contact with CrmContactId expanded, as "crm": {"contact_id"}."""
        return contact_with_crm(
            self._contacts_call(
                "GET",
                self._item("contacts", contact_id)
                + query_string({"$select": select_fields(select), "$expand": CONTACT_PROPERTIES}),
            )
        )

    def update_contact(
        self, contact_id: str, fields: Mapping, properties: Mapping[str, str | None] | None = None
    ) -> dict:
        """PATCH contact fields and extended properties; returns the updated contact."""
        body = dict(fields)
        if properties:
            body["singleValueExtendedProperties"] = props.extended_properties(properties)
        updated = self._contacts_call("PATCH", self._item("contacts", contact_id), json_body=body)
        return contact_with_crm(updated or {"id": contact_id}, properties)

    def delete_contact(self, contact_id: str) -> None:
        self._contacts_call("DELETE", self._item("contacts", contact_id))
