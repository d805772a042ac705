"""The store's messages: lookups, arrival, updates, moves and deletes, each bumping delta state."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta

from emulator.store.clock import iso, parse_iso, utcnow
from emulator.store.extended_properties import set_properties
from emulator.store.ids import (
    REST_PREFIX,
    b64url,
    change_key_for,
    digest,
    immutable_item_id,
    rest_item_id,
)
from emulator.store.message_json import (
    check_message_spec,
    html_to_text,
    message_to_json,
    new_message_fields,
)
from emulator.store.model import Folder, Message, Tombstone, User


class Messages:
    """Part of `Store`. Every change takes a new sequence number (delta reads them) and
    raises change notifications through the store's subscriptions."""

    lock: threading.RLock

    def message(self, user: User, item_id: str) -> Message | None:
        key = user.mailbox.ids.get(item_id)
        return user.mailbox.messages.get(key) if key else None

    def messages_in(self, user: User, folder: Folder | None) -> list[Message]:
        msgs = user.mailbox.messages.values()
        if folder is None:
            return [m for m in msgs]
        return [m for m in msgs if m.folder_id == folder.id]

    def insert_message(self, user: User, key: str, folder: Folder, spec: dict, emit: bool) -> Message:
        """Store a message under `key` (fixture seeding and deliveries); fires "created" when `emit`.

        Raises ValueError when `spec` is not shaped like Graph message JSON.
        """
        check_message_spec(spec)
        spec = copy.deepcopy(spec)
        now = utcnow()
        attachments = spec.pop("attachments", []) or []
        props = spec.pop("singleValueExtendedProperties", []) or []
        for k in ("id", "@odata.etag", "@odata.context", "changeKey", "parentFolderId", "webLink"):
            spec.pop(k, None)
        received = spec.get("receivedDateTime") or iso(now)
        created = parse_iso(spec.pop("createdDateTime", None) or received)
        modified = parse_iso(spec.pop("lastModifiedDateTime", None) or received)
        fields = new_message_fields(user, key, spec, attachments, received)
        msg = Message(
            key=key,
            folder_id=folder.id,
            rest_id=rest_item_id(user.oid, "message", key, folder.id),
            immutable_id=immutable_item_id(user.oid, "message", key),
            fields=fields,
            created=created,
            modified=modified,
            change_key=change_key_for(user.oid, key, "0"),
            seq=self.next_seq(),
        )
        msg.created_seq = msg.seq
        for i, a in enumerate(attachments):
            msg.attachments.append(
                {
                    "id": b64url(REST_PREFIX + digest("att", user.oid, key, str(i), size=40)),
                    "name": a.get("name", f"attachment{i}"),
                    "contentType": a.get("contentType", "application/octet-stream"),
                    "size": int(a.get("size", 0)),
                    "isInline": bool(a.get("isInline", False)),
                    "contentId": a.get("contentId"),
                    "lastModifiedDateTime": iso(modified),
                }
            )
        set_properties(msg.ext_props, props, as_text=True)
        box = user.mailbox
        box.messages[key] = msg
        box.ids[msg.rest_id] = key
        box.ids[msg.immutable_id] = key
        if emit:
            self.emit_change(user, msg, "created")
        return msg

    def deliver_message(self, upn: str, folder: str, message_json: dict, immutable_ids: bool = False) -> dict:
        """Add a message as if it had just arrived (or been sent, for Sent Items).

        Bumps delta state and fires "created" change notifications. Returns the
        message's Graph JSON (REST ids, or immutable ids when `immutable_ids`).
        Raises KeyError for an unknown user or folder.
        """
        with self.lock:
            user = self.find_user(upn)
            if user is None:
                raise KeyError(f"unknown user {upn!r}")
            target = self.folder(user, folder or "inbox")
            if target is None:
                raise KeyError(f"unknown folder {folder!r}")
            spec = dict(message_json or {})
            spec.setdefault("receivedDateTime", iso(utcnow()))
            user.mailbox.counter += 1
            msg = self.insert_message(user, f"d{user.mailbox.counter}", target, spec, emit=True)
            return self.message_json(user, msg, immutable_ids)

    def send_message(self, upn: str, message_json: dict, immutable_ids: bool = False) -> dict:
        """A user sends a message, as Outlook's Send does once the draft is final.

        The sender's copy lands in Sent Items with `from`/`sender` set to the sender,
        read, not a draft, with the categories and `singleValueExtendedProperties` the
        draft carried (categories and an add-in's custom properties stay on the
        sender's item, as in Exchange). Each To/Cc/Bcc recipient who is a user of the
        sender's tenant gets a copy in their Inbox with the same internetMessageId and
        conversationId, but neither the sender's categories nor their extended
        properties. Every copy fires "created" change notifications.

        Returns {"sent": the Sent Items copy's Graph JSON, "delivered": [{"upn", "id"}]}.
        Raises KeyError for an unknown sender, ValueError for a malformed message.
        """
        with self.lock:
            sender = self.find_user(upn)
            if sender is None:
                raise KeyError(f"unknown user {upn!r}")
            sent_items = self.folder(sender, "sentitems")
            if sent_items is None:
                raise KeyError("the sender has no Sent Items folder")
            spec = dict(message_json or {})
            check_message_spec(spec)
            now = iso(utcnow())
            me = {"emailAddress": {"name": sender.display_name, "address": sender.mail}}
            spec.update({"from": me, "sender": me, "isRead": True, "isDraft": False})
            spec["receivedDateTime"] = spec["sentDateTime"] = now
            sender.mailbox.counter += 1
            sent = self.insert_message(sender, f"d{sender.mailbox.counter}", sent_items, spec, emit=True)
            delivered = []
            copy_spec = {k: v for k, v in spec.items() if k not in ("categories", "singleValueExtendedProperties")}
            copy_spec.update(
                isRead=False,
                internetMessageId=sent.fields["internetMessageId"],
                conversationId=sent.fields["conversationId"],
            )
            seen: set[str] = set()
            for field in ("toRecipients", "ccRecipients", "bccRecipients"):
                for recipient in spec.get(field) or ():
                    user = self.find_user(recipient["emailAddress"].get("address") or "")
                    if user is None or user.tid != sender.tid or user.upn in seen:
                        continue
                    seen.add(user.upn)
                    inbox = self.folder(user, "inbox")
                    if inbox is None:
                        continue
                    user.mailbox.counter += 1
                    got = self.insert_message(user, f"d{user.mailbox.counter}", inbox, copy_spec, emit=True)
                    delivered.append({"upn": user.upn, "id": self.message_json(user, got, immutable_ids)["id"]})
            return {"sent": self.message_json(sender, sent, immutable_ids), "delivered": delivered}

    def update_message(self, user: User, msg: Message, changes: dict, props: list[dict] | None = None) -> Message:
        """Apply writable `changes` and merge extended `props` by id; fire "updated"."""
        with self.lock:
            msg.fields.update(copy.deepcopy(changes))
            if "body" in changes:
                body = msg.fields["body"]
                text = html_to_text(body["content"]) if body["contentType"] == "html" else body["content"]
                msg.fields["bodyPreview"] = " ".join((text or "").split())[:255]
            set_properties(msg.ext_props, props or [])
            self._touch(user, msg)
            self.emit_change(user, msg, "updated")
            return msg

    def _touch(self, user: User, msg: Message) -> None:
        msg.seq = self.next_seq()
        now = utcnow()  # strictly increasing, so clients comparing timestamps see every change
        msg.modified = now if now > msg.modified else msg.modified + timedelta(seconds=1)
        msg.change_key = change_key_for(user.oid, msg.key, str(msg.seq))

    def delete_message(self, user: User, msg: Message) -> None:
        """Remove a message; delta reports it as @removed; fires "deleted"."""
        with self.lock:
            box = user.mailbox
            box.messages.pop(msg.key, None)
            box.ids.pop(msg.rest_id, None)
            box.ids.pop(msg.immutable_id, None)
            box.tombstones.append(Tombstone(self.next_seq(), msg.folder_id, msg.rest_id, msg.immutable_id))
            self.emit_change(user, msg, "deleted")

    def move_message(self, user: User, msg: Message, folder: Folder) -> Message:
        """Move to another folder: new REST id, same immutable id (like Exchange)."""
        with self.lock:
            box = user.mailbox
            box.tombstones.append(Tombstone(self.next_seq(), msg.folder_id, msg.rest_id, msg.immutable_id))
            self.emit_change(user, msg, "deleted")
            box.ids.pop(msg.rest_id, None)
            msg.folder_id = folder.id
            msg.rest_id = rest_item_id(user.oid, "message", msg.key, folder.id)
            box.ids[msg.rest_id] = msg.key
            self._touch(user, msg)
            msg.created_seq = msg.seq
            self.emit_change(user, msg, "created")
            return msg

    def message_json(self, user: User, msg: Message, immutable_ids: bool = False) -> dict:
        """The full default Graph representation of a message (no @odata.context)."""
        return message_to_json(msg, immutable_ids)
