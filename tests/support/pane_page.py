"""The task pane inside the emulated Outlook, for the browser tests: the fixture mailbox's
messages by subject, the pane's state badge, its frame, its screenshot, and where the
keyboard focus is."""

from __future__ import annotations

import re

from tests.support.outlook_page import SCREENSHOTS

NORTHWIND = "Plain: order confirmation from Northwind"  # from Lynne Robbins (Northwind Traders)
ATTACHMENTS = "Hard case: attachments"  # from Diego Siciliani (Tailspin Toys)
ALIAS = "Plain: message to alias"  # from Diego Siciliani
MEGAN_NOTE = "Plain: internal note from Megan"
MIXED_CASE = "Hard case: mixed-case addresses"


def pane_shot(outlook, name: str):
    """A screenshot of the task pane alone, for the docs."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    outlook.page.locator("#taskpane").screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")


def expect_state(outlook, text: str, timeout: float = 15_000):
    """Waits until the pane's state badge reads exactly `text`."""
    outlook.pane.locator(f"#state:text-is('{text}')").wait_for(timeout=timeout)


def pane_frame(outlook):
    return outlook.page.frame(url=re.compile(r"/addin/taskpane/taskpane\.html"))


# Evaluated in the pane's frame: the focused element, what a screen reader would call it,
# and whether it shows a visible focus outline.
FOCUS_INFO = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {id: el.id, text: el.textContent.trim(), tag: el.tagName,
          label: el.getAttribute('aria-label') || el.textContent.trim(),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0};
}"""
