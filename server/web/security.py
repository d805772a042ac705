"""The pages' Content-Security-Policy: scripts and styles from our origin only
(no inline scripts anywhere), images from our origin and inline data images, and
framing only by Outlook's hosts and ourselves.

The email page alone allows inline style *attributes* (style-src-attr): the
sanitiser keeps only declarations that cannot load anything, and email layout
depends on them. Remote images are allowed only on the email page's
"Show images" view (`?images=1`).
"""

from __future__ import annotations

from flask import current_app

from server.headers import origin

# Outlook's own hosts only (classic web, consumer, regional *.outlook.com, and the
# cloud.microsoft domain Microsoft is moving Outlook on the web to). The pages open
# in a browser window from the pane; these let an Outlook host frame them if it must.
PAGE_FRAME_ANCESTORS = (
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.live.com",
    "https://*.outlook.com",
    "https://outlook.cloud.microsoft",
)


def page_policy(*, remote_images: bool = False, inline_style_attributes: bool = False) -> str:
    config = current_app.config
    ours = origin(config.get("PUBLIC_BASE_URL"))
    authority = origin(config.get("AUTHORITY_HOST"))
    ancestors = ["'self'", *([ours] if ours else []), *PAGE_FRAME_ANCESTORS]
    if authority and not authority.endswith(".microsoftonline.com"):
        ancestors.append(authority)  # the emulator's Outlook-like page stands in for Outlook
    images = "'self' data:" + (" https: http:" if remote_images else "")
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        f"img-src {images}",
        "style-src 'self'",
        *(["style-src-attr 'unsafe-inline'"] if inline_style_attributes else []),
        "font-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        # Test connection's form redirects on to the authority's authorize page;
        # browsers check form-action along the redirect chain.
        f"form-action 'self' {authority or ''}".strip(),
        f"frame-ancestors {' '.join(dict.fromkeys(ancestors))}",
    ]
    return "; ".join(directives)
