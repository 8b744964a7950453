// Start-up: load settings, app info and wallet status, pick the language and the screen.

import { appInfo, settingsGet, signInPending, walletStatus } from "./api";
import { ctx, needsPin, screenFor } from "./app";
import { chosenLang, renderChrome } from "./chrome";
import { button, h, replace } from "./dom";
import { errorBox } from "./errors";
import { langFromLocale, setLang, t } from "./i18n";
import { currentScreen, go, register } from "./router";
import { enrol } from "./screens/enrol";
import { history } from "./screens/history";
import { home } from "./screens/home";
import { pin } from "./screens/pin";
import { renew } from "./screens/renew";
import { settings } from "./screens/settings";
import { showScreen } from "./screens/show";
import { offerSignInLink, signIn } from "./screens/signin";
import { welcome } from "./screens/welcome";

register("welcome", welcome);
register("enrol", enrol);
register("pin", pin);
register("home", home);
register("show", showScreen);
register("renew", renew);
register("history", history);
register("settings", settings);
register("signIn", signIn);

/** Asks Rust, every second, whether the desktop handed over a sign-in link (launch argument,
 *  deep link, or a second launch), and opens the sign-in screen with it. */
function followSignInLinks(): void {
  let waiting: string | null = null;
  const poll = async (): Promise<void> => {
    try {
      waiting = waiting ?? (await signInPending());
    } catch {
      // No such command (an older shell or the UI tests' mock): nothing to follow.
      return;
    }
    // Not in the middle of a face capture (enrolment, renewal) nor before the PIN that ends
    // enrolment is set: the link waits for it.
    const busy = currentScreen() === "enrol" || currentScreen() === "renew" || needsPin(ctx.status);
    if (waiting && !busy) {
      offerSignInLink(waiting);
      waiting = null;
      go("signIn");
    }
    setTimeout(() => void poll(), 1000);
  };
  void poll();
}

async function start(): Promise<void> {
  const main = document.getElementById("main");
  if (!main) return;
  try {
    const [settingsNow, info, status] = await Promise.all([settingsGet(), appInfo(), walletStatus()]);
    ctx.settings = settingsNow;
    ctx.info = info;
    ctx.status = status;
    setLang(chosenLang());
    renderChrome();
    go(screenFor(status));
    document.body.dataset.ready = "true";
    followSignInLinks();
  } catch (err) {
    // Nothing loaded: use the webview's language to say so, and offer a retry.
    setLang(langFromLocale(navigator.language));
    replace(
      main,
      h(
        "section",
        { class: "screen", "data-screen": "startup-error" },
        h("h1", { tabindex: -1 }, t("app.startFailed")),
        errorBox(err),
        button({ id: "startup-retry", class: "btn btn-primary" }, t("app.retry"), () => void start()),
      ),
    );
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => void start(), { once: true });
} else {
  void start();
}
