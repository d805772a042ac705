"""The emulated tenants' records: tenants, apps, users and their mailboxes, items and subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


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
    # The manifest's appRoles ({"id", "value", "allowedMemberTypes", "isEnabled", ...}).
    app_roles: list[dict] = field(default_factory=list)
    # The manifest's groupMembershipClaims: "DirectoryRole" or "All" puts `wids` in tokens.
    group_membership_claims: str | None = None

    def role_values(self) -> set[str]:
        """The values of the enabled app roles users can be assigned."""
        return {
            r["value"]
            for r in self.app_roles
            if r.get("isEnabled", True) and "User" in r.get("allowedMemberTypes", ["User"]) and r.get("value")
        }


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
    folders: dict[str, Folder] = field(default_factory=dict)  # graph id -> folder
    messages: dict[str, Message] = field(default_factory=dict)  # key -> message
    contacts: dict[str, Contact] = field(default_factory=dict)  # key -> contact
    categories: list[dict] = field(default_factory=list)  # {"id","displayName","color"}
    tombstones: list[Tombstone] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # rest/immutable id -> message key
    contact_ids: dict[str, str] = field(default_factory=dict)  # rest/immutable id -> contact key
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
    # mailboxSettings: a Windows zone name, as Exchange Online answers by default.
    time_zone: str = "UTC"
    date_format: str = "M/d/yyyy"
    time_format: str = "h:mm tt"
    # Entra's accountEnabled: a disabled user can neither sign in nor renew a token.
    account_enabled: bool = True
    # App roles assigned to the user ({"client_id", "value"}) and the template ids of
    # the user's directory roles (e.g. Global Administrator).
    app_role_assignments: list[dict] = field(default_factory=list)
    directory_roles: list[str] = field(default_factory=list)
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
    creator_oid: str | None  # None for app-only subscriptions
    mailbox_oid: str
    folder_id: str | None  # None: every folder of the mailbox
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
            "expirationDateTime": self.expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "creatorId": self.creator_oid or self.client_id,
            "includeResourceData": self.include_resource_data,
            "latestSupportedTlsVersion": self.latest_tls,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }
