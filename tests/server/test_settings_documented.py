"""Every setting is documented twice, and the two lists agree: .env.example (for
operators copying it) and the README's settings table (for readers)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, re.M))


def readme_table_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section, re.M))


def test_readme_settings_table_matches_env_example():
    assert env_example_names() == readme_table_names()


def test_design_settings_are_all_present():
    design = {
        "DATABASE_URL",
        "GRAPH_BASE_URL",
        "AUTHORITY_HOST",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "API_AUDIENCE",
        "PUBLIC_BASE_URL",
        "CA_BUNDLE",
        "REDIS_URL",
        "OFFICE_JS_URL",
    }
    assert design <= env_example_names()
