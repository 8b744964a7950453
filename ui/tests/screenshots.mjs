// Writes docs/screenshots/<lang>-<screen>.png at 480×760 with realistic mocked data.
// Run: npm run screenshots (builds first).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DAY, NOW, VALID_ID, launch, openApp, screenHeading, serve, status, uiDir } from "./harness.mjs";

const out = join(uiDir, "..", "docs", "screenshots");
mkdirSync(out, { recursive: true });

const history = [
  { at: NOW - 1 * DAY + 22 * 3600, tier: "age_only", linkable: true },
  { at: NOW - 1 * DAY + 21 * 3600, tier: "age_only" },
  { at: NOW - 2 * DAY + 9 * 3600, tier: "lightweight" },
  { at: NOW - 5 * DAY + 15 * 3600, tier: "upgraded" },
  { at: NOW - 9 * DAY + 11 * 3600, tier: "lightweight" },
  { at: NOW - 21 * DAY + 20 * 3600, tier: "upgraded" },
];

const server = await serve();
const browser = await launch();
const written = [];

async function shot(lang, name, mock, drive) {
  const settings = { language: lang, issuer_url: null };
  const app = await openApp(browser, server, { settings, history, qrVary: false, ...mock });
  try {
    await drive(app.page);
    // Screenshots show the resting state, not a focus ring left by clicks.
    await app.page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await app.page.mouse.move(0, 0); // and no hover colour left under the pointer
    const file = join(out, `${lang}-${name}.png`);
    await app.page.screenshot({ path: file });
    written.push(file);
    if (app.problems.length) throw new Error(`${lang}-${name}: ${app.problems.join("; ")}`);
  } finally {
    await app.context.close();
  }
}

try {
  for (const lang of ["en", "zh-CN"]) {
    await shot(lang, "welcome", { status: status("not_enrolled") }, (p) => screenHeading(p, "welcome"));
    await shot(lang, "enrol-capture", { status: status("not_enrolled"), overrides: { enrol: [{ manual: true }] } }, async (p) => {
      await p.click("#start-enrol");
      await p.fill("#id-number", VALID_ID);
      await p.click("#enrol-submit");
      await p.waitForSelector("#camera-preview", { state: "attached" });
      await p.evaluate(() => window.__mock.next(6)); // on step 2 of 3, a good frame
      await p.evaluate(() => document.getElementById("capture-title")?.scrollIntoView());
    });
    await shot(lang, "pin", { status: status("active", { pin_set: false }) }, (p) => screenHeading(p, "pin"));
    await shot(lang, "home", { status: status("active") }, (p) => screenHeading(p, "home"));
    await shot(lang, "home-renewal", { status: status("renewal_due") }, (p) => screenHeading(p, "home"));
    await shot(lang, "show-lightweight", { status: status("active") }, async (p) => {
      await p.click("#show-id");
      await p.click("#tier-lightweight");
      await p.waitForSelector("#qr[src^='data:image/svg+xml']");
      await p.waitForFunction(() => document.querySelector("#qr").complete);
    });
    await shot(lang, "show-pick", { status: status("active") }, async (p) => {
      await p.click("#show-id");
      await p.waitForSelector("#tier-age_only");
    });
    await shot(lang, "show-age-only", { status: status("active") }, async (p) => {
      await p.click("#show-id");
      await p.click("#tier-age_only");
      await p.waitForSelector("#qr[src^='data:image/svg+xml']");
      await p.waitForFunction(() => document.querySelector("#qr").complete);
    });
    await shot(lang, "show-upgraded-unlock", { status: status("active") }, async (p) => {
      await p.click("#show-id");
      await p.click("#tier-upgraded");
      await p.fill("#unlock-pin", "1234");
    });
    await shot(lang, "renew", { status: status("renewal_due") }, async (p) => {
      await p.click("#renew-start");
      await screenHeading(p, "renew");
    });
    await shot(lang, "history", { status: status("active") }, async (p) => {
      await p.click("#nav-history");
      await p.waitForSelector("#history-list li");
    });
    await shot(lang, "settings", { status: status("active") }, async (p) => {
      await p.click("#nav-settings");
      await screenHeading(p, "settings");
    });
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(written.map((f) => `wrote ${f}`).join("\n"));
