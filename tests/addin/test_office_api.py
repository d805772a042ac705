"""The add-in and the emulated Outlook use only the Office.js Microsoft publishes.

scripts/check-office-api.mjs holds every Office.js member the pane, the compose pane, the ribbon
commands and the event handlers use against @types/office-js (it exists, its arguments have the
documented shape, the manifest declares its requirement set for every block that loads the file,
or the code checks for it first), and every member the emulator's Office.js shim defines (it
exists in Office.js). The fixture under office_api_fixture/ proves each kind of failure is caught.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "check-office-api.mjs"
FIXTURE = Path(__file__).resolve().parent / "office_api_fixture"


def run_check(*args: str) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "@types" / "office-js").exists():
        pytest.fail("node, typescript and @types/office-js are needed: run `npm ci` (make test does)")
    return subprocess.run([node, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def repo_report() -> subprocess.CompletedProcess:
    return run_check("--verbose")


@pytest.fixture(scope="module")
def fixture_report() -> subprocess.CompletedProcess:
    return run_check("--root", str(FIXTURE), "--shim", str(FIXTURE / "shim.js"))


def test_the_addin_and_the_shim_pass(repo_report):
    out = repo_report.stdout
    assert repo_report.returncode == 0, out[-6000:] + repo_report.stderr[-2000:]
    assert "OK: every Office.js member used exists" in out


def test_the_check_sees_the_pane_the_commands_the_handlers_and_the_shim(repo_report):
    out = repo_report.stdout
    uses = int(re.search(r"(\d+) uses of Office\.js members", out).group(1))
    shim_members = int(re.search(r"Shim \S+: (\d+) members", out).group(1))
    assert uses >= 100 and shim_members >= 100, out[:2000]
    # Each surface with the sets the manifest declares for it: the compose pane loads from the
    # Mailbox 1.5 block (what mobile has), so it guards 1.7 and 1.8; the event handlers run only
    # for their launch events, the lowest of which (OnNewMessageCompose) is 1.10; the read pane
    # also loads from the 1.1 form.
    assert re.search(r"^addin/taskpane/compose-draft\.js: declared mailbox 1\.5 in compose mode ", out, re.M)
    assert re.search(r"^addin/events/events\.js: declared mailbox 1\.10 in compose mode ", out, re.M)
    assert re.search(r"^addin/commands/commands\.js: declared mailbox 1\.3 in read mode ", out, re.M)
    assert re.search(r"^addin/taskpane/taskpane\.js: declared mailbox 1\.1 in read mode ", out, re.M)
    # Members reached through typed values, not only through Office.context.
    for member in (
        "Office.MessageCompose.loadCustomPropertiesAsync [Mailbox 1.1]",
        "Office.CustomProperties.saveAsync",
        "Office.Categories.addAsync [Mailbox 1.8]",
        "Office.Recipients.getAsync",
        "Office.MailboxEvent.completed",
        "Office.AddinCommands.Event.completed",
        "Office.MailboxEnums.SendModeOverride.PromptUser [Mailbox 1.14]",
    ):
        assert member in out, member
    for shim_member in (
        "Office.context.mailbox.item.categories.addAsync",
        "Office.context.mailbox.item.loadCustomPropertiesAsync",
        "CustomProperties.saveAsync",
        "AsyncResult.error.code",
        "command.completed",
    ):
        assert f"\n  {shim_member}\n" in out, shim_member


def problems(report: subprocess.CompletedProcess) -> list[str]:
    return [line for line in report.stdout.splitlines() if line.startswith("- [")]


def test_an_invented_member_is_reported(fixture_report):
    assert fixture_report.returncode == 1, fixture_report.stdout + fixture_report.stderr
    assert any(
        line.startswith("- [no such member] item.fileInCrmAsync at addin/pane/pane.js:9:")
        for line in problems(fixture_report)
    ), fixture_report.stdout


def test_a_wrong_argument_shape_is_reported(fixture_report):
    found = [
        line
        for line in problems(fixture_report)
        if line.startswith("- [arguments] Office.Categories.addAsync at addin/pane/pane.js:12:")
    ]
    assert found and "not assignable to parameter of type 'string[]'" in found[0], fixture_report.stdout


def test_a_member_above_the_declared_set_is_reported_unless_guarded(fixture_report):
    lines = problems(fixture_report)
    above = [line for line in lines if line.startswith("- [requirement set]")]
    assert any("Office.Categories.getAsync at addin/pane/pane.js:15:" in line for line in above), fixture_report.stdout
    assert any("needs Mailbox 1.8; the manifest declares Mailbox 1.3" in line for line in above)
    # A guard asking for too low a version does not count, nor an early return the wrong way round.
    assert any("Office.Categories.removeAsync at addin/pane/pane.js:18:" in line for line in above)
    assert any("Office.MasterCategories.addAsync at addin/pane/pane.js:34:" in line for line in above)
    # Guarded by isSetSupported at the version needed, by a test of the member, by an early return: not reported.
    for member in ("MasterCategories.getAsync", "getSelectedItemsAsync", "getAllAsync"):
        assert not any(member in line for line in lines), member
    # One report per chain: item.categories.getAsync, not item.categories as well.
    assert not any("Office.MessageCompose.categories" in line for line in lines)


def test_a_member_of_the_other_mode_is_reported(fixture_report):
    found = [
        line
        for line in problems(fixture_report)
        if line.startswith("- [mode] Office.Recipients.getAsync at addin/pane/pane.js:38:")
    ]
    assert found and "offers it in compose mode; the manifest loads this file only in read mode" in found[0], (
        fixture_report.stdout
    )


def test_an_office_call_on_an_untyped_value_is_reported(fixture_report):
    assert any(
        line.startswith("- [untyped] mailItem.categories.getAsync at addin/pane/helper.js:3:")
        for line in problems(fixture_report)
    ), fixture_report.stdout


def test_a_member_the_shim_invented_is_reported(fixture_report):
    shim = [line for line in problems(fixture_report) if line.startswith("- [shim]")]
    assert any("Office.context.mailbox.fileInCrm at shim.js: not in Office.js" in line for line in shim), (
        fixture_report.stdout
    )
    assert any("Office.MailboxEnums.CategoryColor.Preset99 at shim.js: not in Office.js" in line for line in shim)
    assert any(
        "Office.context.displayLanguage at shim.js: a function in the shim, but string in Office.js" in line
        for line in shim
    )
    assert any(
        "Office.context.mailbox.convertToRestId at shim.js: takes 3 arguments; Office.js documents at most 2" in line
        for line in shim
    )
    # What the shim gets right is not reported.
    assert not any("CategoryColor.Preset7" in line or "AsyncResultStatus" in line for line in shim)
