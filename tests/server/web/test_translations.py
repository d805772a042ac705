"""The pages' catalogues are complete: every message the code and the templates mark
for translation has a Polish and a Czech translation (not empty, not fuzzy, with the
same placeholders), and no template shows English text that is not marked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.support.paths import ROOT as REPO_ROOT

TEMPLATES = REPO_ROOT / "server" / "templates" / "crm"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Text a template may show as it is: the product's name and punctuation.
AS_IS = {"CRM Sync"}


def marked_messages() -> dict[str, str | tuple]:
    """msgid -> the message (a tuple for plurals), from babel.cfg's files."""
    with (REPO_ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO_ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found[message[0] if isinstance(message, tuple) else message] = message
    return found


def catalogue(language: str):
    with (REPO_ROOT / "server" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def test_the_pages_mark_their_messages():
    messages = marked_messages()
    assert len(messages) > 250
    assert "Latest filed emails" in messages and "Waiting to start" in messages  # templates and code


@pytest.mark.parametrize("language", ["pl", "cs"])
def test_every_marked_message_is_translated(language):
    catalog = catalogue(language)
    problems = []
    for key, message in marked_messages().items():
        entry = catalog.get(message if isinstance(message, str) else message[0])
        if entry is None:
            problems.append(f"missing: {key!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(forms) != (catalog.num_plurals if isinstance(message, tuple) else 1) or not all(forms):
            problems.append(f"untranslated: {key!r}")
            continue
        wanted = set(PLACEHOLDER.findall(key))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) - wanted - {"num"} or wanted - set(PLACEHOLDER.findall(form)) - {"num"}:
                problems.append(f"placeholders differ: {key!r} -> {form!r}")
    assert problems == [], f"{len(problems)} catalogue problems in {language}: see server/translations/README.md"


def visible_text(template: str) -> list[str]:
    """Words a template shows that are not inside a Jinja expression, tag or comment."""
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", template, flags=re.DOTALL)
    text = re.sub(r"<!doctype[^>]*>|<[^>]*>|&\w+;|&#\w+;", " ", text, flags=re.DOTALL | re.IGNORECASE)
    for allowed in AS_IS:
        text = text.replace(allowed, " ")
    return [w for w in re.findall(r"[^\W\d_][\w'’.-]*", text)]


def attribute_texts(template: str) -> list[str]:
    """Attributes people read (labels, placeholders, tooltips) that are literal text."""
    texts = re.findall(r'\s(?:aria-label|placeholder|title|alt)="([^"{]*[^\W\d_][^"]*)"', template)
    return [t for t in texts if "{{" not in t]


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_show_no_unmarked_text(path: Path):
    source = path.read_text(encoding="utf-8")
    assert visible_text(source) == [], f"{path.name}: wrap visible text in {{{{ _('...') }}}}"
    assert attribute_texts(source) == [], f"{path.name}: wrap attribute text in {{{{ _('...') }}}}"
