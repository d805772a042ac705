"""The pane's own files: every string it asks for exists in English, Polish and Czech, and
the whole pane stays within its download budget (no build step, so what we write is what ships)."""

from __future__ import annotations

import gzip
import re

from tests.support.paths import ROOT

PANE = ROOT / "addin" / "taskpane"
SHARED = ROOT / "addin" / "shared"
BUDGET_GZIP_BYTES = 60 * 1024
LANGUAGES = ("en", "pl", "cs")


def catalogue() -> dict[str, set[str]]:
    blocks = {}
    for lang in LANGUAGES:
        body = (SHARED / "strings" / f"{lang}.js").read_text(encoding="utf-8")
        blocks[lang] = set(re.findall(r'^\s+"([\w.]+)":', body, re.M))
    return blocks


def test_every_language_has_every_string():
    blocks = catalogue()
    for lang in LANGUAGES[1:]:
        assert blocks[lang] == blocks["en"], (lang, blocks["en"] ^ blocks[lang])


def test_every_string_the_pane_uses_is_in_the_catalogue():
    keys = catalogue()["en"]
    used = set()
    namespaces = {key.split(".")[0] for key in keys}
    for path in [*PANE.glob("*.js"), *SHARED.glob("*.js"), ROOT / "addin" / "commands" / "commands.js"]:
        # Every "namespace.key" literal, so keys chosen by a condition count too.
        literals = re.findall(r'"([a-z]+\.[A-Za-z_]+)"', path.read_text(encoding="utf-8"))
        used |= {key for key in literals if key.split(".")[0] in namespaces}
    html = (PANE / "taskpane.html").read_text(encoding="utf-8")
    used |= set(re.findall(r'data-i18n(?:-aria)?="([\w.]+)"', html))
    assert used and used <= keys, used - keys


def test_the_pane_is_at_most_60_kb_gzipped():
    files = sorted(p for p in [*PANE.iterdir(), *SHARED.rglob("*")] if p.suffix in (".js", ".css", ".html"))
    size = len(gzip.compress(b"".join(p.read_bytes() for p in files), 9))
    assert size <= BUDGET_GZIP_BYTES, f"{size} bytes gzipped"
