"""A third-party Graph client (O365) works against the emulator: list, read, contacts.

The emulator must be a faithful enough Graph that code we did not write can use it, not
only our own client. O365 talks to the emulator through its own protocol and connection
classes; only the base URL, the token and the CA it trusts are the emulator's.
"""

import time

import pytest
from O365 import Account, MSGraphProtocol
from O365.utils.token import MemoryTokenBackend

ADELE = "adele.vance@contoso.com"
CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"


class EmulatorGraphProtocol(MSGraphProtocol):
    """Microsoft Graph v1.0 as O365 knows it, served from the emulator instead of graph.microsoft.com."""

    def __init__(self, base_url: str, **kwargs):
        # MSGraphProtocol builds its service URL from _protocol_url, which must end in "/".
        self._protocol_url = base_url.rstrip("/") + "/"
        super().__init__(api_version="v1.0", **kwargs)


class IssuedTokenBackend(MemoryTokenBackend):
    """O365's in-memory token cache, holding one access token the emulator issued.

    The token goes into the MSAL cache the way a sign-in would put it there, so O365
    reads it back through its own lookup (get_access_token) and sees it as unexpired.
    """

    def __init__(self, access_token: str, tenant_id: str):
        super().__init__()
        self.add(
            {
                "client_id": CLIENT_ID,
                "scope": ["Mail.ReadWrite", "Contacts.ReadWrite"],
                "token_endpoint": f"https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token",
                "response": {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600},
            },
            now=time.time(),
        )


@pytest.fixture
def account(emulator):
    adele = emulator.user(ADELE)
    account = Account(
        (CLIENT_ID, "unused"),
        protocol=EmulatorGraphProtocol(emulator.base_url),
        token_backend=IssuedTokenBackend(emulator.graph_token(ADELE), adele["tid"]),
        tenant_id=adele["tid"],
        request_retries=0,
    )
    # O365's own requests session, trusting only the emulator's CA (not REQUESTS_CA_BUNDLE).
    session = account.con.get_session(load_token=True)
    session.trust_env = False
    session.verify = emulator.ca_path
    account.con.session = session
    return account


def test_lists_the_inbox_newest_first(account):
    inbox = account.mailbox().inbox_folder()
    messages = list(inbox.get_messages(limit=50, order_by="receivedDateTime desc"))
    subjects = [m.subject for m in messages]
    assert "Hard case: display names with commas and quotes" in subjects
    assert "Hard case: IDN domains" in subjects
    received = [m.received for m in messages]
    assert received == sorted(received, reverse=True)
    commas = next(m for m in messages if m.subject == "Hard case: display names with commas and quotes")
    assert commas.sender.address == "lynne.robbins@northwind.example"
    assert commas.sender.name == "Robbins, Lynne"


def test_reads_one_message_by_id(account):
    mailbox = account.mailbox()
    listed = next(m for m in mailbox.inbox_folder().get_messages(limit=50) if m.subject == "Hard case: IDN domains")
    message = mailbox.get_message(object_id=listed.object_id)
    assert message.object_id == listed.object_id
    assert message.subject == "Hard case: IDN domains"
    assert message.sender.address == "jan@bücher.example"
    assert message.sender.name == "Jan Novák"
    assert message.body


def test_reads_the_users_contacts(account):
    contacts = {c.full_name: c for c in account.address_book().get_contacts(limit=50)}
    assert {"Lynne Robbins", "Jan Novák"} <= set(contacts)
    lynne = contacts["Lynne Robbins"]
    assert lynne.main_email == "Lynne.Robbins@Northwind.example"
    assert lynne.job_title == "Purchasing Manager"
    assert lynne.company_name == "Northwind Traders"
