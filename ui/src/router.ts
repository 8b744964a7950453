// A tiny router: one screen at a time inside <main>. Each screen is a function that builds
// its root element and may return a dispose hook (timers, camera) run when it is left.

import type { ScreenName } from "./app";
import { replace } from "./dom";

export interface Screen {
  el: HTMLElement;
  dispose?: () => void;
}

type Mount = () => Screen;

const screens = new Map<ScreenName, Mount>();
let current: { name: ScreenName; screen: Screen } | null = null;
const listeners: Array<(name: ScreenName) => void> = [];

export function register(name: ScreenName, mount: Mount): void {
  screens.set(name, mount);
}

/** Called after every navigation (the nav bar uses it to mark the current page). */
export function onNavigate(fn: (name: ScreenName) => void): void {
  listeners.push(fn);
}

export function currentScreen(): ScreenName | null {
  return current ? current.name : null;
}

export function go(name: ScreenName): void {
  const mount = screens.get(name);
  const main = document.getElementById("main");
  if (!mount || !main) throw new Error(`no screen ${name}`);
  current?.screen.dispose?.();
  const screen = mount();
  screen.el.dataset.screen = name;
  current = { name, screen };
  replace(main, screen.el);
  for (const fn of listeners) fn(name);
  focusHeading(screen.el);
}

/** Builds the current screen again (after a language change). */
export function rerender(): void {
  if (current) go(current.name);
}

/** Moves focus to the first heading so screen readers announce the new screen. */
export function focusHeading(root: HTMLElement): void {
  const heading = root.querySelector<HTMLElement>("h1, h2");
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus();
}
