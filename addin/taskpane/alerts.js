// The pane's status line and alert: the busy countdown, and errors in plain words with Retry or Sign in.
import { getToken, SignInNeeded } from "../../addin/shared/auth.js";
import { waitKey } from "../../addin/shared/error-words.js";
import { t } from "../../addin/shared/i18n.js";
import { $, announce, describeError } from "./ui.js";

/** The status line while a busy party is waited out (named by `error`): the seconds left, then "Loading…" again. */
export function showBusy(seconds, error) {
  if (seconds > 0) announce(t(waitKey(error), { seconds }), "busy");
  else announce(t("status.loading"));
}

export function clearAlert() {
  $("alert").hidden = true;
}

/** Shows `text` in the alert, with a button (`actionLabel`) that closes it and runs `onAction`. */
export function showAlert(text, actionLabel, onAction) {
  $("alert-text").textContent = text;
  const button = $("alert-action");
  button.hidden = !actionLabel;
  if (actionLabel) {
    button.textContent = actionLabel;
    button.onclick = () => {
      clearAlert();
      onAction();
    };
  }
  $("alert").hidden = false;
}

/** Says what went wrong, offering Sign in (then `retry`) when that is what is missing, else Retry. */
export function showError(error, retry) {
  announce("");
  if (error instanceof SignInNeeded) {
    showAlert(describeError(error), t("action.signIn"), async () => {
      try {
        await getToken({ forceRefresh: true, prompt: true });
        retry();
      } catch (again) {
        showError(again, retry);
      }
    });
    return;
  }
  showAlert(describeError(error), t("action.retry"), retry);
}
