"""Which mailboxes an app may reach with app-only tokens in a tenant, as Exchange Online's
RBAC for Applications (or an application access policy) scopes it.

Without a scope an app's application permissions reach every mailbox of the tenant
(Graph's default). With one, only the listed mailboxes (users by object id, UPN or
address; `group` is just the name the scope is known by, like the mail-enabled security
group a real policy names). Two kinds, as in Exchange Online:

- "policy" (an application access policy, the default): it restricts what Entra's admin
  consent grants; any other mailbox answers 403 ErrorAccessDenied "Access to OData is
  disabled.".
- "rbac" (RBAC for Applications): the listed mailboxes get `roles` (default: the
  Application Mail.ReadWrite, Contacts.ReadWrite and MailboxSettings.ReadWrite roles)
  without any Entra consent, in addition to what Entra's consent grants everywhere; a
  mailbox reached by neither answers 403 ErrorAccessDenied "Access is denied. Check
  credentials and try again.", as for a missing permission.

Delegated tokens are never scoped. Seeded from the fixture's `apps[].mailbox_scope`
({tid: {"group"?, "kind"?, "roles"?, "mailboxes": [...]}}), changed with
POST /_emulator/mailbox-scope.
"""

from __future__ import annotations

import threading

from emulator.store.model import User

RBAC_ROLES = ("Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite")


class MailboxScopes:
    """Part of `Store`."""

    lock: threading.RLock
    users: dict[str, User]
    mailbox_scopes: dict[tuple[str, str], dict]

    def load_mailbox_scopes(self, fixture: dict) -> None:
        self.mailbox_scopes = {}
        for app in fixture.get("apps", []):
            for tid, scope in (app.get("mailbox_scope") or {}).items():
                self.set_mailbox_scope(
                    tid,
                    app["client_id"],
                    scope.get("mailboxes"),
                    scope.get("group"),
                    kind=scope.get("kind") or "policy",
                    roles=scope.get("roles"),
                )

    def set_mailbox_scope(
        self, tid: str, client_id: str, mailboxes, group: str | None = None, *, kind: str = "policy", roles=None
    ) -> dict | None:
        """Restrict `client_id`'s app-only access in `tid` to `mailboxes` (None lifts the
        restriction). Raises ValueError for a mailbox that is no user of that tenant, or
        an unknown kind."""
        if kind not in ("policy", "rbac"):
            raise ValueError(f"kind must be 'policy' or 'rbac', not {kind!r}")
        with self.lock:
            if mailboxes is None:
                self.mailbox_scopes.pop((client_id, tid), None)
                return None
            oids = []
            for ref in mailboxes:
                user = self.find_user(str(ref))  # type: ignore[attr-defined]  # Directory's
                if user is None or user.tid != tid:
                    raise ValueError(f"no mailbox '{ref}' in tenant {tid}")
                oids.append(user.oid)
            scope = {"group": group, "kind": kind, "mailboxes": sorted(set(oids))}
            if kind == "rbac":
                scope["roles"] = list(roles if roles is not None else RBAC_ROLES)
            self.mailbox_scopes[(client_id, tid)] = scope
            return scope

    def mailbox_scope(self, tid: str, client_id: str) -> dict | None:
        return self.mailbox_scopes.get((client_id, tid))

    def app_reaches(self, client_id: str | None, user: User) -> bool:
        """Whether an application access policy lets `client_id`'s app-only tokens open
        `user`'s mailbox (RBAC for Applications grants instead: `rbac_roles`)."""
        scope = self.mailbox_scopes.get((client_id or "", user.tid))
        return scope is None or scope["kind"] != "policy" or user.oid in scope["mailboxes"]

    def rbac_roles(self, client_id: str | None, user: User) -> list[str]:
        """The application roles RBAC for Applications gives `client_id` on `user`'s mailbox."""
        scope = self.mailbox_scopes.get((client_id or "", user.tid))
        if scope is None or scope["kind"] != "rbac" or user.oid not in scope["mailboxes"]:
            return []
        return list(scope["roles"])
