// The parts around the screens: skip link, nav bar, footer. Rebuilt on language change.

import { ctx, needsPin, type ScreenName } from "./app";
import { button, h, replace, show } from "./dom";
import { type Key, type Lang, langFromLocale, setLang, t } from "./i18n";
import { currentScreen, go, onNavigate, rerender } from "./router";

const NAV: Array<[ScreenName, Key]> = [
  ["home", "nav.home"],
  ["history", "nav.history"],
  ["settings", "nav.settings"],
];

/** settings.language, else the OS locale, else the webview's. */
export function chosenLang(): Lang {
  return ctx.settings.language ?? langFromLocale(ctx.info.system_locale ?? navigator.language);
}

export function renderChrome(): void {
  const skip = document.querySelector(".skip-link");
  if (skip) skip.textContent = t("app.skip");
  const brand = document.querySelector(".brand");
  if (brand) brand.textContent = t("app.name");
  const nav = document.getElementById("nav");
  if (nav) {
    nav.setAttribute("aria-label", t("nav.label"));
    replace(
      nav,
      h(
        "ul",
        {},
        ...NAV.map(([name, key]) =>
          h("li", {}, button({ id: `nav-${name}`, class: "nav-btn", "data-target": name }, t(key), () => go(name))),
        ),
      ),
    );
    markNav(currentScreen());
  }
  const version = document.getElementById("app-version");
  if (version) version.textContent = `${ctx.info.name} ${ctx.info.version}`;
}

/** The tab a screen belongs to: showing, renewing and signing in are parts of "My ID". */
function tabFor(name: ScreenName | null): ScreenName | null {
  if (name === "history" || name === "settings") return name;
  return name === null ? null : "home";
}

/** The nav appears once an ID is held and its PIN set (the PIN ends enrolment); the current
 *  tab is marked for assistive tech (aria-current) and by its look (styles.css). */
function markNav(name: ScreenName | null): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  show(nav, ctx.status.state !== "not_enrolled" && !needsPin(ctx.status));
  const tab = tabFor(name);
  nav.querySelectorAll<HTMLButtonElement>(".nav-btn").forEach((b) => {
    if (b.dataset.target === tab) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
}

onNavigate(markNav);

/** Shows or hides the nav after the wallet's status changed without a navigation. */
export function refreshNav(): void {
  markNav(currentScreen());
}

/** Switches language now: <html lang>, chrome, and the screen being shown. */
export function applyLanguage(): void {
  setLang(chosenLang());
  renderChrome();
  rerender();
}
