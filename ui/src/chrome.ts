// The parts around the screens: skip link, nav bar, footer. Rebuilt on language change.

import { ctx, type ScreenName } from "./app";
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

/** The nav appears once an ID exists; the current page is marked for assistive tech. */
function markNav(name: ScreenName | null): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  show(nav, ctx.status.state !== "not_enrolled");
  nav.querySelectorAll<HTMLButtonElement>(".nav-btn").forEach((b) => {
    if (b.dataset.target === name) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
}

onNavigate(markNav);

/** Switches language now: <html lang>, chrome, and the screen being shown. */
export function applyLanguage(): void {
  setLang(chosenLang());
  renderChrome();
  rerender();
}
