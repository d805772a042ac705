"""Runs the function-command tests (node's test runner on office-addin-mock) from pytest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def test_function_commands_always_complete_their_event():
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "office-addin-mock").exists():
        pytest.fail("node and office-addin-mock are needed: run `npm ci` (make test does)")
    result = subprocess.run([node, "--test", "tests/addin/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
