"""The Outlook-like page: folders, messages, reading pane, our ribbon and our real task pane.

It stands in for Outlook on the web in `make run` and the browser tests. The ribbon is read
from addin/manifest.xml; the task pane and function file are the backend's real pages, loaded
in iframes from the add-in's origin, with office.js replaced by the shim this blueprint serves
at /outlook/office.js (the backend's OFFICE_JS_URL points there).

Register it with `app.register_blueprint(outlook.bp)` (url_prefix /outlook is built in).
Settings: `app.config["OUTLOOK_ADDIN_ORIGIN"]` (or env ADDIN_ORIGIN; default
http://localhost:5000) is where the backend serves the add-in; `?addin=<origin>` overrides it
per page load (`?backend=` is accepted too).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory

ROOT_DIR = Path(__file__).resolve().parent.parent.parent
MANIFEST = ROOT_DIR / "addin" / "manifest.xml"
PLACEHOLDER_ORIGIN = "https://localhost:5000"
DEFAULT_ADDIN_ORIGIN = "http://localhost:5000"

NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"

bp = Blueprint(
    "outlook",
    __name__,
    url_prefix="/outlook",
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)


class Resources:
    """The resids of one VersionOverrides block, resolved to their default values."""

    def __init__(self, node: ET.Element, origin: str, locale: str = ""):
        self.values: dict[str, str] = {}
        for element in node.iter():
            if element.tag.startswith(f"{{{NS['bt']}}}") and element.get("id"):
                value = element.get("DefaultValue", "")
                # Outlook shows a resource's <Override> for the user's locale when there is one.
                for override in element.findall("bt:Override", NS):
                    if locale and override.get("Locale", "").lower() == locale.lower():
                        value = override.get("Value", value)
                self.values[element.get("id")] = value.replace(PLACEHOLDER_ORIGIN, origin)

    def __call__(self, element: ET.Element | None, child: str) -> str:
        if element is None:
            return ""
        found = element.find(f"v11:{child}", NS)
        return self.values.get(found.get("resid"), "") if found is not None else ""


def _control(node: ET.Element, res: Resources) -> dict:
    supertip = node.find("v11:Supertip", NS)
    icons = {img.get("size"): res.values.get(img.get("resid"), "") for img in node.findall("v11:Icon/bt:Image", NS)}
    control = {
        "id": node.get("id"),
        "type": node.get(XSI_TYPE) or "MenuItem",
        "label": res(node, "Label"),
        "title": res(supertip, "Title"),
        "tooltip": res(supertip, "Description"),
        "icon": icons.get("16") or icons.get("32") or "",
    }
    action = node.find("v11:Action", NS)
    if action is not None:
        kind = action.get(XSI_TYPE)
        control["action"] = {"type": kind}
        if kind == "ExecuteFunction":
            control["action"]["function"] = (action.findtext("v11:FunctionName", "", NS) or "").strip()
        else:
            source = action.find("v11:SourceLocation", NS)
            control["action"]["url"] = res.values.get(source.get("resid"), "") if source is not None else ""
            control["action"]["pinning"] = (action.findtext("v11:SupportsPinning", "", NS) or "").strip() == "true"
            control["action"]["multiSelect"] = (
                action.findtext("v11:SupportsMultiSelect", "", NS) or ""
            ).strip() == "true"
    items = node.findall("v11:Items/v11:Item", NS)
    if items:
        control["items"] = [_control(item, res) for item in items]
    return control


def _groups(desktop: ET.Element, surface: str, res: Resources) -> list[dict]:
    groups = []
    for point in desktop.findall("v11:ExtensionPoint", NS):
        if point.get(XSI_TYPE) != surface:
            continue
        for group in point.findall("v11:OfficeTab/v11:Group", NS):
            groups.append(
                {
                    "id": group.get("id"),
                    "label": res(group, "Label"),
                    "controls": [_control(c, res) for c in group.findall("v11:Control", NS)],
                }
            )
    return groups


def _launch(desktop: ET.Element, res: Resources) -> dict:
    """The LaunchEvent extension point: its runtime page and each event's handler and SendMode."""
    for point in desktop.findall("v11:ExtensionPoint", NS):
        if point.get(XSI_TYPE) != "LaunchEvent":
            continue
        source = point.find("v11:SourceLocation", NS)
        return {
            "runtimeUrl": res.values.get(source.get("resid"), "") if source is not None else "",
            "events": {
                e.get("Type"): {"function": e.get("FunctionName"), "sendMode": e.get("SendMode") or "SoftBlock"}
                for e in point.findall("v11:LaunchEvents/v11:LaunchEvent", NS)
            },
        }
    return {"runtimeUrl": "", "events": {}}


def ribbon_from_manifest(text: str, origin: str, locale: str = "") -> dict:
    """Reads the read and compose ribbons and the launch events of the manifest's
    VersionOverrides 1.1, URLs on `origin`, strings in `locale` where the manifest overrides them."""
    root = ET.fromstring(text)
    overrides = root.find("v10:VersionOverrides/v11:VersionOverrides", NS)
    if overrides is None:
        raise ValueError("the manifest has no VersionOverrides 1.1")
    res = Resources(overrides.find("v11:Resources", NS), origin, locale)
    desktop = overrides.find("v11:Hosts/v11:Host/v11:DesktopFormFactor", NS)
    function_file = desktop.find("v11:FunctionFile", NS)
    display = root.find("o:DisplayName", NS)
    return {
        "name": display.get("DefaultValue") if display is not None else "",
        "addinId": (root.findtext("o:Id", "", NS) or "").strip(),
        "functionFile": res.values.get(function_file.get("resid"), "") if function_file is not None else "",
        "groups": _groups(desktop, "MessageReadCommandSurface", res),
        "composeGroups": _groups(desktop, "MessageComposeCommandSurface", res),
        "launch": _launch(desktop, res),
    }


@lru_cache(maxsize=16)
def _ribbon_cached(mtime: float, origin: str, locale: str) -> dict:
    return ribbon_from_manifest(MANIFEST.read_text(encoding="utf-8"), origin, locale)


def addin_origin() -> str:
    """Where the backend serves the add-in: ?addin=, else config/env, else localhost:5000."""
    candidate = (
        request.args.get("addin")
        or request.args.get("backend")
        or current_app.config.get("OUTLOOK_ADDIN_ORIGIN")
        or os.environ.get("ADDIN_ORIGIN")
        or DEFAULT_ADDIN_ORIGIN
    )
    parts = urlsplit(candidate)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        abort(400, "addin must be an http(s) origin")
    return f"{parts.scheme}://{parts.netloc}"


@bp.get("/")
def page():
    """The Outlook-like page for one signed-in user (?upn=, ?lang=, ?theme=light|dark,
    ?mailbox=1.6: the highest Mailbox requirement set the emulated client reports, 1.14 when not given)."""
    origin = addin_origin()
    mailbox = request.args.get("mailbox") or ""
    ribbon = _ribbon_cached(MANIFEST.stat().st_mtime, origin, request.args.get("lang") or "")
    settings = {
        "addinOrigin": origin,
        "upn": request.args.get("upn") or "",
        "displayLanguage": request.args.get("lang") or "",
        "theme": "dark" if request.args.get("theme") == "dark" else "light",
        "naa": request.args.get("naa") == "1",
        "mailbox": mailbox if re.fullmatch(r"1\.\d{1,2}", mailbox) else "",
        "ribbon": ribbon,
    }
    return render_template("outlook.html", settings=settings)


@bp.get("/office.js")
def office_js():
    """The Office.js shim the task pane and function file load instead of Microsoft's."""
    response = send_from_directory(bp.static_folder, "office-shim.js", max_age=0)
    response.mimetype = "text/javascript"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
