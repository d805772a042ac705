/* Office.js shim for the emulator's Outlook-like page: the subset of Office.js the add-in uses.
 *
 * Loaded by the add-in's own pages (task pane, function file) inside iframes of
 * /outlook/. It talks to the parent page with postMessage: the parent owns the mailbox
 * (it reads the emulated Graph) and answers calls; the shim turns them into Office.js
 * shapes (AsyncResult callbacks, promises, enums). Outside that page it never becomes ready,
 * so the add-in keeps showing its "sideload me" block, as it would outside Outlook.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var HOST_ORIGIN = script ? new URL(script.src).origin : "*";
  var parentWindow = window.parent !== window ? window.parent : null;
  var pending = {};
  var nextCallId = 1;
  var handlers = {};
  var actions = {};
  var readyResolve;
  var readyPromise = new Promise(function (resolve) { readyResolve = resolve; });

  var AsyncResultStatus = { Succeeded: "succeeded", Failed: "failed" };
  var EventType = {
    ItemChanged: "olkItemSelectedChanged",
    RecipientsChanged: "olkRecipientsChanged",
    SelectedItemsChanged: "olkSelectedItemsChanged",
    OfficeThemeChanged: "officeThemeChanged",
  };

  function post(message) {
    if (parentWindow) parentWindow.postMessage(Object.assign({ source: "office-shim" }, message), HOST_ORIGIN);
  }

  function call(method, args) {
    return new Promise(function (resolve, reject) {
      var id = nextCallId++;
      pending[id] = { resolve: resolve, reject: reject };
      post({ type: "call", id: id, method: method, args: args || {} });
    });
  }

  function asyncResult(value, error, asyncContext) {
    return {
      status: error ? AsyncResultStatus.Failed : AsyncResultStatus.Succeeded,
      value: error ? undefined : value,
      error: error ? { name: error.name || "Error", message: error.message || String(error), code: error.code || 9000 } : undefined,
      asyncContext: asyncContext,
    };
  }

  // Office.js methods take (args..., [options], [callback]); find the callback and options.
  function splitArgs(args) {
    var list = Array.prototype.slice.call(args);
    var callback = typeof list[list.length - 1] === "function" ? list.pop() : null;
    var options = list.length && list[list.length - 1] && typeof list[list.length - 1] === "object" && !Array.isArray(list[list.length - 1])
      ? list[list.length - 1] : {};
    return { list: list, callback: callback, options: options };
  }

  function viaParent(method, argsBuilder) {
    return function () {
      var parts = splitArgs(arguments);
      var payload = argsBuilder ? argsBuilder(parts.list) : {};
      call(method, payload).then(
        function (value) { if (parts.callback) parts.callback(asyncResult(value, null, parts.options.asyncContext)); },
        function (error) { if (parts.callback) parts.callback(asyncResult(null, error, parts.options.asyncContext)); }
      );
    };
  }

  function failed(callback, asyncContext, name, message, code) {
    if (callback) callback(asyncResult(null, { name: name, message: message, code: code }, asyncContext));
  }

  // Office.js Recipients (Mailbox 1.1): getAsync, setAsync and addAsync take strings or
  // {displayName, emailAddress}; at most 100 entries in one call, else NumberOfRecipientsExceeded.
  function composeRecipients(field) {
    function change(mode) {
      return function (recipients) {
        var parts = splitArgs(Array.prototype.slice.call(arguments, 1));
        var list = (recipients || []).map(function (r) {
          return typeof r === "string" ? { displayName: r, emailAddress: r } : { displayName: r.displayName || r.emailAddress || "", emailAddress: r.emailAddress || "" };
        });
        if (list.length > 100) {
          failed(parts.callback, parts.options.asyncContext, "NumberOfRecipientsExceeded", "The number of recipients exceeded 100 entries.", 9041);
          return;
        }
        viaParent("draft.recipients." + mode, function () { return { field: field, recipients: list }; }).call(null, parts.options, parts.callback || function () {});
      };
    }
    return {
      getAsync: viaParent("draft.recipients.get", function () { return { field: field }; }),
      setAsync: change("set"),
      addAsync: change("add"),
    };
  }

  // Office.js CustomProperties: a snapshot the add-in edits, then saves as a whole (saveAsync).
  function customProperties(values) {
    var props = Object.assign({}, values || {});
    return {
      get: function (name) { return props[name]; },
      set: function (name, value) { props[name] = value; },
      remove: function (name) { delete props[name]; },
      getAll: function () { return Object.assign({}, props); },
      saveAsync: function (callback, asyncContext) {
        call("draft.customProperties.save", { properties: props }).then(
          function () { if (callback) callback(asyncResult(undefined, null, asyncContext)); },
          function (error) { if (callback) callback(asyncResult(null, error, asyncContext)); }
        );
      },
    };
  }

  // Office.RoamingSettings (Mailbox 1.1): the add-in's settings in the user's mailbox, read when
  // the add-in's page loads; get/set/remove work on that copy, saveAsync(callback) stores the whole
  // copy (at most 32 KB, else error 9057), which the next page of the add-in to load then reads.
  function roamingSettings(values) {
    var bag = JSON.parse(JSON.stringify(values || {}));
    return {
      get: function (name) { return bag[name]; },
      set: function (name, value) { bag[name] = JSON.parse(JSON.stringify(value)); },
      remove: function (name) { delete bag[name]; },
      saveAsync: function (callback) {
        if (JSON.stringify(bag).length > 32 * 1024) {
          failed(callback, undefined, "SettingsSizeExceeded", "The settings exceed 32 KB.", 9057);
          return;
        }
        call("roamingSettings.save", { settings: bag }).then(
          function () { if (callback) callback(asyncResult(undefined, null)); },
          function (error) { if (callback) callback(asyncResult(null, error)); }
        );
      },
    };
  }

  // An item in compose mode (the draft the user is writing): no itemId until it is saved.
  function makeComposeItem(data) {
    return withoutLaterSets({
      itemType: "message",
      conversationId: data.conversationId || "",
      to: composeRecipients("to"),
      cc: composeRecipients("cc"),
      bcc: composeRecipients("bcc"),
      subject: {
        getAsync: viaParent("draft.subject.get"),
        setAsync: viaParent("draft.subject.set", function (l) { return { subject: String(l[0]) }; }),
      },
      categories: {
        getAsync: viaParent("draft.categories.get"),
        addAsync: viaParent("draft.categories.add", function (l) { return { categories: l[0] }; }),
        removeAsync: viaParent("draft.categories.remove", function (l) { return { categories: l[0] }; }),
      },
      // loadCustomPropertiesAsync(callback, [userContext]): the callback comes first.
      loadCustomPropertiesAsync: function (callback, userContext) {
        call("draft.customProperties.load", {}).then(
          function (values) { callback(asyncResult(customProperties(values), null, userContext)); },
          function (error) { callback(asyncResult(null, error, userContext)); }
        );
      },
      addHandlerAsync: function (eventType, handler) {
        var parts = splitArgs(Array.prototype.slice.call(arguments, 2));
        if (eventType !== EventType.RecipientsChanged) {
          failed(parts.callback, parts.options.asyncContext, "InvalidEventType", "The event type is not supported.", 5002);
          return;
        }
        (handlers[eventType] = handlers[eventType] || []).push(handler);
        if (parts.callback) parts.callback(asyncResult(undefined, null, parts.options.asyncContext));
      },
      removeHandlerAsync: function (eventType) {
        var parts = splitArgs(Array.prototype.slice.call(arguments, 1));
        delete handlers[eventType];
        if (parts.callback) parts.callback(asyncResult(undefined, null, parts.options.asyncContext));
      },
    });
  }

  // An older client has no member of a later set: categories are Mailbox 1.8, the item's
  // addHandlerAsync/removeHandlerAsync 1.7 (an add-in that uses them unchecked fails there too).
  function withoutLaterSets(item) {
    if (!versionAtLeast(SUPPORTED_SETS.mailbox, "1.8")) delete item.categories;
    if (!versionAtLeast(SUPPORTED_SETS.mailbox, "1.7")) {
      delete item.addHandlerAsync;
      delete item.removeHandlerAsync;
    }
    return item;
  }

  function makeItem(data) {
    if (!data) return null;
    if (data.mode === "compose") return makeComposeItem(data);
    var itemId = data.itemId;
    return {
      itemId: itemId,
      itemType: "message",
      itemClass: "IPM.Note",
      subject: data.subject || "",
      normalizedSubject: (data.subject || "").replace(/^((re|fw|fwd|odp|pd)\s*:\s*)+/i, ""),
      from: data.from || null,
      sender: data.from || null,
      to: data.to || [],
      cc: data.cc || [],
      internetMessageId: data.internetMessageId || "",
      conversationId: data.conversationId || "",
      dateTimeCreated: data.receivedDateTime ? new Date(data.receivedDateTime) : null,
      dateTimeModified: data.receivedDateTime ? new Date(data.receivedDateTime) : null,
      attachments: [],
      categories: {
        getAsync: viaParent("categories.get", function () { return { itemId: itemId }; }),
        addAsync: viaParent("categories.add", function (l) { return { itemId: itemId, categories: l[0] }; }),
        removeAsync: viaParent("categories.remove", function (l) { return { itemId: itemId, categories: l[0] }; }),
      },
      notificationMessages: {
        addAsync: viaParent("notifications.add", function (l) { return { itemId: itemId, key: l[0], message: l[1] }; }),
        replaceAsync: viaParent("notifications.replace", function (l) { return { itemId: itemId, key: l[0], message: l[1] }; }),
        removeAsync: viaParent("notifications.remove", function (l) { return { itemId: itemId, key: l[0] }; }),
        getAllAsync: viaParent("notifications.getAll", function () { return { itemId: itemId }; }),
      },
    };
  }

  // Outlook on the web's sets (Mailbox 1.14: the Smart Alerts options cancelLabel, commandId, sendModeOverride).
  var SUPPORTED_SETS = { mailbox: "1.14", identityapi: "1.3", openbrowserwindowapi: "1.1", nestedappauth: null };

  function versionAtLeast(have, want) {
    var a = String(have).split(".").map(Number);
    var b = String(want || "1.1").split(".").map(Number);
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  var mailbox = {
    item: null,
    userProfile: { displayName: "", emailAddress: "", timeZone: "UTC", accountType: "enterprise" },
    diagnostics: { hostName: "OutlookWebApp", hostVersion: "16.0", OWAView: "ThreeColumns" },
    restUrl: "",
    convertToRestId: function (itemId) {
      return String(itemId).replace(/\//g, "-").replace(/\+/g, "_");
    },
    convertToEwsId: function (itemId) {
      return String(itemId).replace(/-/g, "/").replace(/_/g, "+");
    },
    getSelectedItemsAsync: viaParent("getSelectedItems"),
    masterCategories: {
      getAsync: viaParent("masterCategories.get"),
      addAsync: viaParent("masterCategories.add", function (l) { return { categories: l[0] }; }),
    },
    addHandlerAsync: function (eventType, handler) {
      var parts = splitArgs(Array.prototype.slice.call(arguments, 2));
      (handlers[eventType] = handlers[eventType] || []).push(handler);
      if (parts.callback) parts.callback(asyncResult(undefined, null, parts.options.asyncContext));
    },
    removeHandlerAsync: function (eventType) {
      var parts = splitArgs(Array.prototype.slice.call(arguments, 1));
      delete handlers[eventType];
      if (parts.callback) parts.callback(asyncResult(undefined, null, parts.options.asyncContext));
    },
  };

  var context = {
    mailbox: mailbox,
    displayLanguage: "en-US",
    contentLanguage: "en-US",
    officeTheme: null,
    platform: "OfficeOnline",
    host: "Outlook",
    diagnostics: { host: "Outlook", platform: "OfficeOnline", version: "16.0" },
    roamingSettings: roamingSettings({}),
    requirements: {
      isSetSupported: function (name, version) {
        var have = SUPPORTED_SETS[String(name).toLowerCase()];
        return have ? versionAtLeast(have, version) : false;
      },
    },
    ui: {
      openBrowserWindow: function (url) {
        call("openBrowserWindow", { url: String(url) });
      },
      displayDialogAsync: viaParent("displayDialog", function (l) { return { url: l[0] }; }),
      messageParent: function () {},
    },
  };

  function applyContext(ctx) {
    context.displayLanguage = ctx.displayLanguage || "en-US";
    context.contentLanguage = context.displayLanguage;
    context.officeTheme = ctx.officeTheme || null;
    mailbox.userProfile.displayName = (ctx.user && ctx.user.displayName) || "";
    mailbox.userProfile.emailAddress = (ctx.user && ctx.user.emailAddress) || "";
    // An older client (the page's ?mailbox=): isSetSupported answers for its Mailbox set.
    SUPPORTED_SETS.mailbox = ctx.mailbox || "1.14";
    mailbox.item = makeItem(ctx.item);
    context.roamingSettings = roamingSettings(ctx.roamingSettings);
    SUPPORTED_SETS.nestedappauth = ctx.naa ? "1.1" : null;
  }

  function fire(eventType, payload) {
    (handlers[eventType] || []).forEach(function (handler) {
      try {
        handler(Object.assign({ type: eventType }, payload || {}));
      } catch (error) {
        console.error(error);
      }
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== parentWindow || (HOST_ORIGIN !== "*" && event.origin !== HOST_ORIGIN)) return;
    var data = event.data || {};
    if (data.source !== "outlook-page") return;
    if (data.type === "context") {
      applyContext(data.context);
      readyResolve({ host: "Outlook", platform: "OfficeOnline" });
    } else if (data.type === "result") {
      var waiter = pending[data.id];
      delete pending[data.id];
      if (!waiter) return;
      if (data.ok) waiter.resolve(data.value);
      else waiter.reject(data.error || { message: "failed" });
    } else if (data.type === "itemChanged") {
      mailbox.item = makeItem(data.item);
      fire(EventType.ItemChanged);
    } else if (data.type === "event") {
      fire(data.eventType, data.payload);
    } else if (data.type === "selectionChanged") {
      mailbox.item = makeItem(data.item);
      fire(EventType.SelectedItemsChanged);
    } else if (data.type === "invoke") {
      mailbox.item = makeItem(data.item);
      var action = actions[data.functionName];
      var event_ = {
        source: { id: data.controlId },
        completed: function (options) {
          post({ type: "completed", invocationId: data.invocationId, options: options || {} });
        },
      };
      if (!action) {
        post({ type: "completed", invocationId: data.invocationId, error: "no function " + data.functionName });
        return;
      }
      try {
        action(event_);
      } catch (error) {
        console.error(error);
      }
    }
  });

  var Office = {
    HostType: { Outlook: "Outlook", Word: "Word", Excel: "Excel", PowerPoint: "PowerPoint" },
    PlatformType: { OfficeOnline: "OfficeOnline", PC: "PC", Mac: "Mac", iOS: "iOS", Android: "Android" },
    AsyncResultStatus: AsyncResultStatus,
    EventType: EventType,
    CoercionType: { Text: "text", Html: "html" },
    MailboxEnums: {
      RestVersion: { v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" },
      ItemType: { Message: "message", Appointment: "appointment" },
      SendModeOverride: { PromptUser: "promptUser" },
      CategoryColor: { None: "None", Preset0: "Preset0", Preset1: "Preset1", Preset4: "Preset4", Preset7: "Preset7" },
      ItemNotificationMessageType: {
        ProgressIndicator: "progressIndicator",
        InformationalMessage: "informationalMessage",
        ErrorMessage: "errorMessage",
        InsightMessage: "insightMessage",
      },
    },
    context: context,
    auth: {
      getAccessToken: function (options) {
        return call("getAccessToken", options || {}).catch(function (error) {
          var failure = new Error(error.message || "sign-in failed");
          failure.code = error.code || 13000;
          throw failure;
        });
      },
    },
    actions: {
      associate: function (name, handler) {
        actions[name] = handler;
        post({ type: "associated", name: name });
      },
    },
    onReady: function (callback) {
      return readyPromise.then(function (info) {
        if (callback) callback(info);
        return info;
      });
    },
    initialize: null,
  };

  window.Office = Office;

  readyPromise.then(function (info) {
    if (typeof Office.initialize === "function") Office.initialize(info.reason || "inserted");
  });

  // Ask the page for the context (user, language, theme, item); Office.onReady waits for it.
  post({ type: "hello", href: location.href });
})();
