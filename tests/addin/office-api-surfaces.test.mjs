// scripts/office-api/surfaces.mjs: which Mailbox set a page may rely on. A page only launch
// events load runs only for events the client supports (OnNewMessageCompose 1.10, OnMessageSend
// 1.12), so it gets the lowest of its events' sets even inside a block that declares 1.5; a page a
// task pane loads gets its block's set.
import assert from "node:assert/strict";
import { test } from "node:test";
import { manifestBlocks } from "../../scripts/office-api/surfaces.mjs";

function manifest({ events, paneUsesRuntime = false }) {
  const launch = events.map((type) => `<LaunchEvent Type="${type}" FunctionName="f${type}"/>`).join("");
  return `<?xml version="1.0"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
           xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0" xsi:type="MailApp">
  <Requirements><Sets><Set Name="Mailbox" MinVersion="1.1"/></Sets></Requirements>
  <VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides" xsi:type="VersionOverridesV1_0">
    <Requirements><bt:Sets DefaultMinVersion="1.3"><bt:Set Name="Mailbox"/></bt:Sets></Requirements>
    <VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides/1.1" xsi:type="VersionOverridesV1_1">
      <Requirements><bt:Sets DefaultMinVersion="1.5"><bt:Set Name="Mailbox"/></bt:Sets></Requirements>
      <Hosts><Host xsi:type="MailHost">
        <Runtimes><Runtime resid="Events.Url"><Override type="javascript" resid="EventsJs.Url"/></Runtime></Runtimes>
        <DesktopFormFactor>
          <ExtensionPoint xsi:type="MessageComposeCommandSurface"><OfficeTab id="TabDefault"><Group id="g"><Control xsi:type="Button" id="b">
            <Action xsi:type="ShowTaskpane"><SourceLocation resid="${paneUsesRuntime ? "Events.Url" : "Pane.Url"}"/></Action>
          </Control></Group></OfficeTab></ExtensionPoint>
          <ExtensionPoint xsi:type="LaunchEvent"><LaunchEvents>${launch}</LaunchEvents><SourceLocation resid="Events.Url"/></ExtensionPoint>
        </DesktopFormFactor>
      </Host></Hosts>
      <Resources><bt:Urls>
        <bt:Url id="Pane.Url" DefaultValue="https://localhost:5000/pane.html"/>
        <bt:Url id="Events.Url" DefaultValue="https://localhost:5000/events.html"/>
        <bt:Url id="EventsJs.Url" DefaultValue="https://localhost:5000/events.js"/>
      </bt:Urls></Resources>
    </VersionOverrides>
  </VersionOverrides>
</OfficeApp>`;
}

/** url -> Mailbox version the block's entry for it may rely on. */
function mailboxByUrl(xml) {
  const inner = manifestBlocks(xml).find((b) => b.label.includes("V1_1"));
  const out = {};
  for (const entry of inner.urls) {
    const version = (entry.sets || inner.sets).mailbox;
    const path = new URL(entry.url).pathname;
    out[path] = out[path] && out[path] !== version ? `${out[path]}|${version}` : version;
  }
  return out;
}

test("the launch events' pages get the lowest set among their events, the pane its block's", () => {
  assert.deepEqual(mailboxByUrl(manifest({ events: ["OnNewMessageCompose", "OnMessageSend"] })), {
    "/pane.html": "1.5",
    "/events.html": "1.10",
    "/events.js": "1.10",
  });
  assert.deepEqual(mailboxByUrl(manifest({ events: ["OnMessageSend"] })), {
    "/pane.html": "1.5",
    "/events.html": "1.12",
    "/events.js": "1.12",
  });
});

test("an event the table does not know gets no more than its block", () => {
  assert.equal(mailboxByUrl(manifest({ events: ["OnMessageSend", "OnSomethingNew"] }))["/events.js"], "1.5");
});

test("a runtime page a task pane also loads gets only its block's set", () => {
  const byUrl = mailboxByUrl(manifest({ events: ["OnMessageSend"], paneUsesRuntime: true }));
  assert.deepEqual(byUrl, { "/events.html": "1.5", "/events.js": "1.5" });
});
