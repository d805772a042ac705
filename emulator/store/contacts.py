"""The store's Outlook contacts: lookups, create, update, delete and their Graph JSON."""

from __future__ import annotations

import copy
import secrets
import threading
from datetime import timedelta

from emulator.store.clock import iso, utcnow
from emulator.store.extended_properties import set_properties
from emulator.store.ids import change_key_for, immutable_item_id, rest_item_id
from emulator.store.model import Contact, User


def contact_defaults() -> dict:
    return {
        "categories": [],
        "birthday": None,
        "fileAs": "",
        "displayName": "",
        "givenName": None,
        "initials": None,
        "middleName": None,
        "nickName": None,
        "surname": None,
        "title": None,
        "yomiGivenName": None,
        "yomiSurname": None,
        "yomiCompanyName": None,
        "generation": None,
        "imAddresses": [],
        "jobTitle": None,
        "companyName": None,
        "department": None,
        "officeLocation": None,
        "profession": None,
        "businessHomePage": None,
        "assistantName": None,
        "manager": None,
        "homePhones": [],
        "mobilePhone": None,
        "businessPhones": [],
        "spouseName": None,
        "personalNotes": "",
        "children": [],
        "emailAddresses": [],
        "homeAddress": {},
        "businessAddress": {},
        "otherAddress": {},
    }


class Contacts:
    """Part of `Store`. Contacts have no delta or notifications here, so changes touch only the mailbox."""

    lock: threading.RLock

    def contact(self, user: User, item_id: str) -> Contact | None:
        key = user.mailbox.contact_ids.get(item_id)
        return user.mailbox.contacts.get(key) if key else None

    def insert_contact(self, user: User, key: str, spec: dict) -> Contact:
        """Store a contact under `key` (fixture seeding and creates); StoreError(400) for a bad property id."""
        spec = copy.deepcopy(spec)
        props = spec.pop("singleValueExtendedProperties", []) or []
        for k in (
            "id",
            "@odata.etag",
            "@odata.context",
            "changeKey",
            "parentFolderId",
            "createdDateTime",
            "lastModifiedDateTime",
        ):
            spec.pop(k, None)
        now = utcnow()
        fields = contact_defaults()
        fields.update(spec)
        if not fields.get("displayName"):
            fields["displayName"] = " ".join(x for x in (fields.get("givenName"), fields.get("surname")) if x) or next(
                (e.get("address") for e in fields.get("emailAddresses") or [] if e.get("address")), ""
            )
        if not fields.get("fileAs"):
            fields["fileAs"] = ""
        box = user.mailbox
        c = Contact(
            key=key,
            folder_id=box.contacts_folder_id,
            rest_id=rest_item_id(user.oid, "contact", key, box.contacts_folder_id),
            immutable_id=immutable_item_id(user.oid, "contact", key),
            fields=fields,
            created=now,
            modified=now,
            change_key=change_key_for(user.oid, key, "0"),
        )
        set_properties(c.ext_props, props, as_text=True)
        box.contacts[key] = c
        box.contact_ids[c.rest_id] = key
        box.contact_ids[c.immutable_id] = key
        return c

    def create_contact(self, user: User, spec: dict) -> Contact:
        with self.lock:
            user.mailbox.counter += 1
            return self.insert_contact(user, f"n{user.mailbox.counter}", spec)

    def update_contact(self, user: User, contact: Contact, changes: dict, props: list[dict] | None = None) -> Contact:
        with self.lock:
            contact.fields.update(copy.deepcopy(changes))
            set_properties(contact.ext_props, props or [])
            now = utcnow()
            contact.modified = now if now > contact.modified else contact.modified + timedelta(seconds=1)
            contact.change_key = change_key_for(user.oid, contact.key, secrets.token_hex(4))
            return contact

    def delete_contact(self, user: User, contact: Contact) -> None:
        with self.lock:
            box = user.mailbox
            box.contacts.pop(contact.key, None)
            box.contact_ids.pop(contact.rest_id, None)
            box.contact_ids.pop(contact.immutable_id, None)

    def contact_json(self, user: User, c: Contact, immutable_ids: bool = False) -> dict:
        out = {
            "@odata.etag": f'W/"{c.change_key}"',
            "id": c.immutable_id if immutable_ids else c.rest_id,
            "createdDateTime": iso(c.created),
            "lastModifiedDateTime": iso(c.modified),
            "changeKey": c.change_key,
            "parentFolderId": c.folder_id,
        }
        out.update(copy.deepcopy(c.fields))
        return out
