// The add-in's event handlers, run without UI by Outlook's event-based activation.
//
// One classic script for both runtimes: the HTML page (events.html) on the web, new Outlook
// and Mac, and on its own in classic Outlook on Windows, whose JavaScript-only runtime has no
// DOM, no ES modules and no relative URLs. So: no imports, no `document`, absolute API URLs
// (the server puts PUBLIC_BASE_URL in place of the placeholder origin below).
//
// OnNewMessageCompose: applies the user's default ("always" puts the category on the draft).
// OnMessageSend (Smart Alerts, SendMode PromptUser): when the user has not decided, asks
// "File this email in the CRM?" if a recipient is a CRM contact and the user wants to be asked.
// Every path completes the event within a few seconds; when the server cannot be reached the
// message is sent as it is, unfiled, rather than held back, and written down in the add-in's
// roaming settings so the pane says so the next time it opens (taskpane/unfiled-sends.js).
/* global Office */
(function () {
  "use strict";

  var API = "https://localhost:5000/api/v1";
  var CATEGORY = "Sync to CRM";
  // Outlook lets a send handler run for minutes, but the user is waiting on it: each call to
  // our server gets a few seconds, then the message goes out as it is.
  var FETCH_TIMEOUT_MS = 8000;
  var COMPOSE_BUTTON = "crmComposeButton";
  // Sends that went out unfiled, for the pane: Office.context.roamingSettings (Mailbox 1.1) is the
  // one store this runtime and the pane share on every client. Classic Outlook on Windows runs this
  // file in a JavaScript-only runtime without localStorage or cookies, and elsewhere this runtime is
  // another page than the pane. Name and shape are shared with taskpane/unfiled-sends.js:
  // [{subject, to: [address], at: ISO time, reason: "unreachable"|"error"}], the newest last.
  var UNFILED_KEY = "crm_unfiled_sends";
  var UNFILED_KEEP = 5; // the last few; older ones are dropped
  var UNFILED_RECIPIENTS = 10;
  var REMEMBER_TIMEOUT_MS = 3000; // writing it down must not hold the message back

  var STRINGS = {
    en: { ask: "File this email in the CRM?", file: "File and send" },
    pl: { ask: "Zapisać tę wiadomość w CRM?", file: "Zapisz i wyślij" },
    cs: { ask: "Uložit tento e-mail do CRM?", file: "Uložit a odeslat" },
  };

  function words() {
    var tag = String((Office.context && Office.context.displayLanguage) || "en").toLowerCase().split(/[-_]/)[0];
    return STRINGS[tag] || STRINGS.en;
  }

  // Office.js callbacks as promises: resolves the AsyncResult's value, rejects its error.
  function officeCall(fn) {
    return new Promise(function (resolve, reject) {
      fn(function (result) {
        if (result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value);
        else reject(result.error || new Error("Office call failed"));
      });
    });
  }

  // A failure that means our server did not answer (network, timeout, 5xx), not a refusal.
  function unreachable(message) {
    var error = new Error(message);
    error.unreachable = true;
    return error;
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(unreachable("timed out"));
      }, ms);
      promise.then(
        function (value) {
          clearTimeout(timer);
          resolve(value);
        },
        function (error) {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  // Office SSO is IdentityAPI 1.3: a client without it has no token for us (nor, maybe, Office.auth
  // at all), so the message goes out unfiled instead of the handler failing before it completes.
  function token() {
    if (!Office.context.requirements || !Office.context.requirements.isSetSupported("IdentityAPI", "1.3")) {
      return Promise.reject(new Error("Office SSO (IdentityAPI 1.3) is not available"));
    }
    return Office.auth.getAccessToken({ allowSignInPrompt: false, allowConsentPrompt: false, forMSGraphAccess: false });
  }

  function api(method, path, body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var call = token().then(function (accessToken) {
      return fetch(API + path, {
        method: method,
        headers: { Authorization: "Bearer " + accessToken, "Content-Type": "application/json", Accept: "application/json" },
        body: body ? JSON.stringify(body) : undefined,
        signal: controller ? controller.signal : undefined,
      }).then(
        function (response) {
          if (response.status >= 500) throw unreachable("HTTP " + response.status);
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        },
        function (error) {
          throw unreachable((error && error.message) || "network error");
        },
      );
    });
    return withTimeout(call, FETCH_TIMEOUT_MS).catch(function (error) {
      if (controller) controller.abort();
      throw error;
    });
  }

  function settings() {
    return api("GET", "/settings/me");
  }

  // The JSDoc types let scripts/check-office-api.mjs check these Office.js calls against @types/office-js.
  /** @param {Office.MessageCompose} item */
  function recipients(item) {
    /** @type {Array<"to" | "cc" | "bcc">} */
    var names = ["to", "cc", "bcc"];
    var fields = names.filter(function (name) {
      return item[name] && typeof item[name].getAsync === "function";
    });
    return Promise.all(
      fields.map(function (name) {
        return officeCall(function (done) {
          item[name].getAsync(done);
        });
      }),
    ).then(function (lists) {
      var seen = {};
      var addresses = [];
      lists.forEach(function (list) {
        (list || []).forEach(function (r) {
          var address = String(r.emailAddress || "").toLowerCase();
          if (address && !seen[address]) {
            seen[address] = true;
            addresses.push(address);
          }
        });
      });
      return addresses;
    });
  }

  function anyCrmContact(addresses) {
    if (!addresses.length) return Promise.resolve(false);
    return api("POST", "/people/match", { addresses: addresses }).then(function (answer) {
      return ((answer && answer.people) || []).some(function (person) {
        return (person.contacts || []).length > 0;
      });
    });
  }

  // What the user chose in the pane: "file" (the category is on), "skip" (turned off), or null.
  /** @param {Office.MessageCompose} item */
  function decision(item) {
    var categories = officeCall(function (done) {
      item.categories.getAsync(done);
    });
    var properties = officeCall(function (done) {
      item.loadCustomPropertiesAsync(done);
    });
    return Promise.all([categories, properties]).then(function (both) {
      var names = (both[0] || []).map(function (c) {
        return c.displayName;
      });
      if (names.indexOf(CATEGORY) >= 0) return "file";
      return both[1].get("crm_file") === false ? "skip" : null;
    });
  }

  // The category must be in the mailbox's master list first (else InvalidCategory): blue, as the backend makes it.
  /** @param {Office.MessageCompose} item */
  function fileIt(item) {
    var add = function () {
      return officeCall(function (done) {
        item.categories.addAsync([CATEGORY], done);
      });
    };
    return add().catch(function (error) {
      if (!error || error.name !== "InvalidCategory") throw error;
      var entry = { displayName: CATEGORY, color: Office.MailboxEnums.CategoryColor.Preset7 };
      return officeCall(function (done) {
        Office.context.mailbox.masterCategories.addAsync([entry], done);
      }).then(add);
    });
  }

  // The Smart Alert. errorMessage is Mailbox 1.12 (what OnMessageSend itself needs); the cancel
  // button's label, the pane it opens and sendModeOverride are Mailbox 1.14, so only where the
  // client has it. Without them Outlook offers "Don't send" and, from the manifest's PromptUser,
  // "Send Anyway".
  function prompt() {
    var text = words();
    /** @type {Office.SmartAlertsEventCompletedOptions} */
    var options = { allowEvent: false, errorMessage: text.ask };
    if (Office.context.requirements && Office.context.requirements.isSetSupported("Mailbox", "1.14")) {
      options.cancelLabel = text.file;
      options.commandId = COMPOSE_BUTTON;
      options.sendModeOverride = Office.MailboxEnums.SendModeOverride.PromptUser;
    }
    return options;
  }

  // Writes down that this message goes out unfiled; never fails and never takes long.
  /** @param {Office.MessageCompose} item */
  function rememberUnfiled(item, error) {
    var store = Office.context.roamingSettings;
    if (!store) return Promise.resolve();
    var at = new Date().toISOString();
    var subject = officeCall(function (done) {
      item.subject.getAsync(done);
    }).catch(function () {
      return "";
    });
    var to = recipients(item).catch(function () {
      return [];
    });
    var write = Promise.all([subject, to]).then(function (both) {
      var list = store.get(UNFILED_KEY);
      list = Array.isArray(list) ? list : [];
      list.push({
        subject: String(both[0] || ""),
        to: both[1].slice(0, UNFILED_RECIPIENTS),
        at: at,
        reason: error && error.unreachable ? "unreachable" : "error",
      });
      store.set(UNFILED_KEY, list.slice(-UNFILED_KEEP));
      return officeCall(function (done) {
        store.saveAsync(done);
      });
    });
    return withTimeout(write, REMEMBER_TIMEOUT_MS).catch(function (failure) {
      console.warn("CRM Sync: could not note the unfiled send:", (failure && failure.message) || failure);
    });
  }

  /** @param {Office.MailboxEvent} event */
  function onNewMessageComposeHandler(event) {
    var item = Office.context.mailbox.item;
    settings()
      .then(function (mine) {
        if (mine.compose_default === "always") return fileIt(item);
        return null;
      })
      .catch(function () {
        // The server is away: the pane (or the send handler) applies the default later.
      })
      .then(function () {
        event.completed();
      });
  }

  /** @param {Office.MailboxEvent} event */
  function onMessageSendHandler(event) {
    var item = Office.context.mailbox.item;
    decision(item)
      .then(function (decided) {
        if (decided) return { allowEvent: true };
        return settings().then(function (mine) {
          var ask = Boolean(mine.ask_on_send);
          if (!ask && mine.compose_default !== "crm_recipients") return { allowEvent: true };
          return recipients(item)
            .then(anyCrmContact)
            .then(function (crm) {
              if (!crm) return { allowEvent: true };
              if (!ask) return fileIt(item).then(function () { return { allowEvent: true }; });
              return prompt();
            });
        });
      })
      .catch(function (error) {
        // Server unreachable, sign-in needed, an Office call failed: send, unfiled, and say so later.
        console.warn("CRM Sync: sending without filing:", (error && (error.message || error.name)) || error);
        return rememberUnfiled(item, error).then(function () {
          return { allowEvent: true };
        });
      })
      .then(function (options) {
        event.completed(options);
      });
  }

  Office.actions.associate("onNewMessageComposeHandler", onNewMessageComposeHandler);
  Office.actions.associate("onMessageSendHandler", onMessageSendHandler);
})();
