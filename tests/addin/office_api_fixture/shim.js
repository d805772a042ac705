// An Office.js stand-in with invented members, for the self-test of scripts/check-office-api.mjs.
/* global window */
(function () {
  "use strict";
  window.Office = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: { CategoryColor: { Preset7: "Preset7", Preset99: "Preset99" } },
    context: {
      displayLanguage: function () { return "en-US"; },
      mailbox: {
        item: null,
        fileInCrm: function () {},
        convertToRestId: function (itemId, restVersion, extra) { return [itemId, restVersion, extra].join(""); },
      },
    },
  };
})();
