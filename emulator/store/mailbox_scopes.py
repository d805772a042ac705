"""Which mailboxes an app may reach with app-only tokens in a tenant, as Exchange Online's
RBAC for Applications (or an application access policy) scopes it.

Without a scope an app's application permissions reach every mailbox of the tenant
(Graph's default). With one, only the listed mailboxes (users by object id, UPN or
address; `group` is just the name the scope is known by, like the mail-enabled security
group a real policy names): Graph answers any other mailbox 403 ErrorAccessDenied
"Access to OData is disabled.". Delegated tokens are never scoped. Seeded from the
fixture's `apps[].mailbox_scope` ({tid: {"group"?, "mailboxes": [...]}}), changed with
POST /_emulator/mailbox-scope.
"""

from __future__ import annotations

import threading

from emulator.store.model import User


class MailboxScopes:
    """Part of `Store`."""

    lock: threading.RLock
    users: dict[str, User]
    mailbox_scopes: dict[tuple[str, str], dict]

    def load_mailbox_scopes(self, fixture: dict) -> None:
        self.mailbox_scopes = {}
        for app in fixture.get("apps", []):
            for tid, scope in (app.get("mailbox_scope") or {}).items():
                self.set_mailbox_scope(tid, app["client_id"], scope.get("mailboxes"), scope.get("group"))

    def set_mailbox_scope(self, tid: str, client_id: str, mailboxes, group: str | None = None) -> dict | None:
        """Restrict `client_id`'s app-only access in `tid` to `mailboxes` (None lifts the
        restriction). Raises ValueError for a mailbox that is no user of that tenant."""
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
            scope = {"group": group, "mailboxes": sorted(set(oids))}
            self.mailbox_scopes[(client_id, tid)] = scope
            return scope

    def mailbox_scope(self, tid: str, client_id: str) -> dict | None:
        return self.mailbox_scopes.get((client_id, tid))

    def app_reaches(self, client_id: str | None, user: User) -> bool:
        """Whether an app-only token of `client_id` may open `user`'s mailbox."""
        scope = self.mailbox_scopes.get((client_id or "", user.tid))
        return scope is None or user.oid in scope["mailboxes"]
