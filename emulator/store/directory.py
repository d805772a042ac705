"""The store's directory: finding users and tenants, and what each app is consented to."""

from __future__ import annotations

import threading

from emulator.store.model import App, Tenant, User


class Directory:
    """Part of `Store`."""

    lock: threading.RLock
    users: dict[str, User]
    tenants: dict[str, Tenant]
    apps: dict[str, App]

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

    def set_account_enabled(self, oid: str, enabled: bool) -> None:
        """Enables or disables a user's account (Entra's accountEnabled)."""
        with self.lock:
            self.users[oid].account_enabled = bool(enabled)

    def set_consent(self, tid: str, client_id: str, scopes=None, roles=None) -> None:
        """Replace what `client_id` is consented to in tenant `tid` (None -> nothing)."""
        with self.lock:
            app = self.apps[client_id]
            app.consent[tid] = {"scopes": list(scopes or []), "roles": list(roles or [])}
