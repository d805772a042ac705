"""Test-side look into the emulated mailboxes, through Graph itself, and new mail to deliver."""

from __future__ import annotations

from server.graph import properties as props
from tests.support.identities import ADELE

SELECT_PROPS = props.expand_filter(props.SYNC_STATE, props.EMAIL_ID)


def find_message(emulator, upn: str, subject: str, folder: str | None = None, immutable: bool = False) -> dict:
    """The message with this subject, as the pane would address it: the REST id
    (what convertToRestId gives), unless `immutable`."""
    token = emulator.graph_token(upn)
    path = f"/me/mailFolders/{folder}/messages" if folder else "/me/messages"
    headers = {"Prefer": 'IdType="ImmutableId"'} if immutable else {}
    quoted = subject.replace("'", "''")
    response = emulator.graph(
        "GET",
        path,
        token,
        headers=headers,
        params={
            "$filter": f"subject eq '{quoted}'",
            "$select": "id,subject,categories",
            "$expand": SELECT_PROPS,
            "$top": "5",
        },
    )
    response.raise_for_status()
    found = response.json()["value"]
    assert found, f"no message {subject!r} in {upn}'s mailbox"
    return found[0]


def outlook_state(emulator, upn: str, message_id: str) -> dict:
    """What Outlook shows for a message: our property values and its categories."""
    token = emulator.graph_token(upn)
    response = emulator.graph(
        "GET", f"/me/messages/{message_id}", token, params={"$select": "id,categories", "$expand": SELECT_PROPS}
    )
    response.raise_for_status()
    body = response.json()
    return {
        "state": props.property_value(body, props.SYNC_STATE),
        "email_id": props.property_value(body, props.EMAIL_ID),
        "categories": body.get("categories") or [],
    }


def new_message(sender: str, subject: str, to=(ADELE,), **extra) -> dict:
    """A message for the emulator to deliver (`emulator.deliver(upn, message)`)."""
    return {
        "subject": subject,
        "from": {"emailAddress": {"address": sender, "name": sender.split("@")[0].title()}},
        "toRecipients": [{"emailAddress": {"address": a, "name": ""}} for a in to],
        "body": {"contentType": "text", "content": f"Body of {subject}"},
        **extra,
    }
