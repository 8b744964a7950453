// Shared by the tests and the screenshot script: serves ui/dist (with the app's real CSP),
// launches Debian's Chromium through playwright-core, and injects the mock back end.

import { readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const uiDir = join(here, "..");
const dist = join(uiDir, "dist");

// The policy from src-tauri/tauri.conf.json, so a CSP violation shows up in the tests.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** Serves ui/dist on 127.0.0.1 with a random port. */
export async function serve() {
  if (!existsSync(join(dist, "index.html"))) throw new Error("ui/dist is missing: run `npm run build` first");
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, path === "/" ? "index.html" : path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-security-policy": CSP,
    });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}

export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// The real mockIPC: @tauri-apps/api/mocks.js is one self-contained ES module; its export line
// becomes a global so an init script (a classic script) can use it.
function mocksScript() {
  const src = readFileSync(join(uiDir, "node_modules/@tauri-apps/api/mocks.js"), "utf8");
  const exportLine = /^export \{ clearMocks, mockConvertFileSrc, mockIPC, mockWindows \};$/m;
  if (!exportLine.test(src)) throw new Error("@tauri-apps/api/mocks.js changed shape; update harness.mjs");
  return `(() => {\n${src.replace(exportLine, "")}\nwindow.__TAURI_MOCKS__ = { mockIPC, mockWindows, clearMocks };\n})();`;
}
const MOCKS = mocksScript();
const BACKEND = readFileSync(join(here, "mock-backend.js"), "utf8");

// --- realistic data ---

export const NOW = 1795000000; // 2026-11-18, Unix seconds
export const DAY = 86400;
export const VALID_ID = "110101199003071524";
export const BAD_CHECK_ID = "110101199003071525";

// A drawn head-and-shoulders "camera frame" (no real person), JPEG as Rust streams them.
export const FRAME_JPEG = readFileSync(join(here, "fixtures/frame.jpg")).toString("base64");

export function info(over = {}) {
  return {
    name: "Tessera",
    version: "0.1.0",
    os: "linux",
    arch: "x86_64",
    issuer_url: "http://127.0.0.1:47110",
    demo_issuer: true,
    frames: "camera",
    system_locale: "en-US",
    ...over,
  };
}

export function status(state = "active", over = {}) {
  const enrolled = state !== "not_enrolled";
  const showable = ["active", "renewal_due", "renewing"].includes(state);
  const expires = { renewal_due: NOW + 12 * DAY, expired: NOW - 3 * DAY }[state] ?? NOW + 320 * DAY;
  return {
    state,
    tiers: showable ? ["age_only", "lightweight", "upgraded"] : [],
    expires_at: enrolled && state !== "enrolling" ? expires : null,
    pin_set: enrolled && state !== "enrolling",
    masked_name: enrolled ? "王*红" : null,
    masked_id_number: enrolled ? "110***********24" : null,
    renew_before: 30 * DAY,
    now: NOW,
    clock_offset_seconds: enrolled ? 1 : null,
    clock_off: false,
    one_time: { lightweight: enrolled ? 9 : 0, age_only: enrolled ? 8 : 0 },
    keys: "software",
    key_protection: enrolled ? "software" : null,
    one_time_key_protection: enrolled ? "software" : null,
    ...over,
  };
}

export function captureEvents(jpeg = FRAME_JPEG) {
  return [
    { event: "challenge", actions: ["front", "left", "blink"] },
    { event: "step", step: 0, action: "front", done: 0, total: 3 },
    { event: "frame", jpeg, step: 0, guidance: ["too_far"] },
    { event: "frame", jpeg, step: 0, guidance: [] },
    { event: "step", step: 1, action: "left", done: 1, total: 3 },
    { event: "frame", jpeg, step: 1, guidance: [] },
    { event: "step", step: 2, action: "blink", done: 2, total: 3 },
    { event: "frame", jpeg, step: 2, guidance: [] },
    { event: "checking" },
    { event: "submitting" },
  ];
}

export function qrSvg() {
  // A real Tessera QR (the lightweight test vector, drawn by tessera-qr's `svg` example).
  return readFileSync(join(here, "fixtures/qr.svg"), "utf8");
}

/**
 * Opens the app in a fresh context. `mock` overrides the defaults: info, settings, status,
 * history, pin (the PIN the mock wallet checks; unset, any 6 digits pass while a PIN is set),
 * linkable (every showing reuses a credential shown before, as offline with none fresh left),
 * overrides ({cmd: [{ok}|{error}|{events}|{manual}|{hang}, …]} used in order).
 */
export async function openApp(browser, server, mock = {}, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 480, height: 760 },
    locale: opts.locale ?? "en-US",
    timezoneId: opts.timezoneId ?? "Asia/Shanghai",
    colorScheme: opts.colorScheme ?? "light",
    reducedMotion: "reduce",
  });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const config = {
    info: info(),
    settings: { language: "en", issuer_url: null },
    status: status("active"),
    enrolledStatus: status("active", { pin_set: false }),
    history: [],
    captureEvents: captureEvents(),
    qrSvg: qrSvg(),
    qrVary: true,
    eventDelay: 5,
    overrides: {},
    ...mock,
  };
  if (opts.clock) await page.clock.install({ time: new Date(NOW * 1000) });
  await page.addInitScript(`window.__TESSERA_MOCK_CONFIG__ = ${JSON.stringify(config)};\n${MOCKS}\n${BACKEND}`);
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]");
  return { page, context, problems };
}

/** Waits for `[data-screen=name]` and returns its h1 text. */
export async function screenHeading(page, name) {
  await page.waitForSelector(`[data-screen="${name}"] h1`);
  return (await page.textContent(`[data-screen="${name}"] h1`)).trim();
}

export const calls = (page, cmd) => page.evaluate((c) => window.__mock.calls(c), cmd);

/** Every key in src/i18n.ts, read from the source so the test does not trust the bundle. */
export function dictionaryKeys() {
  const src = readFileSync(join(uiDir, "src/i18n.ts"), "utf8");
  const en = src.slice(src.indexOf("const en = {"), src.indexOf("} as const;"));
  return [...en.matchAll(/^\s+"([a-zA-Z]+\.[a-zA-Z_.]+)":/gm)].map((m) => m[1]);
}
