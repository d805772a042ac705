"""Renders the ribbon commands' icons (addin/assets/command-<name>-<px>.png) from Fluent UI
System Icons.

Each command in addin/manifest.xml has its own icon at 16, 32 and 80 px (the sizes the
manifest schema asks of a desktop control); the CRM panel also at 25 and 48 px for Outlook
mobile. The SVGs come from the npm package `@fluentui/svg-icons` (MIT, a devDependency:
`npm ci` installs it), drawn in Fluent's brand blue and rasterised with `rsvg-convert`
(Debian: `apt-get install librsvg2-bin`). The PNGs are committed, so serving the add-in
needs neither. Run after changing the table below:

    python scripts/make_command_icons.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "node_modules" / "@fluentui" / "svg-icons" / "icons"
ASSETS = ROOT / "addin" / "assets"
BRAND = "#0F6CBD"  # Fluent 2 "communication blue": readable on Outlook's light and dark ribbons

# Command (the file name's middle part) -> Fluent icon name (without size and style).
COMMANDS = {
    "panel": "panel_right",  # CRM panel: opens the task pane
    "sync": "mail_arrow_up",  # Sync to CRM: files the email
    "more": "more_horizontal",  # the More menu
    "mark-synced": "mail_checkmark",  # Mark as synced: automatic sync skips it
    "mark-unsynced": "mail_arrow_clockwise",  # Mark as unsynced: the next sync files it (again)
    "open": "open",  # Open in CRM (a new window)
    "create-contact": "person_add",  # Create Outlook contact from sender
}
SIZES = (16, 32, 80)
EXTRA_SIZES = {"panel": (25, 48)}  # Outlook mobile's button sizes


def design_sizes(name: str) -> list[int]:
    """The sizes Fluent drew this icon at (16, 20, 24, 28, 32, 48), smallest first."""
    found = {
        int(m.group(1))
        for p in ICONS.glob(f"{name}_*_regular.svg")
        if (m := re.fullmatch(rf"{name}_(\d+)_regular\.svg", p.name))
    }
    if not found:
        raise SystemExit(f"no Fluent icon {name!r} in {ICONS}: run `npm ci`")
    return sorted(found)


def source_for(name: str, px: int) -> Path:
    """The drawing made for the largest size not above `px` (its strokes suit that size best),
    else the smallest one."""
    sizes = design_sizes(name)
    fitting = [s for s in sizes if s <= px]
    size = fitting[-1] if fitting else sizes[0]
    return ICONS / f"{name}_{size}_regular.svg"


def render(svg: Path, px: int, out: Path, converter: str) -> None:
    text = svg.read_text()
    coloured = text.replace("<svg ", f'<svg fill="{BRAND}" ', 1)
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(coloured)
    try:
        subprocess.run([converter, "-w", str(px), "-h", str(px), "-o", str(out), tmp.name], check=True)
    finally:
        Path(tmp.name).unlink()


def main() -> None:
    converter = shutil.which("rsvg-convert")
    if not converter:
        sys.exit("rsvg-convert is missing: apt-get install librsvg2-bin")
    ASSETS.mkdir(parents=True, exist_ok=True)
    for command, name in COMMANDS.items():
        for px in SIZES + EXTRA_SIZES.get(command, ()):
            out = ASSETS / f"command-{command}-{px}.png"
            render(source_for(name, px), px, out, converter)
            print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
