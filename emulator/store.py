"""In-memory state of the emulated Microsoft 365 tenants, seeded from a JSON fixture.

Everything the Graph views, the identity endpoints and the admin API read or
change lives here, behind one re-entrant lock (`store.lock`). Ids are derived
deterministically from (user oid, fixture key) so a reset gives the same ids.

Id forms (docs/ARCHITECTURE.md "id rules"):
- REST id: base64url, starts with "AAMkA" like Exchange's; it embeds the folder,
  so moving a message changes it (as in Exchange).
- immutable id: base64url, starts with "AAkAL"; never changes.
- EWS id: the REST id with "-" -> "/" and "_" -> "+".
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

REST_PREFIX = b"\x00\x03\x24\x00"
IMMUTABLE_PREFIX = bytes.fromhex("0009002e00000000001d840311aa6611cd9bc800aa002f845a0d00")
ENTRY_ID_PREFIX = bytes.fromhex("00000000")
IMMUTABLE_ENTRY_ID_PREFIX = bytes.fromhex("00000000") + bytes.fromhex("1d840311aa6611cd9bc800aa002fc45a")

WELL_KNOWN_FOLDERS = [
    # (well-known name, display name)
    ("msgfolderroot", "Top of Information Store"),
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("archive", "Archive"),
    ("junkemail", "Junk Email"),
    ("outbox", "Outbox"),
]

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
CHANGE_TYPES = ("created", "updated", "deleted")


class StoreError(ValueError):
    """A request the store refuses; views map `code` to a Graph error."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SyncStateError(StoreError):
    """A delta or skip token that is unknown, tampered with or expired."""

    def __init__(self, message="The sync state generation is not found; restart synchronization from the start."):
        super().__init__(410, "SyncStateNotFound", message)


# ---------------------------------------------------------------- time and ids

def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 date-time as Graph sends it (Z or offset, optional fraction)."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", text)
    if m:  # Python's fromisoformat wants at most 6 fraction digits
        text = f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}{m.group(3)}"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raises ValueError."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text or ""):
        raise ValueError("not base64url")
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded)


def _digest(*parts: str, size: int = 32) -> bytes:
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    while len(h) < size:
        h += hashlib.sha256(h).digest()
    return h[:size]


def _id_with_specials(prefix: bytes, *parts: str, size: int) -> str:
    """A deterministic id whose text contains '-' or '_', so EWS/REST conversion is exercised."""
    for salt in range(64):
        text = b64url(prefix + _digest(*parts, str(salt), size=size))
        if "-" in text or "_" in text:
            return text
    return text


def rest_item_id(oid: str, kind: str, key: str, folder: str) -> str:
    return _id_with_specials(REST_PREFIX + oid.encode() + b"\x00\x46\x00\x00\x00\x00\x00",
                             "rest", oid, kind, key, folder, size=38)


def immutable_item_id(oid: str, kind: str, key: str) -> str:
    return _id_with_specials(IMMUTABLE_PREFIX, "immutable", oid, kind, key, size=43)


def folder_item_id(oid: str, key: str) -> str:
    return _id_with_specials(REST_PREFIX + oid.encode() + b"\x00\x2e\x00\x00\x00\x00\x00",
                             "folder", oid, key, size=22)


def rest_to_ews(rest_id: str) -> str:
    return rest_id.replace("-", "/").replace("_", "+")


def ews_to_rest(ews_id: str) -> str:
    return ews_id.replace("/", "-").replace("+", "_")


def looks_like_item_id(value: str) -> bool:
    """True when `value` is shaped like an Exchange REST or immutable id (any mailbox)."""
    try:
        raw = b64url_decode(value)
    except (ValueError, TypeError):
        return False
    return (raw.startswith(REST_PREFIX) or raw.startswith(IMMUTABLE_PREFIX)) and len(raw) > 30


def change_key_for(*parts: str) -> str:
    # Exchange change keys are standard base64 starting "CQAAABYAAAA" (09 00 00 00 16 00 00 00).
    return base64.b64encode(b"\x09\x00\x00\x00\x16\x00\x00\x00" + _digest("ck", *parts, size=22)).decode()


def canonical_property_id(prop_id: str) -> str:
    """Normalise an extended property id the way Exchange echoes it back.

    Raises StoreError(400) when the id has none of the documented forms:
    "{type} {guid} Name {name}", "{type} {guid} Id {0xhex}", "{type} {0xhex}".
    """
    text = " ".join((prop_id or "").split())
    m = re.fullmatch(r"(\w+) \{([0-9a-fA-F-]{36})\} (Name|Id) (.+)", text)
    if m:
        kind, guid, form, name = m.groups()
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            m = None
        else:
            return f"{kind} {{{guid}}} {form} {name}"
    m2 = re.fullmatch(r"(\w+) (0x[0-9a-fA-F]{1,8})", text)
    if m2:
        return f"{m2.group(1)} {m2.group(2).lower()}"
    raise StoreError(400, "ErrorInvalidProperty",
                     f"The extended property id '{prop_id}' is not valid.")


def property_key(prop_id: str) -> str:
    return canonical_property_id(prop_id).lower()


def html_to_text(content: str) -> str:
    text = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", " ", content or "")
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


# ---------------------------------------------------------------- model

@dataclass
class Tenant:
    tid: str
    name: str
    domains: list[str] = field(default_factory=list)


@dataclass
class App:
    client_id: str
    client_secret: str
    display_name: str
    identifier_uris: list[str] = field(default_factory=list)
    home_tenant: str = ""
    consent: dict[str, dict] = field(default_factory=dict)
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class Folder:
    id: str
    key: str
    display_name: str
    parent_id: str | None
    well_known_name: str | None = None
    is_hidden: bool = False


@dataclass
class Message:
    key: str
    folder_id: str
    rest_id: str
    immutable_id: str
    fields: dict
    created: datetime
    modified: datetime
    change_key: str
    seq: int
    created_seq: int = 0
    ext_props: dict[str, dict] = field(default_factory=dict)  # lower id -> {"id","value"}
    attachments: list[dict] = field(default_factory=list)


@dataclass
class Contact:
    key: str
    folder_id: str
    rest_id: str
    immutable_id: str
    fields: dict
    created: datetime
    modified: datetime
    change_key: str
    ext_props: dict[str, dict] = field(default_factory=dict)


@dataclass
class Tombstone:
    seq: int
    folder_id: str
    rest_id: str
    immutable_id: str


@dataclass
class Mailbox:
    folders: dict[str, Folder] = field(default_factory=dict)           # graph id -> folder
    messages: dict[str, Message] = field(default_factory=dict)         # key -> message
    contacts: dict[str, Contact] = field(default_factory=dict)         # key -> contact
    categories: list[dict] = field(default_factory=list)              # {"id","displayName","color"}
    tombstones: list[Tombstone] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)                  # rest/immutable id -> message key
    contact_ids: dict[str, str] = field(default_factory=dict)          # rest/immutable id -> contact key
    contacts_folder_id: str = ""
    counter: int = 0


@dataclass
class User:
    oid: str
    tid: str
    upn: str
    display_name: str
    mail: str
    aliases: list[str] = field(default_factory=list)
    display_language: str = "en-US"
    mailbox: Mailbox = field(default_factory=Mailbox, repr=False)

    @property
    def addresses(self) -> list[str]:
        return [self.mail, self.upn, *self.aliases]


@dataclass
class Subscription:
    id: str
    resource: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    client_id: str
    tid: str
    creator_oid: str | None      # None for app-only subscriptions
    mailbox_oid: str
    folder_id: str | None        # None: every folder of the mailbox
    immutable_ids: bool
    include_resource_data: bool = False
    latest_tls: str = "v1_2"

    def to_graph(self) -> dict:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.client_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": self.expiration.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "creatorId": self.creator_oid or self.client_id,
            "includeResourceData": self.include_resource_data,
            "latestSupportedTlsVersion": self.latest_tls,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


# ---------------------------------------------------------------- the store

class Store:
    """All emulated tenants, apps, users and mailboxes. Use `with store.lock:` around reads
    that must see a consistent state; every mutating method takes the lock itself."""

    def __init__(self, fixture: dict, path: str | None = None):
        self.path = path
        self.lock = threading.RLock()
        self._fixture = fixture
        self.notifier = None   # emulator.notifications.Notifier, created lazily
        self._load(fixture)

    @classmethod
    def from_file(cls, path) -> "Store":
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), str(path))

    def reset(self) -> None:
        """Reload the fixture (re-read from disk when loaded from a file); clear subscriptions."""
        with self.lock:
            fixture = self._fixture
            if self.path and Path(self.path).exists():
                with open(self.path, encoding="utf-8") as fh:
                    fixture = json.load(fh)
            self._fixture = fixture
            self._load(fixture)
            if self.notifier is not None:
                self.notifier.clear()

    # -- loading

    def _load(self, fixture: dict) -> None:
        with self.lock:
            # A fresh secret per load: delta tokens from before a reset are "expired" (410).
            self.sync_secret = secrets.token_bytes(32)
            self.sync_epoch = secrets.token_hex(4)
            self.seq = 0
            self.subscriptions: dict[str, Subscription] = {}
            self.notification_log: list[dict] = []
            self.tenants = {t["tid"]: Tenant(t["tid"], t["name"], list(t.get("domains", [])))
                            for t in fixture.get("tenants", [])}
            self.apps = {}
            for a in fixture.get("apps", []):
                self.apps[a["client_id"]] = App(
                    client_id=a["client_id"], client_secret=a.get("client_secret", ""),
                    display_name=a.get("display_name", ""),
                    identifier_uris=list(a.get("identifier_uris", [])),
                    home_tenant=a.get("home_tenant", ""),
                    consent=copy.deepcopy(a.get("consent", {})),
                    redirect_uris=list(a.get("redirect_uris", [])))
            self.users = {}
            for u in fixture.get("users", []):
                user = User(oid=u["oid"], tid=u["tid"], upn=u["upn"],
                            display_name=u.get("display_name", u["upn"]),
                            mail=u.get("mail", u["upn"]), aliases=list(u.get("aliases", [])),
                            display_language=u.get("display_language", "en-US"))
                self.users[user.oid] = user
                self._seed_mailbox(user, u)

    def _seed_mailbox(self, user: User, spec: dict) -> None:
        box = user.mailbox
        oid = user.oid
        by_key: dict[str, Folder] = {}
        root = Folder(folder_item_id(oid, "msgfolderroot"), "msgfolderroot",
                      "Top of Information Store", None, "msgfolderroot")
        box.folders[root.id] = root
        by_key["msgfolderroot"] = root
        for wk, name in WELL_KNOWN_FOLDERS[1:]:
            f = Folder(folder_item_id(oid, wk), wk, name, root.id, wk)
            box.folders[f.id] = f
            by_key[wk] = f
        for fspec in spec.get("folders", []):
            key = fspec.get("id") or fspec.get("well_known_name") or fspec["display_name"]
            wk = fspec.get("well_known_name")
            existing = by_key.get(wk or key)
            if existing is not None:
                existing.display_name = fspec.get("display_name", existing.display_name)
                by_key[key] = existing
                continue
            parent = by_key.get(fspec.get("parent") or "msgfolderroot", root)
            f = Folder(folder_item_id(oid, key), key, fspec.get("display_name", key), parent.id, wk)
            box.folders[f.id] = f
            by_key[key] = f
        box.contacts_folder_id = folder_item_id(oid, "contacts")
        box.categories = []
        for i, c in enumerate(spec.get("master_categories", [])):
            box.categories.append({"id": str(uuid.UUID(bytes=_digest("category", oid, str(i), size=16))),
                                   "displayName": c["displayName"], "color": c.get("color", "preset0")})
        for i, cspec in enumerate(spec.get("contacts", [])):
            self._insert_contact(user, f"c{i}", cspec)
        for i, mspec in enumerate(spec.get("messages", [])):
            mspec = dict(mspec)
            folder = self.folder(user, mspec.pop("folder", "inbox"))
            if folder is None:
                raise ValueError(f"fixture message {i} of {user.upn}: unknown folder")
            self._insert_message(user, f"m{i}", folder, mspec, emit=False)

    # -- lookups

    def user_by_upn(self, upn: str) -> User | None:
        want = (upn or "").strip().lower()
        for user in self.users.values():
            if user.upn.lower() == want:
                return user
        return None

    def find_user(self, id_or_upn: str) -> User | None:
        """A user by object id, UPN, primary SMTP address or alias (case-insensitive)."""
        if not id_or_upn:
            return None
        want = id_or_upn.strip().lower()
        if want in self.users:
            return self.users[want]
        for user in self.users.values():
            if user.oid.lower() == want or want in (a.lower() for a in user.addresses):
                return user
        return None

    def tenant_by_name_or_domain(self, value: str) -> Tenant | None:
        want = (value or "").lower()
        for t in self.tenants.values():
            if t.tid.lower() == want or want in (d.lower() for d in t.domains):
                return t
        return None

    def set_consent(self, tid: str, client_id: str, scopes=None, roles=None) -> None:
        """Replace what `client_id` is consented to in tenant `tid` (None -> nothing)."""
        with self.lock:
            app = self.apps[client_id]
            app.consent[tid] = {"scopes": list(scopes or []), "roles": list(roles or [])}

    def folder(self, user: User, ref: str) -> Folder | None:
        """A folder by Graph id, well-known name, fixture key or display name (case-insensitive)."""
        if not ref:
            return None
        box = user.mailbox
        if ref in box.folders:
            return box.folders[ref]
        want = ref.lower()
        for f in box.folders.values():
            if (f.well_known_name or "").lower() == want or f.key.lower() == want:
                return f
        for f in box.folders.values():
            if f.display_name.lower() == want:
                return f
        return None

    def mail_folder(self, user: User, ref: str) -> Folder | None:
        """A folder as Graph URLs name it: by Graph id or well-known name only."""
        box = user.mailbox
        if ref in box.folders:
            return box.folders[ref]
        want = (ref or "").lower()
        return next((f for f in box.folders.values() if (f.well_known_name or "") == want), None)

    def add_folder(self, user: User, parent: Folder, display_name: str) -> Folder:
        """Create a mail folder; StoreError(409) when the parent has one of that name."""
        with self.lock:
            for f in user.mailbox.folders.values():
                if f.parent_id == parent.id and f.display_name.lower() == display_name.lower():
                    raise StoreError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            user.mailbox.counter += 1
            key = f"f{user.mailbox.counter}"
            folder = Folder(folder_item_id(user.oid, key), key, display_name, parent.id)
            user.mailbox.folders[folder.id] = folder
            return folder

    def message(self, user: User, item_id: str) -> Message | None:
        key = user.mailbox.ids.get(item_id)
        return user.mailbox.messages.get(key) if key else None

    def contact(self, user: User, item_id: str) -> Contact | None:
        key = user.mailbox.contact_ids.get(item_id)
        return user.mailbox.contacts.get(key) if key else None

    def messages_in(self, user: User, folder: Folder | None) -> list[Message]:
        msgs = user.mailbox.messages.values()
        if folder is None:
            return [m for m in msgs]
        return [m for m in msgs if m.folder_id == folder.id]

    def folder_counts(self, user: User, folder: Folder) -> tuple[int, int, int]:
        msgs = self.messages_in(user, folder)
        children = sum(1 for f in user.mailbox.folders.values() if f.parent_id == folder.id)
        return len(msgs), sum(1 for m in msgs if not m.fields.get("isRead")), children

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- messages

    def _insert_message(self, user: User, key: str, folder: Folder, spec: dict, emit: bool) -> Message:
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
        body = spec.get("body") or {"contentType": "text", "content": ""}
        fields = {
            "categories": list(spec.get("categories", [])),
            "receivedDateTime": iso(parse_iso(received)),
            "sentDateTime": iso(parse_iso(spec.get("sentDateTime") or received)),
            "hasAttachments": bool(spec.get("hasAttachments",
                                            any(not a.get("isInline") for a in attachments))),
            "internetMessageId": spec.get("internetMessageId")
            or f"<{_digest('imid', user.oid, key, size=8).hex()}@{(user.mail.split('@') + ['local'])[1]}>",
            "subject": spec.get("subject", ""),
            "bodyPreview": spec.get("bodyPreview")
            or (html_to_text(body.get("content", "")) if body.get("contentType", "").lower() == "html"
                else " ".join((body.get("content") or "").split()))[:255],
            "importance": spec.get("importance", "normal"),
            "conversationId": spec.get("conversationId")
            or "AAQkA" + b64url(_digest("conv", user.oid, thread_topic(spec.get("subject", "")), size=40)),
            "conversationIndex": spec.get("conversationIndex")
            or base64.b64encode(b"\x01" + _digest("ci", user.oid, key, size=21)).decode(),
            "isDeliveryReceiptRequested": spec.get("isDeliveryReceiptRequested", False),
            "isReadReceiptRequested": spec.get("isReadReceiptRequested", False),
            "isRead": spec.get("isRead", False),
            "isDraft": spec.get("isDraft", False),
            "inferenceClassification": spec.get("inferenceClassification", "focused"),
            "body": {"contentType": body.get("contentType", "text").lower(), "content": body.get("content", "")},
            "sender": spec.get("sender", spec.get("from")),
            "from": spec.get("from"),
            "toRecipients": list(spec.get("toRecipients", [])),
            "ccRecipients": list(spec.get("ccRecipients", [])),
            "bccRecipients": list(spec.get("bccRecipients", [])),
            "replyTo": list(spec.get("replyTo", [])),
            "flag": spec.get("flag") or {"flagStatus": "notFlagged"},
        }
        msg = Message(key=key, folder_id=folder.id,
                      rest_id=rest_item_id(user.oid, "message", key, folder.id),
                      immutable_id=immutable_item_id(user.oid, "message", key),
                      fields=fields, created=created, modified=modified,
                      change_key=change_key_for(user.oid, key, "0"), seq=self._next_seq())
        msg.created_seq = msg.seq
        for i, a in enumerate(attachments):
            msg.attachments.append({
                "id": b64url(REST_PREFIX + _digest("att", user.oid, key, str(i), size=40)),
                "name": a.get("name", f"attachment{i}"),
                "contentType": a.get("contentType", "application/octet-stream"),
                "size": int(a.get("size", 0)),
                "isInline": bool(a.get("isInline", False)),
                "contentId": a.get("contentId"),
                "lastModifiedDateTime": iso(modified),
            })
        for p in props:
            pid = canonical_property_id(p["id"])
            msg.ext_props[pid.lower()] = {"id": pid, "value": str(p.get("value", ""))}
        box = user.mailbox
        box.messages[key] = msg
        box.ids[msg.rest_id] = key
        box.ids[msg.immutable_id] = key
        if emit:
            self._emit(user, msg, "created")
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
            msg = self._insert_message(user, f"d{user.mailbox.counter}", target, spec, emit=True)
            return self.message_json(user, msg, immutable_ids)

    def update_message(self, user: User, msg: Message, changes: dict, props: list[dict] | None = None) -> Message:
        """Apply writable `changes` and merge extended `props` by id; fire "updated"."""
        with self.lock:
            msg.fields.update(copy.deepcopy(changes))
            if "body" in changes:
                body = msg.fields["body"]
                text = html_to_text(body["content"]) if body["contentType"] == "html" else body["content"]
                msg.fields["bodyPreview"] = " ".join((text or "").split())[:255]
            for p in props or []:
                pid = canonical_property_id(p["id"])
                msg.ext_props[pid.lower()] = {"id": pid, "value": p["value"]}
            self._touch(user, msg)
            self._emit(user, msg, "updated")
            return msg

    def _touch(self, user: User, msg: Message) -> None:
        msg.seq = self._next_seq()
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
            box.tombstones.append(Tombstone(self._next_seq(), msg.folder_id, msg.rest_id, msg.immutable_id))
            self._emit(user, msg, "deleted")

    def move_message(self, user: User, msg: Message, folder: Folder) -> Message:
        """Move to another folder: new REST id, same immutable id (like Exchange)."""
        with self.lock:
            box = user.mailbox
            box.tombstones.append(Tombstone(self._next_seq(), msg.folder_id, msg.rest_id, msg.immutable_id))
            self._emit(user, msg, "deleted")
            box.ids.pop(msg.rest_id, None)
            msg.folder_id = folder.id
            msg.rest_id = rest_item_id(user.oid, "message", msg.key, folder.id)
            box.ids[msg.rest_id] = msg.key
            self._touch(user, msg)
            msg.created_seq = msg.seq
            self._emit(user, msg, "created")
            return msg

    def message_json(self, user: User, msg: Message, immutable_ids: bool = False) -> dict:
        """The full default Graph representation of a message (no @odata.context)."""
        f = msg.fields
        item_id = msg.immutable_id if immutable_ids else msg.rest_id
        out = {
            "@odata.etag": f'W/"{msg.change_key}"',
            "id": item_id,
            "createdDateTime": iso(msg.created),
            "lastModifiedDateTime": iso(msg.modified),
            "changeKey": msg.change_key,
            "categories": list(f["categories"]),
            "receivedDateTime": f["receivedDateTime"],
            "sentDateTime": f["sentDateTime"],
            "hasAttachments": f["hasAttachments"],
            "internetMessageId": f["internetMessageId"],
            "subject": f["subject"],
            "bodyPreview": f["bodyPreview"],
            "importance": f["importance"],
            "parentFolderId": msg.folder_id,
            "conversationId": f["conversationId"],
            "conversationIndex": f["conversationIndex"],
            "isDeliveryReceiptRequested": f["isDeliveryReceiptRequested"],
            "isReadReceiptRequested": f["isReadReceiptRequested"],
            "isRead": f["isRead"],
            "isDraft": f["isDraft"],
            "webLink": "https://outlook.office365.com/owa/?ItemID="
                       + _quote(rest_to_ews(msg.rest_id)) + "&exvsurl=1&viewmodel=ReadMessageItem",
            "inferenceClassification": f["inferenceClassification"],
            "body": dict(f["body"]),
            "sender": copy.deepcopy(f["sender"]),
            "from": copy.deepcopy(f["from"]),
            "toRecipients": copy.deepcopy(f["toRecipients"]),
            "ccRecipients": copy.deepcopy(f["ccRecipients"]),
            "bccRecipients": copy.deepcopy(f["bccRecipients"]),
            "replyTo": copy.deepcopy(f["replyTo"]),
            "flag": copy.deepcopy(f["flag"]),
        }
        return out

    # -- contacts

    def _insert_contact(self, user: User, key: str, spec: dict) -> Contact:
        spec = copy.deepcopy(spec)
        props = spec.pop("singleValueExtendedProperties", []) or []
        for k in ("id", "@odata.etag", "@odata.context", "changeKey", "parentFolderId",
                  "createdDateTime", "lastModifiedDateTime"):
            spec.pop(k, None)
        now = utcnow()
        fields = contact_defaults()
        fields.update(spec)
        if not fields.get("displayName"):
            fields["displayName"] = " ".join(x for x in (fields.get("givenName"), fields.get("surname")) if x) \
                or next((e.get("address") for e in fields.get("emailAddresses") or [] if e.get("address")), "")
        if not fields.get("fileAs"):
            fields["fileAs"] = ""
        box = user.mailbox
        c = Contact(key=key, folder_id=box.contacts_folder_id,
                    rest_id=rest_item_id(user.oid, "contact", key, box.contacts_folder_id),
                    immutable_id=immutable_item_id(user.oid, "contact", key),
                    fields=fields, created=now, modified=now,
                    change_key=change_key_for(user.oid, key, "0"))
        for p in props:
            pid = canonical_property_id(p["id"])
            c.ext_props[pid.lower()] = {"id": pid, "value": str(p.get("value", ""))}
        box.contacts[key] = c
        box.contact_ids[c.rest_id] = key
        box.contact_ids[c.immutable_id] = key
        return c

    def create_contact(self, user: User, spec: dict) -> Contact:
        with self.lock:
            user.mailbox.counter += 1
            return self._insert_contact(user, f"n{user.mailbox.counter}", spec)

    def update_contact(self, user: User, contact: Contact, changes: dict, props: list[dict] | None = None) -> Contact:
        with self.lock:
            contact.fields.update(copy.deepcopy(changes))
            for p in props or []:
                pid = canonical_property_id(p["id"])
                contact.ext_props[pid.lower()] = {"id": pid, "value": p["value"]}
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

    # -- master categories

    def add_category(self, user: User, display_name: str, color: str = "preset0") -> dict:
        """Create a master category; StoreError(409) when the name exists (case-insensitive)."""
        with self.lock:
            for c in user.mailbox.categories:
                if c["displayName"].lower() == display_name.lower():
                    raise StoreError(409, "Conflict",
                                     "A category with this name already exists.")
            cat = {"id": str(uuid.uuid4()), "displayName": display_name, "color": color or "preset0"}
            user.mailbox.categories.append(cat)
            return dict(cat)

    def delete_category(self, user: User, category_id: str) -> bool:
        with self.lock:
            before = len(user.mailbox.categories)
            user.mailbox.categories = [c for c in user.mailbox.categories if c["id"] != category_id]
            return len(user.mailbox.categories) != before

    # -- delta tokens (opaque, signed, scoped to one mailbox folder and one store load)

    def make_sync_token(self, state: dict) -> str:
        payload = dict(state, e=self.sync_epoch)
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        sig = hmac.new(self.sync_secret, raw, hashlib.sha256).digest()[:12]
        return b64url(raw + sig).rstrip("=")

    def read_sync_token(self, token: str) -> dict:
        """Decode a token made by make_sync_token; raises SyncStateError when invalid or expired."""
        try:
            blob = b64url_decode(token)
            raw, sig = blob[:-12], blob[-12:]
            good = hmac.new(self.sync_secret, raw, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(sig, good):
                raise SyncStateError()
            state = json.loads(raw)
        except SyncStateError:
            raise
        except Exception:
            raise SyncStateError() from None
        if state.get("e") != self.sync_epoch:
            raise SyncStateError()
        return state

    def expire_sync_tokens(self) -> None:
        """Invalidate every outstanding delta/skip token (next use answers 410)."""
        with self.lock:
            self.sync_secret = secrets.token_bytes(32)
            self.sync_epoch = secrets.token_hex(4)

    def delta_changes(self, user: User, folder: Folder, after_seq: int, initial: bool):
        """Changes in `folder` after `after_seq`, ordered by sequence.

        Returns a list of ("message", Message) and ("removed", Tombstone), sorted by seq.
        The initial round (`initial`) lists current messages only.
        """
        entries = [(m.seq, "message", m) for m in self.messages_in(user, folder) if m.seq > after_seq]
        if not initial:
            entries += [(t.seq, "removed", t) for t in user.mailbox.tombstones
                        if t.folder_id == folder.id and t.seq > after_seq]
        entries.sort(key=lambda e: e[0])
        return entries

    # -- subscriptions and notifications

    def add_subscription(self, sub: Subscription) -> Subscription:
        with self.lock:
            self.subscriptions[sub.id] = sub
            return sub

    def prune_expired_subscriptions(self) -> None:
        """Forget subscriptions past their expirationDateTime, as Graph does."""
        with self.lock:
            now = utcnow()
            for sub_id in [k for k, s in self.subscriptions.items() if s.expiration <= now]:
                del self.subscriptions[sub_id]

    def remove_subscription(self, subscription_id: str) -> Subscription | None:
        with self.lock:
            return self.subscriptions.pop(subscription_id, None)

    def _notifier(self):
        if self.notifier is None:
            from emulator.notifications import Notifier
            self.notifier = Notifier(self)
        return self.notifier

    def _emit(self, user: User, msg: Message, change_type: str) -> None:
        now = utcnow()
        for sub in list(self.subscriptions.values()):
            if sub.mailbox_oid != user.oid or change_type not in sub.change_types:
                continue
            if sub.expiration <= now:
                continue
            if sub.folder_id is not None and sub.folder_id != msg.folder_id:
                continue
            self._notifier().change(sub, user, msg, change_type)

    def fire_lifecycle(self, subscription_id: str, event: str) -> None:
        """Send a lifecycle notification (reauthorizationRequired | subscriptionRemoved | missed).

        subscriptionRemoved also deletes the subscription, as Graph does.
        Raises KeyError for an unknown subscription, ValueError for an unknown event.
        """
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"unknown lifecycle event {event!r}; use one of {', '.join(LIFECYCLE_EVENTS)}")
        with self.lock:
            sub = self.subscriptions.get(subscription_id)
            if sub is None:
                raise KeyError(subscription_id)
            if event == "subscriptionRemoved":
                self.subscriptions.pop(subscription_id, None)
            self._notifier().lifecycle(sub, event)


_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|odp|pd|sv|vs|tr|rv)\s*:\s*)+", re.IGNORECASE)


def thread_topic(subject: str) -> str:
    """The subject without reply/forward prefixes: replies share their thread's conversationId."""
    return _REPLY_PREFIX.sub("", subject or "").strip().lower()


def check_message_spec(spec: dict) -> None:
    """ValueError unless `spec` is shaped like Graph message JSON (for fixtures and deliveries)."""
    def address(value, name):
        if not (isinstance(value, dict) and isinstance(value.get("emailAddress"), dict)
                and isinstance(value["emailAddress"].get("address", ""), str)):
            raise ValueError(f"{name} must look like {{'emailAddress': {{'name': ..., 'address': ...}}}}")

    if not isinstance(spec, dict):
        raise ValueError("a message must be a JSON object")
    for name in ("from", "sender"):
        if spec.get(name) is not None:
            address(spec[name], name)
    for name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        if not isinstance(spec.get(name, []), list):
            raise ValueError(f"{name} must be a list")
        for item in spec.get(name, []):
            address(item, name)
    body = spec.get("body")
    if body is not None and not (isinstance(body, dict) and isinstance(body.get("content", ""), str)):
        raise ValueError("body must look like {'contentType': 'text'|'html', 'content': ...}")
    categories = spec.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ValueError("categories must be a list of strings")
    attachments = spec.get("attachments", [])
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise ValueError("attachments must be a list of objects")
    for name in ("receivedDateTime", "sentDateTime"):
        if spec.get(name) is not None:
            if not isinstance(spec[name], str):
                raise ValueError(f"{name} must be an ISO 8601 string")
            parse_iso(spec[name])
    for name in ("subject", "internetMessageId", "conversationId"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise ValueError(f"{name} must be a string")


def _quote(text: str) -> str:
    from urllib.parse import quote
    return quote(text, safe="")


def contact_defaults() -> dict:
    return {
        "categories": [], "birthday": None, "fileAs": "", "displayName": "", "givenName": None,
        "initials": None, "middleName": None, "nickName": None, "surname": None, "title": None,
        "yomiGivenName": None, "yomiSurname": None, "yomiCompanyName": None, "generation": None,
        "imAddresses": [], "jobTitle": None, "companyName": None, "department": None,
        "officeLocation": None, "profession": None, "businessHomePage": None, "assistantName": None,
        "manager": None, "homePhones": [], "mobilePhone": None, "businessPhones": [],
        "spouseName": None, "personalNotes": "", "children": [], "emailAddresses": [],
        "homeAddress": {}, "businessAddress": {}, "otherAddress": {},
    }
