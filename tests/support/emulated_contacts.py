"""Test-side look into and edits of the emulated Outlook contacts, through Graph itself."""

from __future__ import annotations

from server.graph import properties as props

EXPAND = props.expand_filter(props.CONTACT_ID)


def contacts_with(emulator, upn: str, address: str) -> list[dict]:
    token = emulator.graph_token(upn)
    quoted = address.replace("'", "''")
    response = emulator.graph(
        "GET",
        "/me/contacts",
        token,
        params={"$filter": f"emailAddresses/any(a:a/address eq '{quoted}')", "$expand": EXPAND, "$top": "50"},
    )
    response.raise_for_status()
    return response.json()["value"]


def outlook_contact(emulator, upn: str, contact_id: str) -> dict:
    """The contact with its CrmContactId as "crm_contact_id"."""
    token = emulator.graph_token(upn)
    response = emulator.graph("GET", f"/me/contacts/{contact_id}", token, params={"$expand": EXPAND})
    response.raise_for_status()
    body = response.json()
    body["crm_contact_id"] = props.property_value(body, props.CONTACT_ID)
    return body


def edit_outlook_contact(emulator, upn: str, contact_id: str, **fields) -> dict:
    """What the user does in Outlook: PATCH the contact."""
    token = emulator.graph_token(upn)
    response = emulator.graph("PATCH", f"/me/contacts/{contact_id}", token, json=fields)
    response.raise_for_status()
    return response.json()


def new_outlook_contact(emulator, upn: str, **fields) -> dict:
    token = emulator.graph_token(upn)
    response = emulator.graph("POST", "/me/contacts", token, json=fields, headers={"Prefer": 'IdType="ImmutableId"'})
    response.raise_for_status()
    return response.json()
