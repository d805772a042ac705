"""Fixtures for the emulated-Graph tests: the emulator as the fixture seeds it before each
test, Graph clients per caller and a webhook receiver."""

import pytest

from tests.support.emulated_graph import Graph, WebhookReceiver
from tests.support.identities import ADELE, CONTOSO, MEGAN


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator_reset):
    # Only the emulator's own tests share its state this closely; others opt in.
    pass


@pytest.fixture
def adele(emulator):
    """Delegated Graph as Adele (every consented scope)."""
    return Graph(emulator, emulator.graph_token(ADELE))


@pytest.fixture
def megan(emulator):
    """Delegated Graph as Megan."""
    return Graph(emulator, emulator.graph_token(MEGAN))


@pytest.fixture
def contoso_app(emulator):
    """App-only Graph for Contoso, aimed at Adele's mailbox by default ("~" = /users/<adele>)."""
    return Graph(emulator, emulator.app_token(CONTOSO), f"/users/{ADELE}")


@pytest.fixture
def receiver():
    """A local plain-HTTP webhook endpoint, like the backend's."""
    r = WebhookReceiver()
    yield r
    r.close()
