"""The store's change-notification subscriptions: keeping them, and raising change and lifecycle notifications."""

from __future__ import annotations

import threading

from emulator.notifications import Notifier
from emulator.store.clock import utcnow
from emulator.store.model import Message, Subscription, User

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


class Subscriptions:
    """Part of `Store`. The notifier (and its delivery thread) starts with the first notification."""

    lock: threading.RLock
    subscriptions: dict[str, Subscription]
    notifier: Notifier | None

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

    def _notifier(self) -> Notifier:
        if self.notifier is None:
            self.notifier = Notifier(self)
        return self.notifier

    def emit_change(self, user: User, msg: Message, change_type: str) -> None:
        """Queue a change notification for every live subscription watching `msg`'s folder."""
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
