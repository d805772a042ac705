"""Change-notification subscriptions on Graph: create, renew and delete them."""

from __future__ import annotations

from urllib.parse import quote

from .endpoint import GraphEndpoint
from .errors import NotFound
from .odata import iso_datetime, odata_string


class SubscriptionOperations(GraphEndpoint):
    """Subscriptions to this mailbox's messages."""

    def messages_resource(self, folder: str | None = None) -> str:
        """The subscription `resource` for this mailbox's messages (in a folder)."""
        root = self.root.lstrip("/")
        if folder is None:
            return f"{root}/messages"
        return f"{root}/mailFolders({odata_string(str(folder))})/messages"

    def create_subscription(
        self,
        resource: str,
        *,
        notification_url: str,
        client_state: str,
        expiration,
        change_type: str = "created,updated",
        lifecycle_notification_url: str | None = None,
    ) -> dict:
        """Subscribe to change notifications; returns Graph's subscription (with "id")."""
        body = {
            "changeType": change_type,
            "notificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": iso_datetime(expiration),
            "clientState": client_state,
        }
        if lifecycle_notification_url:
            body["lifecycleNotificationUrl"] = lifecycle_notification_url
        return self._call("POST", "/subscriptions", json_body=body)

    def renew_subscription(self, subscription_id: str, expiration) -> dict:
        return self._call(
            "PATCH",
            f"/subscriptions/{quote(str(subscription_id), safe='')}",
            json_body={"expirationDateTime": iso_datetime(expiration)},
        )

    def delete_subscription(self, subscription_id: str) -> None:
        """Delete a subscription; one already gone is not an error."""
        try:
            self._call("DELETE", f"/subscriptions/{quote(str(subscription_id), safe='')}")
        except NotFound:
            pass
