"""Email bodies made safe to show in the CRM's pages (nh3 / ammonia).

No scripts, event handlers, `javascript:` or `data:` links, forms or frames
survive. Formatting (tables, fonts, colours, safe inline styles) does. Remote
images are kept but disarmed: `<img src="https://...">` becomes
`<img data-src="https://...">`, so the page loads nothing until the user
clicks "Show images" (which copies data-src back to src). Inline images
(`cid:`) are disarmed the same way; `link_cid_images` then points the ones the
CRM stored at its own URLs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape, unescape
from urllib.parse import unquote

import nh3

ALLOWED_TAGS = nh3.ALLOWED_TAGS | {"font", "tfoot", "u", "center", "big"}

_TABLE_ATTRS = {
    "align",
    "valign",
    "width",
    "height",
    "bgcolor",
    "border",
    "cellpadding",
    "cellspacing",
    "colspan",
    "rowspan",
}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "title", "dir", "lang", "align"},
    "font": {"color", "face", "size"},
    "img": {"alt", "width", "height", "align", "src", "data-src", "border"},
    "a": {"href", "hreflang", "title", "name"},
}
for _tag in ("table", "tr", "td", "th", "tbody", "thead", "tfoot", "col", "colgroup"):
    ALLOWED_ATTRIBUTES[_tag] = ALLOWED_ATTRIBUTES.get(_tag, set()) | _TABLE_ATTRS

# Declarations kept in style="": none of them can load anything (no url()).
ALLOWED_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "font-variant",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "line-height",
    "letter-spacing",
    "word-spacing",
    "white-space",
    "vertical-align",
    "direction",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "border-radius",
    "width",
    "height",
    "max-width",
    "min-width",
    "max-height",
    "min-height",
    "display",
    "float",
    "clear",
    "list-style-type",
    "table-layout",
}

URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
# Style values that run something in old browsers; no email needs them. (url() is
# harmless here: no allowed property loads one.)
_STYLE_HAZARDS = re.compile(r"expression\s*\(|javascript:|behavior\s*:|@import", re.IGNORECASE)
_INLINE_IMAGE = re.compile(r"^data:image/(png|gif|jpe?g|webp|bmp);", re.IGNORECASE)
_REMOTE = re.compile(r"^(https?:|cid:)", re.IGNORECASE)
# Moves src to data-src on <img> before sanitising. It need not be perfect: an
# <img src> it misses still loses its remote src in _filter_attribute.
_IMG_SRC = re.compile(r"(<img\b[^>]*?\s)src(\s*=)(?!\s*[\"']?\s*data:)", re.IGNORECASE)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    stripped = value.strip()
    if tag == "img" and attribute == "src":
        # Only inline data images load without consent (no request leaves the browser).
        return stripped if _INLINE_IMAGE.match(stripped) and "svg" not in stripped[:30].lower() else None
    if tag == "img" and attribute == "data-src":
        if _INLINE_IMAGE.match(stripped):
            return stripped
        return stripped if _REMOTE.match(stripped) else None
    if attribute == "style" and _STYLE_HAZARDS.search(value):
        return None
    if attribute == "href":
        lowered = stripped.lower()
        if lowered.startswith(("data:", "cid:")):
            return None
    return value


def sanitise_html(html: str | None) -> str:
    """Returns a safe HTML fragment for an email body (see the module docstring)."""
    if not html:
        return ""
    moved = _IMG_SRC.sub(r"\1data-src\2", html)
    return nh3.clean(
        moved,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template", "iframe", "object"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        filter_style_properties=ALLOWED_STYLE_PROPERTIES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def text_to_html(text: str | None) -> str:
    """A plain-text body as escaped HTML that keeps its line breaks."""
    if not text:
        return ""
    return '<div style="white-space: pre-wrap">' + escape(text) + "</div>"


def preview_text(html_or_text: str | None, limit: int = 255) -> str:
    """The first `limit` characters of readable text: tags, scripts and styles
    removed, entities decoded, whitespace collapsed."""
    if not html_or_text:
        return ""
    text = nh3.clean(
        html_or_text,
        tags=set(),
        clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
        attributes={},
    )
    text = " ".join(unescape(text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# A sanitised body keeps a cid: image disarmed, as <img data-src="cid:...">; its
# output always double-quotes attributes and escapes their values.
_CID_IMAGE = re.compile(r'\sdata-src="cid:([^"]*)"', re.IGNORECASE)


def normal_content_id(value: str | None) -> str:
    """A Content-ID as `cid:` URLs write it: without angle brackets, compared case-free."""
    return unquote(value or "").strip().strip("<>").strip().lower()


def link_cid_images(sanitised_html: str, urls: Mapping[str, str]) -> str:
    """In a body that passed `sanitise_html`, each inline image whose `cid:` names a
    key of `urls` (a normal_content_id) loads from that URL of ours; every other
    image stays as it was, blocked until the user asks for remote images."""
    if not urls or not sanitised_html:
        return sanitised_html

    def swap(match: re.Match) -> str:
        url = urls.get(normal_content_id(unescape(match.group(1))))
        return match.group(0) if url is None else f' src="{escape(url)}"'

    return _CID_IMAGE.sub(swap, sanitised_html)
