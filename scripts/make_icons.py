"""Draws the add-in's own icon (addin/assets/icon-<size>.png); the ribbon commands' icons come
from scripts/make_command_icons.py.

Run `python scripts/make_icons.py` after changing the design; the PNGs are committed
so serving the add-in needs no Pillow. Each size is drawn large and scaled down,
because Pillow's shapes are not anti-aliased.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 25, 32, 48, 64, 80, 128)
ASSETS = Path(__file__).resolve().parent.parent / "addin" / "assets"
BRAND = (15, 108, 189, 255)  # Fluent 2 "communication blue" (#0F6CBD)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 8


def draw_icon(size: int) -> Image.Image:
    """A rounded blue tile holding an envelope with a check badge: "mail filed"."""
    big = size * SUPERSAMPLE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=BRAND)

    # Envelope: outline + flap.
    left, right = big * 0.18, big * 0.82
    top, bottom = big * 0.27, big * 0.70
    stroke = max(SUPERSAMPLE, int(big * 0.07))
    d.rounded_rectangle((left, top, right, bottom), radius=big * 0.05, outline=WHITE, width=stroke)
    d.line([(left + stroke / 2, top + stroke / 2), (big * 0.5, big * 0.50), (right - stroke / 2, top + stroke / 2)],
           fill=WHITE, width=stroke, joint="curve")

    # Check badge in the lower right corner.
    cx, cy, r = big * 0.74, big * 0.74, big * 0.2
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=WHITE)
    d.line([(cx - r * 0.5, cy), (cx - r * 0.1, cy + r * 0.4), (cx + r * 0.55, cy - r * 0.4)],
           fill=BRAND, width=max(SUPERSAMPLE, int(r * 0.32)), joint="curve")
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw_icon(size).save(ASSETS / f"icon-{size}.png", optimize=True)
        print(f"wrote {ASSETS / f'icon-{size}.png'}")


if __name__ == "__main__":
    main()
