"""Security headers on every response (CSP, nosniff, Referrer-Policy, HSTS)."""

from __future__ import annotations

from urllib.parse import urlsplit

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
