"""Seeding the store from a JSON fixture (docs/ARCHITECTURE.md, "Fixture format")."""

from __future__ import annotations

import copy
import threading
import uuid

from emulator.store.folders import WELL_KNOWN_FOLDERS
from emulator.store.ids import digest, folder_item_id
from emulator.store.model import App, Folder, Subscription, Tenant, User


class FixtureLoading:
    """Part of `Store`: (re)builds every tenant, app, user and mailbox from a fixture."""

    lock: threading.RLock

    def load(self, fixture: dict) -> None:
        """Replace the whole state with `fixture`'s; raises ValueError for a message in an unknown folder."""
        with self.lock:
            # A fresh secret per load: delta tokens from before a reset are "expired" (410).
            self.new_sync_secret()
            self.seq = 0
            self.subscriptions: dict[str, Subscription] = {}
            self.notification_log: list[dict] = []
            self.tenants = {
                t["tid"]: Tenant(t["tid"], t["name"], list(t.get("domains", []))) for t in fixture.get("tenants", [])
            }
            self.apps = {}
            for a in fixture.get("apps", []):
                self.apps[a["client_id"]] = App(
                    client_id=a["client_id"],
                    client_secret=a.get("client_secret", ""),
                    display_name=a.get("display_name", ""),
                    identifier_uris=list(a.get("identifier_uris", [])),
                    home_tenant=a.get("home_tenant", ""),
                    consent=copy.deepcopy(a.get("consent", {})),
                    redirect_uris=list(a.get("redirect_uris", [])),
                    app_roles=copy.deepcopy(a.get("app_roles", [])),
                    group_membership_claims=a.get("group_membership_claims"),
                )
            self.users = {}
            for u in fixture.get("users", []):
                user = User(
                    oid=u["oid"],
                    tid=u["tid"],
                    upn=u["upn"],
                    display_name=u.get("display_name", u["upn"]),
                    mail=u.get("mail", u["upn"]),
                    aliases=list(u.get("aliases", [])),
                    display_language=u.get("display_language", "en-US"),
                    time_zone=u.get("time_zone", "UTC"),
                    date_format=u.get("date_format", "M/d/yyyy"),
                    time_format=u.get("time_format", "h:mm tt"),
                    account_enabled=bool(u.get("account_enabled", True)),
                    app_role_assignments=copy.deepcopy(u.get("app_role_assignments", [])),
                    directory_roles=list(u.get("directory_roles", [])),
                )
                self.users[user.oid] = user
                self._seed_mailbox(user, u)
            self.load_mailbox_scopes(fixture)

    def add_user(self, spec: dict) -> User:
        """A new user (fixture shape: oid, tid, upn, display_name, app_role_assignments,
        directory_roles, ...) with empty standard folders; gone at the next reset.
        Raises ValueError for an unknown tenant or a UPN or oid already taken."""
        with self.lock:
            if spec.get("tid") not in self.tenants:
                raise ValueError(f"no tenant '{spec.get('tid')}'")
            if spec["oid"] in self.users or self.find_user(spec["upn"]) is not None:
                raise ValueError(f"user '{spec['upn']}' exists")
            user = User(
                oid=spec["oid"],
                tid=spec["tid"],
                upn=spec["upn"],
                display_name=spec.get("display_name") or spec["upn"],
                mail=spec.get("mail") or spec["upn"],
                app_role_assignments=copy.deepcopy(spec.get("app_role_assignments", [])),
                directory_roles=list(spec.get("directory_roles", [])),
            )
            self.users[user.oid] = user
            self._seed_mailbox(user, spec)
            return user

    def _seed_mailbox(self, user: User, spec: dict) -> None:
        box = user.mailbox
        oid = user.oid
        by_key: dict[str, Folder] = {}
        root = Folder(
            folder_item_id(oid, "msgfolderroot"), "msgfolderroot", "Top of Information Store", None, "msgfolderroot"
        )
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
            box.categories.append(
                {
                    "id": str(uuid.UUID(bytes=digest("category", oid, str(i), size=16))),
                    "displayName": c["displayName"],
                    "color": c.get("color", "preset0"),
                }
            )
        for i, cspec in enumerate(spec.get("contacts", [])):
            self.insert_contact(user, f"c{i}", cspec)
        for i, mspec in enumerate(spec.get("messages", [])):
            mspec = dict(mspec)
            folder = self.folder(user, mspec.pop("folder", "inbox"))
            if folder is None:
                raise ValueError(f"fixture message {i} of {user.upn}: unknown folder")
            self.insert_message(user, f"m{i}", folder, mspec, emit=False)
