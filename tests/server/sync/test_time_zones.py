"""A mailbox's `timeZone` as an IANA name: Windows names through CLDR's windowsZones
table (as Babel ships it), IANA names as they are, anything else unknown."""

from __future__ import annotations

import pytest

from server.sync.time_zones import iana_time_zone


@pytest.mark.parametrize(
    ("outlook", "iana"),
    [
        ("Central Europe Standard Time", "Europe/Budapest"),  # Prague's zone, CLDR's city for it
        ("Central European Standard Time", "Europe/Warsaw"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("GMT Standard Time", "Europe/London"),
        ("UTC", "Etc/UTC"),
        ("Europe/Prague", "Europe/Prague"),  # an administrator may set IANA names up
        (" W. Europe Standard Time ", "Europe/Berlin"),
    ],
)
def test_outlook_zones_map_to_iana_names(outlook, iana):
    assert iana_time_zone(outlook) == iana


@pytest.mark.parametrize("outlook", [None, "", "Mars Standard Time", "../../etc/passwd", 42])
def test_unknown_zones_are_none(outlook):
    assert iana_time_zone(outlook) is None
