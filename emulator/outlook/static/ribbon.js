// Our ribbon, drawn from the manifest's message-read command surface: buttons and menus that open the pane or run a function.

import { invokeFunction } from "./function-commands.js";
import { $, settings } from "./page-state.js";
import { openPane } from "./taskpane-host.js";

export function renderRibbon() {
  const ribbon = $("ribbon");
  for (const group of settings.ribbon.groups) {
    const box = document.createElement("div");
    box.className = "ribbon-group";
    box.role = "group";
    box.setAttribute("aria-label", group.label);
    const controls = document.createElement("div");
    controls.className = "ribbon-group-controls";
    for (const control of group.controls) controls.append(ribbonControl(control));
    const label = document.createElement("div");
    label.className = "ribbon-group-label";
    label.textContent = group.label;
    box.append(controls, label);
    ribbon.append(box);
  }
}

function ribbonButton(control, className = "ribbon-button") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.id = `ribbon-${control.id}`;
  button.title = control.tooltip || control.title || control.label;
  button.dataset.controlId = control.id;
  if (control.icon) {
    const img = document.createElement("img");
    img.src = control.icon;
    img.alt = "";
    button.append(img);
  }
  button.append(document.createTextNode(control.label));
  return button;
}

function ribbonControl(control) {
  if (control.type === "Menu") {
    const wrap = document.createElement("div");
    wrap.className = "ribbon-menu";
    const button = ribbonButton(control);
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    const items = document.createElement("ul");
    items.className = "ribbon-menu-items";
    items.role = "menu";
    items.hidden = true;
    for (const item of control.items || []) {
      const li = document.createElement("li");
      const entry = ribbonButton(item, "");
      entry.role = "menuitem";
      entry.addEventListener("click", () => {
        items.hidden = true;
        button.setAttribute("aria-expanded", "false");
        runAction(item);
      });
      li.append(entry);
      items.append(li);
    }
    button.addEventListener("click", () => {
      items.hidden = !items.hidden;
      button.setAttribute("aria-expanded", String(!items.hidden));
    });
    wrap.append(button, items);
    return wrap;
  }
  const button = ribbonButton(control);
  button.addEventListener("click", () => runAction(control));
  return button;
}

function runAction(control) {
  const action = control.action || {};
  if (action.type === "ShowTaskpane") openPane(control);
  else if (action.type === "ExecuteFunction") invokeFunction(control);
}

// A click anywhere outside an open ribbon menu closes it.
export function wireRibbonMenus() {
  document.addEventListener("click", (event) => {
    for (const menu of document.querySelectorAll(".ribbon-menu-items")) {
      if (!menu.parentElement.contains(event.target)) menu.hidden = true;
    }
  });
}
