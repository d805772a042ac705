"""Security headers on every response (CSP, nosniff, Referrer-Policy, HSTS), and the
headers of a file download (the pages' and the API's alike)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from flask import Flask

# Outlook on the web, new Outlook and Office hosts frame the task pane.
OUTLOOK_FRAME_ANCESTORS = (
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.live.com",
    "https://*.outlook.com",
    "https://*.office.com",
    "https://*.office365.com",
    "https://*.officeapps.live.com",
)


def origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(config) -> str:
    """The default policy: our own origin only, plus Office.js, the identity
    provider (MSAL in the pane) and the Outlook hosts that frame the pane. With
    the emulator, its origin stands in for Microsoft's. A response that sets its
    own Content-Security-Policy keeps it."""
    office = origin(config.get("OFFICE_JS_URL"))
    authority = origin(config.get("AUTHORITY_HOST"))
    scripts = " ".join(s for s in ("'self'", office) if s)
    connect = " ".join(s for s in ("'self'", authority) if s)
    ancestors = ["'self'", *OUTLOOK_FRAME_ANCESTORS]
    if authority and not authority.endswith(".microsoftonline.com"):
        ancestors.append(authority)  # the emulator's Outlook-like page
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            f"connect-src {connect}",
            "img-src 'self' data:",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action 'self' {authority or ''}".strip(),
            f"frame-ancestors {' '.join(dict.fromkeys(ancestors))}",
        ]
    )


def init_app(app: Flask) -> None:
    policy = content_security_policy(app.config)
    https = app.config["PUBLIC_BASE_URL"].startswith("https://")

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


# What a file download carries: the browser saves it and, should it ever be opened
# as a page, it may load nothing and run nothing.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
# Types a browser would render as a page or run, if it ever ignored the disposition.
_ACTIVE = ("html", "xml", "svg", "javascript", "ecmascript", "xsl")
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/;%]')


def content_disposition(name: str | None, inline: bool = False) -> str:
    """`attachment` (or `inline`) with the file name both as a plain ASCII fallback and
    as RFC 5987 UTF-8 (`filename*`), as RFC 6266 describes."""
    name = (name or "").replace("\r", " ").replace("\n", " ").strip() or "attachment"
    fallback = _UNSAFE_IN_NAME.sub("_", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode())
    fallback = fallback.strip() or "attachment"
    encoded = quote(name, safe="")
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def download_type(content_type: str | None) -> str:
    """The Content-Type a download is sent with: the stored type when it is a plain
    type/subtype that no browser renders as a page, else application/octet-stream."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if not _TOKEN.match(base) or any(word in base for word in _ACTIVE):
        return "application/octet-stream"
    return base


def download_headers(name: str | None, content_type: str | None, size: int | None, inline: bool = False) -> dict:
    """Headers of a file sent to a browser: saved, never rendered (`inline` only for
    the images a caller has checked may show in place)."""
    headers = {
        "Content-Type": download_type(content_type),
        "Content-Disposition": content_disposition(name, inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_POLICY,
        "Cache-Control": "private, no-store",
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers
