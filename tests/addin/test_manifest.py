"""The add-in manifest: Microsoft's offline parser reads it, and the rules the docs state hold.

Limits checked (Office add-in only manifest reference):
- a resid is at most 32 characters and names a resource in the same VersionOverrides;
- <ShortStrings> values (labels, supertip titles) are 1..125 characters,
  <LongStrings> values (supertip descriptions) 1..250; DisplayName 125, Description 250;
- Label and Title point at ShortStrings, Description at LongStrings;
- every URL is https on the one placeholder origin the server rewrites to PUBLIC_BASE_URL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from PIL import Image

from server.routes import addin

ROOT = Path(__file__).resolve().parent.parent.parent
MANIFEST = ROOT / "addin" / "manifest.xml"
PLACEHOLDER = "https://localhost:5000"
CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"

NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"


@pytest.fixture(scope="module")
def root():
    return ET.parse(MANIFEST).getroot()


def version_overrides(root):
    outer = root.find("v10:VersionOverrides", NS)
    inner = outer.find("v11:VersionOverrides", NS)
    return [(outer, "v10"), (inner, "v11")]


def own_elements(node, prefix):
    """Elements of this VersionOverrides, not of the one nested inside it."""
    nested = node.find("v11:VersionOverrides", NS) if prefix == "v10" else None
    skip = set(nested.iter()) if nested is not None else set()
    return [e for e in node.iter() if e not in skip]


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ------------------------------------------------------------------ Microsoft's parser


def npx():
    path = shutil.which("npx")
    if not path or not (ROOT / "node_modules" / "office-addin-manifest").exists():
        pytest.fail("office-addin-manifest is not installed: run `npm ci` (make test does)")
    return path


def test_office_addin_manifest_parses_and_reports_the_expected_info():
    result = subprocess.run(
        [npx(), "--no-install", "office-addin-manifest", "info", str(MANIFEST)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    info = result.stdout
    assert "Name: CRM Sync for Outlook" in info
    assert "Type: MailApp" in info
    assert "Hosts: Mailbox" in info
    assert "Permissions: ReadWriteMailbox" in info
    assert "Id: 2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52" in info
    assert f"AppDomains: {PLACEHOLDER}" in info


# ------------------------------------------------------------------ rules from the docs


def test_every_resid_resolves_in_its_version_overrides_and_is_at_most_32_chars(root):
    for node, prefix in version_overrides(root):
        elements = own_elements(node, prefix)
        resources = {
            e.get("id"): local(e.tag)
            for e in elements
            if e.tag.startswith(f"{{{NS['bt']}}}") and e.get("id") and local(e.tag) in ("Image", "Url", "String")
        }
        # A String id names a ShortString or a LongString: tell them apart by parent.
        kinds = {}
        for parent in elements:
            for child in parent:
                if child.get("id") in resources:
                    kinds[child.get("id")] = local(parent.tag)
        used = [(e, e.get("resid")) for e in elements if e.get("resid") is not None]
        assert used, f"no resid in {prefix}"
        for element, resid in used:
            assert len(resid) <= 32, f"resid {resid!r} is longer than 32 characters"
            assert resid in resources, f"resid {resid!r} ({local(element.tag)}) is not defined in {prefix}"
            tag = local(element.tag)
            if tag in ("Label", "Title"):
                assert kinds[resid] == "ShortStrings", f"{tag} {resid!r} must be a ShortString"
            elif tag == "Description":
                assert kinds[resid] == "LongStrings", f"Description {resid!r} must be a LongString"
            elif tag == "Image":
                assert kinds[resid] == "Images"
            elif tag in ("SourceLocation", "FunctionFile"):
                assert kinds[resid] == "Urls"
        for resid in resources:
            assert len(resid) <= 32, f"resource id {resid!r} is longer than 32 characters"


def test_labels_and_tooltips_are_within_their_length_limits(root):
    limits = {"ShortStrings": 125, "LongStrings": 250}
    checked = 0
    for node, prefix in version_overrides(root):
        for group, limit in limits.items():
            for strings in own_elements(node, prefix):
                if local(strings.tag) != group:
                    continue
                for string in strings.findall("bt:String", NS):
                    values = [string.get("DefaultValue")] + [o.get("Value") for o in string.findall("bt:Override", NS)]
                    for value in values:
                        assert value and 1 <= len(value) <= limit, f"{group} {string.get('id')!r}: {value!r}"
                        checked += 1
    assert checked > 10
    display = root.find("o:DisplayName", NS)
    description = root.find("o:Description", NS)
    for element, limit in ((display, 125), (description, 250)):
        values = [element.get("DefaultValue")] + [o.get("Value") for o in element.findall("o:Override", NS)]
        for value in values:
            assert 1 <= len(value) <= limit, value
    # The unified manifest's short name (converted from DisplayName) allows 30.
    assert len(display.get("DefaultValue")) <= 30


def all_urls(root):
    urls = []
    for element in root.iter():
        for attribute in ("DefaultValue", "Value"):
            value = element.get(attribute) or ""
            if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
                urls.append(value)
        text = (element.text or "").strip()
        if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
            urls.append(text)
    return urls


def test_every_url_is_https_on_the_placeholder_origin(root):
    urls = all_urls(root)
    assert len(urls) > 10
    for url in urls:
        if url.startswith("api://"):
            assert url == f"api://localhost:5000/{CLIENT_ID}", url
            continue
        parts = urlsplit(url)
        assert parts.scheme == "https", url
        assert f"{parts.scheme}://{parts.netloc}" == PLACEHOLDER, url


def test_served_manifest_puts_every_url_on_public_base_url(tmp_path):
    app = Flask(__name__)
    app.config.update(
        PUBLIC_BASE_URL="https://crm.example.com",
        AZURE_CLIENT_ID=CLIENT_ID,
        OFFICE_JS_URL="https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
        AUTHORITY_HOST="https://login.microsoftonline.com",
        AZURE_TENANT_ID="organizations",
    )
    app.register_blueprint(addin.bp)
    response = app.test_client().get("/addin/manifest.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    served = ET.fromstring(response.data)
    for url in all_urls(served):
        if url.startswith("api://"):
            assert url == f"api://crm.example.com/{CLIENT_ID}"
        else:
            assert url == "https://crm.example.com" or url.startswith("https://crm.example.com/"), url
    assert b"localhost:5000" not in response.data


def test_ids_are_unique(root):
    # Control/Group/Item ids: unique across the manifest's ribbon of one VersionOverrides.
    for node, prefix in version_overrides(root):
        elements = own_elements(node, prefix)
        for form in ("DesktopFormFactor", "MobileFormFactor"):
            ids = [
                e.get("id")
                for f in elements
                if local(f.tag) == form
                for e in f.iter()
                if e.get("id") and local(e.tag) in ("Group", "Control", "Item")
            ]
            duplicates = [i for i, n in Counter(ids).items() if n > 1]
            assert not duplicates, f"duplicate control ids in {prefix} {form}: {duplicates}"
        resource_ids = [e.get("id") for e in elements if e.tag.startswith(f"{{{NS['bt']}}}") and e.get("id")]
        duplicates = [i for i, n in Counter(resource_ids).items() if n > 1]
        assert not duplicates, f"duplicate resource ids in {prefix}: {duplicates}"


def test_ribbon_has_the_crm_group_with_pane_sync_and_more_menu(root):
    inner = root.find("v10:VersionOverrides/v11:VersionOverrides", NS)
    desktop = inner.find("v11:Hosts/v11:Host/v11:DesktopFormFactor", NS)
    surface = [p for p in desktop.findall("v11:ExtensionPoint", NS) if p.get(XSI_TYPE) == "MessageReadCommandSurface"]
    assert len(surface) == 1
    assert surface[0].find("v11:OfficeTab", NS).get("id") == "TabDefault"
    controls = surface[0].findall("v11:OfficeTab/v11:Group/v11:Control", NS)
    by_id = {c.get("id"): c for c in controls}
    pane = by_id["crmPanelButton"].find("v11:Action", NS)
    assert pane.get(XSI_TYPE) == "ShowTaskpane"
    assert pane.findtext("v11:SupportsPinning", namespaces=NS) == "true"
    assert pane.findtext("v11:SupportsMultiSelect", namespaces=NS) == "true"
    sync = by_id["crmSyncButton"].find("v11:Action", NS)
    assert sync.get(XSI_TYPE) == "ExecuteFunction" and sync.findtext("v11:FunctionName", namespaces=NS) == "syncToCrm"
    menu = by_id["crmMoreMenu"]
    assert menu.get(XSI_TYPE) == "Menu"
    functions = [
        i.findtext("v11:Action/v11:FunctionName", namespaces=NS) for i in menu.findall("v11:Items/v11:Item", NS)
    ]
    assert functions == ["markSynced", "markUnsynced", "openInCrm", "createOutlookContact"]
    mobile = inner.find("v11:Hosts/v11:Host/v11:MobileFormFactor", NS)
    assert mobile.find("v11:ExtensionPoint", NS).get(XSI_TYPE) == "MobileMessageReadCommandSurface"
    info = inner.find("v11:WebApplicationInfo", NS)
    assert info.findtext("v11:Id", namespaces=NS) == CLIENT_ID
    assert info.findtext("v11:Resource", namespaces=NS) == f"api://localhost:5000/{CLIENT_ID}"
    assert [s.text for s in info.findall("v11:Scopes/v11:Scope", NS)] == ["access_as_user"]


def test_every_function_the_manifest_names_is_associated_in_commands_js(root):
    names = {e.text.strip() for e in root.iter(f"{{{NS['v11']}}}FunctionName")}
    names |= {e.text.strip() for e in root.iter(f"{{{NS['v10']}}}FunctionName")}
    source = (ROOT / "addin" / "commands" / "commands.js").read_text()
    table = re.search(r"const COMMANDS = \{([^}]*)\}", source).group(1)
    associated = {n.strip() for n in table.split(",") if n.strip()}
    assert names <= associated, names - associated


def test_every_icon_the_manifest_names_exists_at_its_size(root):
    checked = 0
    for url in all_urls(root):
        match = re.search(r"/addin/assets/([\w-]+-(\d+)\.png)$", url)
        if not match:
            continue
        path = ROOT / "addin" / "assets" / match.group(1)
        assert path.exists(), path
        with Image.open(path) as image:
            assert image.size == (int(match.group(2)),) * 2, path
        checked += 1
    assert checked > 20
    for node, prefix in version_overrides(root):
        for image in own_elements(node, prefix):
            if local(image.tag) == "Image" and image.get("id"):
                size = re.search(r"-(\d+)\.png$", image.get("DefaultValue")).group(1)
                assert image.get("id").endswith(f".{size}x{size}"), image.get("id")


def test_each_ribbon_command_has_its_own_icon_at_16_32_and_80_px(root):
    for node, prefix in version_overrides(root):
        elements = own_elements(node, prefix)
        images = {e.get("id"): e.get("DefaultValue") for e in elements if local(e.tag) == "Image" and e.get("id")}
        seen = {}
        for form in (e for e in elements if local(e.tag) == "DesktopFormFactor"):
            for control in form.iter():
                if local(control.tag) not in ("Control", "Item"):
                    continue
                icon = [i for i in control if local(i.tag) == "Icon"]
                assert len(icon) == 1, f"{control.get('id')} has no icon"
                sizes = {i.get("size"): images[i.get("resid")] for i in icon[0]}
                assert set(sizes) == {"16", "32", "80"}, (control.get("id"), sizes)
                seen[control.get("id")] = sizes["32"]
        assert len(seen) == (2 if prefix == "v10" else 8), seen
        assert len(set(seen.values())) == len(seen), f"controls share an icon in {prefix}: {seen}"


# ------------------------------------------------------------------ compose and event-based activation


def inner_desktop(root):
    inner = root.find("v10:VersionOverrides/v11:VersionOverrides", NS)
    return inner, inner.find("v11:Hosts/v11:Host/v11:DesktopFormFactor", NS)


def extension_points(desktop, kind):
    return [p for p in desktop.findall("v11:ExtensionPoint", NS) if p.get(XSI_TYPE) == kind]


def test_compose_surface_has_a_pinnable_crm_button_opening_the_compose_pane(root):
    inner, desktop = inner_desktop(root)
    (surface,) = extension_points(desktop, "MessageComposeCommandSurface")
    assert surface.find("v11:OfficeTab", NS).get("id") == "TabDefault"
    (control,) = surface.findall("v11:OfficeTab/v11:Group/v11:Control", NS)
    assert control.get(XSI_TYPE) == "Button" and control.get("id") == "crmComposeButton"
    action = control.find("v11:Action", NS)
    assert action.get(XSI_TYPE) == "ShowTaskpane"
    assert action.findtext("v11:SupportsPinning", namespaces=NS) == "true"
    # Multi-select is a read-mode feature: the compose button must not declare it.
    assert action.find("v11:SupportsMultiSelect", NS) is None
    urls = {u.get("id"): u.get("DefaultValue") for u in inner.iter(f"{{{NS['bt']}}}Url")}
    source = action.find("v11:SourceLocation", NS).get("resid")
    assert urls[source] == f"{PLACEHOLDER}/addin/taskpane/compose.html"
    assert (ROOT / "addin" / "taskpane" / "compose.html").exists()
    labels = {s.get("id"): s.get("DefaultValue") for s in inner.iter(f"{{{NS['bt']}}}String")}
    assert labels[control.find("v11:Label", NS).get("resid")] == "CRM"
    # The read surfaces stay as they were.
    assert len(extension_points(desktop, "MessageReadCommandSurface")) == 1


def test_launch_events_are_new_compose_and_send_with_prompt_user(root):
    _, desktop = inner_desktop(root)
    (point,) = extension_points(desktop, "LaunchEvent")
    events = {e.get("Type"): e for e in point.findall("v11:LaunchEvents/v11:LaunchEvent", NS)}
    assert set(events) == {"OnNewMessageCompose", "OnMessageSend"}
    assert events["OnNewMessageCompose"].get("FunctionName") == "onNewMessageComposeHandler"
    assert events["OnNewMessageCompose"].get("SendMode") is None
    assert events["OnMessageSend"].get("FunctionName") == "onMessageSendHandler"
    assert events["OnMessageSend"].get("SendMode") == "PromptUser"
    # The LaunchEvent's SourceLocation is the same resid as the Runtime's (the HTML runtime).
    assert point.find("v11:SourceLocation", NS).get("resid") == "Events.Url"
    # Launch events exist only from VersionOverrides 1.1; the 1.0 block has none.
    outer = root.find("v10:VersionOverrides", NS)
    assert not [p for p in own_elements(outer, "v10") if p.get(XSI_TYPE) == "LaunchEvent"]


def test_runtimes_name_the_html_page_and_the_javascript_only_file_for_classic_windows(root):
    inner, _ = inner_desktop(root)
    host = inner.find("v11:Hosts/v11:Host", NS)
    children = [local(c.tag) for c in host]
    # The schema orders Runtimes before the form factors.
    assert children.index("Runtimes") < children.index("DesktopFormFactor")
    (runtime,) = host.findall("v11:Runtimes/v11:Runtime", NS)
    (override,) = runtime.findall("v11:Override", NS)
    assert override.get("type") == "javascript"
    urls = {u.get("id"): u.get("DefaultValue") for u in inner.iter(f"{{{NS['bt']}}}Url")}
    assert urls[runtime.get("resid")] == f"{PLACEHOLDER}/addin/events/events.html"
    assert urls[override.get("resid")] == f"{PLACEHOLDER}/addin/events/events.js"
    assert (ROOT / "addin" / "events" / "events.html").exists()
    assert (ROOT / "addin" / "events" / "events.js").exists()
    # The HTML runtime loads the very same handler file classic Outlook runs.
    page = (ROOT / "addin" / "events" / "events.html").read_text()
    assert 'src="events.js"' in page


# The highest Mailbox set Outlook on Android and iOS support ("Outlook on Android and on iOS only
# support up to Mailbox requirement set 1.5", Microsoft's mobile event-based activation docs).
MOBILE_MAILBOX = "1.5"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_1_1_block_asks_for_what_mobile_has_and_the_fallback_keeps_1_3(root):
    outer = root.find("v10:VersionOverrides", NS)
    inner = outer.find("v11:VersionOverrides", NS)

    def minimum(node, prefix):
        sets = node.find(f"{prefix}:Requirements/bt:Sets", NS)
        assert [s.get("Name") for s in sets.findall("bt:Set", NS)] == ["Mailbox"]
        return sets.get("DefaultMinVersion")

    # A block takes effect only where its Requirements are met. The 1.1 block holds the mobile
    # button, the More menu, pinning and multi-select, so it asks for Mailbox 1.5 (it once asked
    # for 1.12, for Smart Alerts, and so hid all of them from mobile and from 1.5-1.11 clients).
    # The launch events and the compose pane stay in it: a client ignores an event it does not
    # support, and the pane checks isSetSupported for 1.7 and 1.8.
    assert minimum(inner, "v11") == MOBILE_MAILBOX
    assert minimum(outer, "v10") == "1.3"


def test_the_mobile_surface_is_in_a_block_whose_requirements_mobile_clients_meet(root):
    found = []

    def visit(node, prefix, inherited):
        sets = node.find(f"{prefix}:Requirements/bt:Sets", NS)
        declared = sets.get("DefaultMinVersion") if sets is not None else inherited
        for set_ in sets.findall("bt:Set", NS) if sets is not None else []:
            assert set_.get("Name") == "Mailbox"
            declared = set_.get("MinVersion") or declared
        mobile = node.find(f"{prefix}:Hosts/{prefix}:Host/{prefix}:MobileFormFactor", NS)
        if mobile is not None:
            found.append((declared, [p.get(XSI_TYPE) for p in mobile.findall(f"{prefix}:ExtensionPoint", NS)]))
        inner = node.find("v11:VersionOverrides", NS)
        if inner is not None:
            visit(inner, "v11", declared)

    visit(root.find("v10:VersionOverrides", NS), "v10", "1.1")
    assert found, "the manifest has no MobileFormFactor"
    for declared, points in found:
        assert version_tuple(declared) <= version_tuple(MOBILE_MAILBOX), (declared, points)
        assert "MobileMessageReadCommandSurface" in points
    # The same block keeps the compose surface and the launch events declared.
    _, desktop = inner_desktop(root)
    assert extension_points(desktop, "MessageComposeCommandSurface")
    assert extension_points(desktop, "LaunchEvent")


def test_every_launch_event_handler_is_associated_in_the_events_file(root):
    names = {e.get("FunctionName") for e in root.iter(f"{{{NS['v11']}}}LaunchEvent")}
    source = (ROOT / "addin" / "events" / "events.js").read_text()
    associated = set(re.findall(r'Office\.actions\.associate\("(\w+)"', source))
    assert names == {"onNewMessageComposeHandler", "onMessageSendHandler"}
    assert names <= associated, names - associated
    # The JavaScript-only runtime has no DOM and no ES modules: a classic script.
    assert not re.search(r"^\s*(import|export)\s", source, re.M)
    assert "document." not in source and "window." not in source


def test_served_event_handlers_call_the_api_on_public_base_url():
    # Classic Outlook on Windows runs events.js with no page around it: relative URLs do not resolve.
    app = Flask(__name__)
    app.config.update(
        PUBLIC_BASE_URL="https://crm.example.com",
        AZURE_CLIENT_ID=CLIENT_ID,
        OFFICE_JS_URL="https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
        AUTHORITY_HOST="https://login.microsoftonline.com",
        AZURE_TENANT_ID="organizations",
    )
    app.register_blueprint(addin.bp)
    client = app.test_client()
    script = client.get("/addin/events/events.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert b'"https://crm.example.com/api/v1"' in script.data
    assert b"localhost:5000" not in script.data
    page = client.get("/addin/events/events.html")
    assert page.status_code == 200 and b'src="events.js"' in page.data
