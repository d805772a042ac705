"""Reading Test connection's results off the settings page."""

from __future__ import annotations

import html as htmllib
import re


def checks_of(page: str) -> dict[str, tuple[str, str]]:
    """{check name: (status, all its text)} from the rendered results."""
    found = {}
    results = page.split('<ul class="checks"', 1)[1].split("</section>", 1)[0]
    for chunk in results.split('<li class="check check-')[1:]:
        status, body = chunk.split('">', 1)
        name = re.search(r"<strong>(.*?)</strong>", body).group(1)
        text = htmllib.unescape(re.sub(r"<[^>]+>", " ", body))
        found[name] = (status, " ".join(text.split()))
    return found
