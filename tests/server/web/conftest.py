"""The CRM pages on the backend the pane calls, plus a browser-like sign-in through the
emulator's real sign-in page."""

from __future__ import annotations

import pytest

from tests.support.identities import ADELE
from tests.support.signin_client import Browser


@pytest.fixture
def browser(app, client, emulator):
    """`browser(upn)` -> a signed-in Browser (a new cookie jar for each)."""

    def make(upn: str = ADELE) -> Browser:
        person = Browser(app.test_client(), emulator)
        person.sign_in(upn)
        return person

    return make
