"""The pane's own input limits are the CRM's (server/crm/field_limits.py): a value the
pane lets a person type is one the backend takes, and a longer one is stopped where it
is typed. The pane has no build step to import the numbers, so this test holds them
together."""

from __future__ import annotations

import re

from server.crm import field_limits as limits
from tests.support.paths import ROOT

PANE = ROOT / "addin" / "taskpane"

# (file, a pattern whose group is the pane's limit for the field, the CRM's limit)
PANE_LIMITS = [
    ("contact-actions.js", r'name: "name"[^}]*maxLength: (\d+)', limits.DISPLAY_NAME),
    ("contact-actions.js", r'name: "address"[^}]*maxLength: (\d+)', limits.EMAIL),
    ("contact-actions.js", r'name: "company"[^}]*maxLength: (\d+)', limits.COMPANY_NAME),
    ("filed-email.js", r"name: `\$\{kind\}_title`[^}]*maxLength: (\d+)", limits.TITLE),
    ("taskpane.html", r'<textarea id="note-body"[^>]*maxlength="(\d+)"', limits.NOTE),
]


def test_the_panes_input_limits_are_the_crms():
    for name, pattern, crm_limit in PANE_LIMITS:
        found = re.findall(pattern, (PANE / name).read_text(encoding="utf-8"))
        assert found, (name, pattern)
        assert {int(n) for n in found} == {crm_limit}, (name, pattern, found, crm_limit)


def test_every_maxlength_in_the_pane_is_one_of_the_crms_limits():
    known = {limit for limit, _label in limits.LIMITS.values()}
    for path in sorted(PANE.glob("*.js")) + sorted(PANE.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for number in re.findall(r"max[lL]ength[=:]\s*\"?(\d+)", text):
            assert int(number) in known, (path.name, number)
