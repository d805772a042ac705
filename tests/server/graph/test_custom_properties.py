"""The add-in's custom properties (Office.js `saveAsync`), read by the Graph client in
the same request as the message: `message["crm"]["custom"]`, a dict."""

from __future__ import annotations

import pytest

from server.graph import GraphClient
from server.graph import properties as props
from server.tls import http_session
from tests.support.emulated_messages import new_message
from tests.support.identities import ADELE

ADDIN_ID = "2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52"


@pytest.fixture
def client(emulator, tmp_path):
    emulator.reset()
    session = http_session({"CA_BUNDLE": emulator.ca_path, "INSTANCE_DIR": str(tmp_path)})
    token = emulator.graph_token(ADELE)
    config = {"GRAPH_BASE_URL": emulator.graph_url, "GRAPH_MAX_WAIT_S": 10, "GRAPH_TIMEOUT_S": "5,10"}
    return GraphClient.from_config({**config, "REDIS_URL": None, "ADDIN_ID": ADDIN_ID}, lambda: token, session)


def delivered(emulator, subject: str, value: str | None) -> str:
    extra = {}
    if value is not None:
        extra["singleValueExtendedProperties"] = [{"id": props.custom_properties_id(ADDIN_ID), "value": value}]
    return emulator.deliver(ADELE, new_message("jan@fabrikam.example", subject, **extra))["id"]


def test_custom_properties_come_with_the_message_in_one_request(client, emulator):
    good = delivered(emulator, "custom: set", '{"crm_case_id": 12, "crm_task_id": 34}')
    emulator.clear_requests()

    message = client.get_message(good)

    assert message["crm"]["custom"] == {"crm_case_id": 12, "crm_task_id": 34}
    assert len(emulator.requests(path=r"^/v1\.0/me/messages/")) == 1
    batch = client.get_messages([good])
    assert batch[good]["crm"]["custom"] == {"crm_case_id": 12, "crm_task_id": 34}


@pytest.mark.parametrize("value", [None, "", "not json", "[1, 2]", '"text"'])
def test_absent_or_malformed_custom_properties_read_as_empty(client, emulator, value):
    message_id = delivered(emulator, f"custom: {value!r}", value)
    assert client.get_message(message_id)["crm"]["custom"] == {}
