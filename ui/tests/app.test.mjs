// End-to-end tests of the built UI in Chromium, with the Rust side replaced by mockIPC.
// Run with `npm test` (builds first).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import {
  BAD_CHECK_ID,
  NOW,
  VALID_ID,
  calls,
  dictionaryKeys,
  info,
  launch,
  openApp,
  screenHeading,
  serve,
  status,
} from "./harness.mjs";

let browser;
let server;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the app, runs fn, then checks no page error or CSP violation happened. */
async function withApp(mock, fn, opts) {
  const app = await openApp(browser, server, mock, opts);
  try {
    await fn(app.page);
    assert.deepEqual(app.problems, [], "page errors or CSP violations");
  } finally {
    await app.context.close();
  }
}

const currentEnrolStep = (page) => page.$eval('#enrol-steps [aria-current="step"]', (li) => li.dataset.step);

const alertText = (page, kind) => page.textContent(`[role=alert][data-error-kind="${kind}"] .alert-text`);

const HEADINGS = {
  en: {
    welcome: "Welcome to Tessera",
    enrol: "Add your ID",
    pin: "Set a PIN",
    home: "My ID",
    show: "Show my ID",
    renew: "Renew my ID",
    history: "History",
    settings: "Settings",
  },
  "zh-CN": {
    welcome: "欢迎使用 Tessera",
    enrol: "添加您的证件",
    pin: "设置 PIN 码",
    home: "我的证件",
    show: "出示证件",
    renew: "更新证件",
    history: "出示记录",
    settings: "设置",
  },
};

const KEYS = dictionaryKeys();

async function assertNoRawKeys(page) {
  const text = await page.evaluate(() => {
    const labels = [...document.querySelectorAll("[aria-label],[alt]")].map(
      (e) => `${e.getAttribute("aria-label") ?? ""} ${e.getAttribute("alt") ?? ""}`,
    );
    return `${document.body.innerText}\n${labels.join("\n")}\n${document.title}`;
  });
  const raw = KEYS.filter((k) => text.includes(k));
  assert.deepEqual(raw, [], "dictionary keys shown raw");
}

describe("screens", () => {
  test("dictionaries are read from source (sanity)", () => {
    assert.ok(KEYS.length > 100, `only ${KEYS.length} keys found`);
    assert.ok(KEYS.includes("welcome.title"));
  });

  for (const lang of ["en", "zh-CN"]) {
    test(`every screen renders in ${lang}`, async () => {
      const H = HEADINGS[lang];
      const settings = { language: lang, issuer_url: null };
      // welcome → enrol
      await withApp({ settings, status: status("not_enrolled") }, async (page) => {
        assert.equal(await page.getAttribute("html", "lang"), lang);
        assert.equal(await screenHeading(page, "welcome"), H.welcome);
        await assertNoRawKeys(page);
        assert.equal(await page.isVisible("#nav"), false, "no nav before enrolment");
        await page.click("#start-enrol");
        assert.equal(await screenHeading(page, "enrol"), H.enrol);
        await assertNoRawKeys(page);
      });
      // pin (enrolled, no PIN yet)
      await withApp({ settings, status: status("active", { pin_set: false }) }, async (page) => {
        assert.equal(await screenHeading(page, "pin"), H.pin);
        assert.equal(await page.isVisible("#nav"), false, "no nav until the PIN is set");
        await assertNoRawKeys(page);
      });
      // home, show (both tiers), renew, history, settings
      const history = [
        { at: 1794900000, tier: "lightweight" },
        { at: 1794990000, tier: "upgraded" },
      ];
      await withApp({ settings, status: status("renewal_due"), history }, async (page) => {
        assert.equal(await screenHeading(page, "home"), H.home);
        assert.equal(await page.textContent("#card-name"), "王*红");
        assert.equal(await page.textContent("#card-id"), "110***********24");
        assert.equal(await page.textContent("#card-state"), lang === "en" ? "Renewal due" : "即将到期");
        assert.ok(await page.isVisible("#renewal-banner"));
        await assertNoRawKeys(page);

        await page.click("#show-id");
        assert.equal(await screenHeading(page, "show"), H.show);
        await assertNoRawKeys(page);
        await page.click("#tier-lightweight");
        await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
        await assertNoRawKeys(page);
        await page.click("#qr-close");
        await screenHeading(page, "home");
        await page.click("#show-id");
        await page.click("#tier-upgraded");
        await page.waitForSelector("#unlock-pin");
        assert.equal(await page.textContent("#unlock-title"), lang === "en" ? "Unlock full details" : "解锁完整信息");
        await assertNoRawKeys(page);

        await page.click("#nav-home");
        await page.click("#renew-start");
        assert.equal(await screenHeading(page, "renew"), H.renew);
        await assertNoRawKeys(page);

        await page.click("#nav-history");
        assert.equal(await screenHeading(page, "history"), H.history);
        await page.waitForSelector("#history-list li");
        // The two given, and the basic check just shown (the full details were not unlocked).
        assert.equal(await page.locator("#history-list li").count(), 3);
        await assertNoRawKeys(page);

        await page.click("#nav-settings");
        assert.equal(await screenHeading(page, "settings"), H.settings);
        await assertNoRawKeys(page);
      });
    });
  }

  test("language follows the system when unset, and switches live in settings", async () => {
    await withApp(
      { settings: { language: null, issuer_url: null }, info: info({ system_locale: "zh-Hans-CN" }) },
      async (page) => {
        assert.equal(await screenHeading(page, "home"), HEADINGS["zh-CN"].home);
        assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
        await page.click("#nav-settings");
        await screenHeading(page, "settings");
        await page.selectOption("#lang-select", "en");
        assert.equal(await screenHeading(page, "settings"), "Settings");
        assert.equal(await page.getAttribute("html", "lang"), "en");
        assert.equal(await page.textContent("#nav-home"), "My ID");
        const set = await calls(page, "settings_set");
        assert.equal(set.at(-1).args.settings.language, "en");
        await assertNoRawKeys(page);
      },
    );
  });

  test("history empty state", async () => {
    await withApp({ history: [] }, async (page) => {
      await page.click("#nav-history");
      await page.waitForSelector("#history-empty");
      assert.equal(await page.textContent("#history-empty"), "You have not shown your ID yet.");
    });
  });
});

describe("show ID", () => {
  test("a device clock off from the issuer's is named on My ID and Show, in both languages", async () => {
    await withApp({ status: status("active", { clock_offset_seconds: -185, clock_off: true }) }, async (page) => {
      await page.waitForSelector(".clock-warning");
      assert.match(await page.textContent(".clock-warning"), /about 3 min ahead\. Desks will refuse your codes as not yet valid\./);
      await page.click("#show-id");
      await page.waitForSelector("#tier-lightweight");
      assert.match(await page.textContent(".clock-warning"), /Set the date and time to update automatically/);
    });
    await withApp(
      { status: status("active", { clock_offset_seconds: 600, clock_off: true }), settings: { language: "zh-CN", issuer_url: null } },
      async (page) => {
        await page.waitForSelector(".clock-warning");
        assert.match(await page.textContent(".clock-warning"), /本设备的时钟慢了约 10 分钟/);
      },
    );
    // Within the desks' skew: nothing to say.
    await withApp({ status: status("active", { clock_offset_seconds: 12, clock_off: false }) }, async (page) => {
      await page.waitForSelector("#show-id");
      assert.equal(await page.$(".clock-warning"), null);
    });
  });

  test("the QR regenerates every 30 s, within one showing", async () => {
    await withApp(
      {},
      async (page) => {
        // The installed clock runs in real time until paused: pause it (a jump well past
        // the page load), so the countdown moves only through runFor, however slow the
        // machine.
        await page.clock.pauseAt(new Date(NOW * 1000 + 300_000));
        await page.click("#show-id");
        await page.click("#tier-lightweight");
        await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
        const first = await page.getAttribute("#qr", "src");
        // The first code begins the showing (one credential, one history entry).
        assert.deepEqual((await calls(page, "show_begin")).map((c) => c.args.tier), ["lightweight"]);
        assert.equal((await calls(page, "show_qr")).length, 0);
        assert.equal(await page.textContent("#qr-countdown"), "Refreshes in 30 s");
        assert.equal(await page.getAttribute("#qr-countdown", "aria-live"), "off");
        // The QR is really the mock's SVG, UTF-8-safely base64-encoded.
        const svg = Buffer.from(first.split(",")[1], "base64").toString("utf8");
        assert.match(svg, /<svg[\s\S]*<!-- 1 --><\/svg>/);

        await page.clock.runFor(3000);
        assert.equal(await page.textContent("#qr-countdown"), "Refreshes in 27 s");
        assert.equal((await calls(page, "show_qr")).length, 0, "no regeneration before 30 s");

        await page.clock.runFor(27000);
        await page.waitForFunction(() => window.__mock.calls("show_qr").length === 1);
        await page.waitForFunction((src) => document.querySelector("#qr").getAttribute("src") !== src, first);
        const second = await calls(page, "show_qr");
        assert.equal(second[0].args.tier, "lightweight");
        assert.equal(await page.textContent("#qr-announce"), "New QR code ready.");
        assert.equal(await page.textContent("#qr-countdown"), "Refreshes in 30 s");

        await page.clock.runFor(30000);
        await page.waitForFunction(() => window.__mock.calls("show_qr").length === 2);
        // Regenerations never begin another showing: no credential is used up every 30 s.
        assert.equal((await calls(page, "show_begin")).length, 1);
        assert.equal((await calls(page, "show_end")).length, 0);
        await page.click("#qr-close");
        await screenHeading(page, "home");
        assert.equal((await calls(page, "show_end")).length, 1, "closing ends the showing");
      },
      { clock: true },
    );
  });

  test("upgraded: PIN, face check, QR; closing locks", async () => {
    await withApp({}, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "123456");
      await page.click("#unlock-submit");
      await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
      const unlock = await calls(page, "unlock_upgraded");
      assert.equal(unlock[0].args.pin, "123456");
      assert.match(unlock[0].args.onEvent, /^__CHANNEL__:\d+$/);
      assert.equal((await calls(page, "show_begin"))[0].args.tier, "upgraded");
      assert.equal(await page.getAttribute("#qr", "alt"), "QR code with your ID: Full details");
      await page.click("#qr-close");
      await screenHeading(page, "home");
      assert.equal((await calls(page, "lock_upgraded")).length, 1);
    });
  });

  test("wrong PIN shows the tries left; locked PIN shows seconds", async () => {
    const overrides = {
      unlock_upgraded: [
        { error: { kind: "wrong_pin", message: "wrong PIN", remaining: 2 } },
        { error: { kind: "pin_locked", message: "locked", seconds: 300 } },
      ],
    };
    await withApp({ overrides }, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "000000");
      await page.press("#unlock-pin", "Enter");
      await page.waitForSelector('[role=alert][data-error-kind="wrong_pin"]');
      assert.equal(await alertText(page, "wrong_pin"), "Wrong PIN. 2 tries left before you must wait.");
      assert.equal(await page.textContent('[data-error-kind="wrong_pin"] .alert-detail'), "Details: wrong PIN");
      assert.equal(await page.inputValue("#unlock-pin"), "", "PIN field cleared");
      await page.fill("#unlock-pin", "111111");
      await page.click("#unlock-submit");
      await page.waitForSelector('[role=alert][data-error-kind="pin_locked"]');
      assert.equal(await alertText(page, "pin_locked"), "Too many wrong PINs. Wait 300 seconds, then try again.");
      assert.equal((await calls(page, "show_begin")).length, 0);
      assert.equal((await calls(page, "show_qr")).length, 0);
    });
  });

  test("wrong PIN in Chinese", async () => {
    const overrides = { unlock_upgraded: [{ error: { kind: "wrong_pin", message: "wrong PIN", remaining: 1 } }] };
    await withApp({ overrides, settings: { language: "zh-CN", issuer_url: null } }, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "000000");
      await page.click("#unlock-submit");
      await page.waitForSelector('[data-error-kind="wrong_pin"]');
      assert.equal(await alertText(page, "wrong_pin"), "PIN 码错误。还可尝试 1 次，之后需要等待。");
    });
  });

  test("when the unlock has lapsed the QR screen goes back to the PIN", async () => {
    const overrides = { show_begin: [{ error: { kind: "unlock_expired", message: "unlock expired" } }] };
    await withApp({ overrides }, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "123456");
      await page.click("#unlock-submit");
      await page.waitForSelector('[role=alert][data-error-kind="unlock_expired"]');
      assert.ok(await page.isVisible("#unlock-pin"));
      assert.equal(await page.isVisible("#qr-view, .qr-view"), false);
    });
  });

  const AGE_ONLY = {
    en: {
      button: "Age only",
      heading: "Age only: over 18, no name or ID number shown",
      linkable: "This code can be linked to your earlier ones until you are online.",
      mark: "Could be linked to earlier codes (shown offline)",
    },
    "zh-CN": {
      button: "仅年龄",
      heading: "仅年龄：已满 18 周岁，不显示姓名和证件号码",
      linkable: "联网前，此二维码可能与您之前出示的二维码被关联。",
      mark: "可能与之前的二维码被关联（离线出示）",
    },
  };

  for (const lang of ["en", "zh-CN"]) {
    const W = AGE_ONLY[lang];
    test(`age only: a preset beside the two tiers, its code says what it shows, history lists it (${lang})`, async () => {
      const settings = { language: lang, issuer_url: null };
      await withApp({ settings, history: [] }, async (page) => {
        await page.click("#show-id");
        await screenHeading(page, "show");
        // Three presets, least disclosed first, in one labelled group.
        assert.deepEqual(
          await page.$$eval(".tiers[role=group] .tier", (b) => b.map((x) => x.id)),
          ["tier-age_only", "tier-lightweight", "tier-upgraded"],
        );
        assert.equal((await page.textContent("#tier-age_only .tier-name")).trim(), W.button);
        assert.equal(await page.getAttribute("#tier-age_only", "aria-describedby"), "tier-age_only-desc");
        assert.match(await page.textContent("#tier-age_only-desc"), lang === "en" ? /no name, no ID number/ : /不显示姓名和证件号码/);
        assert.equal(await page.getAttribute("html", "lang"), lang);
        await assertNoRawKeys(page);

        await page.click("#tier-age_only");
        await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
        assert.deepEqual((await calls(page, "show_begin")).map((c) => c.args.tier), ["age_only"]);
        assert.equal(await page.textContent("#qr-title"), W.heading);
        // Focus moves to the heading, so a screen reader says which preset is shown.
        assert.equal(await page.evaluate(() => document.activeElement?.id), "qr-title");
        assert.match(await page.getAttribute("#qr", "alt"), new RegExp(W.button));
        assert.equal(await page.isVisible("#qr-linkable"), false, "a fresh credential: nothing to warn about");
        await assertNoRawKeys(page);
        await page.click("#qr-close");
        await screenHeading(page, "home");
        assert.equal((await calls(page, "show_end")).length, 1);

        await page.click("#nav-history");
        await page.waitForSelector("#history-list li");
        assert.equal(await page.getAttribute("#history-list li", "data-tier"), "age_only");
        assert.equal(await page.textContent("#history-list li .tier-tag"), W.button);
        assert.equal(await page.$("#history-list li .linkable-mark"), null);
        assert.equal(await page.$("#history-list img, #history-list svg"), null, "never the code");
        await assertNoRawKeys(page);
      });
    });

    test(`a code reusing a credential shown before warns that it can be linked (${lang})`, async () => {
      const settings = { language: lang, issuer_url: null };
      await withApp({ settings, history: [], linkable: true }, async (page) => {
        await page.click("#show-id");
        await page.click("#tier-age_only");
        await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
        await page.waitForSelector("#qr-linkable:not([hidden])");
        assert.equal(await page.textContent("#qr-linkable p:first-child"), W.linkable);
        assert.ok(await page.isVisible("#qr-linkable"));
        // Said to screen readers too, through the polite live region.
        assert.equal(await page.textContent("#qr-announce"), W.linkable);
        await assertNoRawKeys(page);
        await page.click("#qr-close");
        await page.click("#nav-history");
        await page.waitForSelector("#history-list li");
        assert.equal(await page.getAttribute("#history-list li", "data-linkable"), "true");
        assert.equal(await page.textContent("#history-list li .linkable-mark"), W.mark);
      });
    });
  }

  test("the linkable warning stays away from fresh codes, and a new showing after one clears it", async () => {
    const linkableQr = (n) => ({ tier: "lightweight", svg: "<svg xmlns='http://www.w3.org/2000/svg'/>", expires_at: NOW + 60 + n, now: NOW + n, linkable: true });
    const overrides = { show_begin: [{ ok: linkableQr(0) }] };
    await withApp({ overrides }, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-lightweight");
      await page.waitForSelector("#qr-linkable:not([hidden])");
      await page.click("#qr-close");
      await page.click("#show-id");
      await page.click("#tier-lightweight");
      await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
      assert.equal(await page.isVisible("#qr-linkable"), false);
    });
  });

  test("leaving the QR by the tabs ends the showing too", async () => {
    await withApp({}, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-lightweight");
      await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
      await page.click("#nav-history");
      await screenHeading(page, "history");
      assert.equal((await calls(page, "show_end")).length, 1);
    });
  });

  test("no codes of a preset on the device: said in words, and a retry begins a showing", async () => {
    const overrides = {
      show_begin: [{ error: { kind: "no_credential", message: "this wallet holds no age_only credential: renew the ID online" } }],
    };
    await withApp({ overrides }, async (page) => {
      await page.click("#show-id");
      await page.click("#tier-age_only");
      await page.waitForSelector('[role=alert][data-error-kind="no_credential"]');
      assert.match(await alertText(page, "no_credential"), /no codes for this choice on this device yet\. Connect to the internet/);
      await page.click("#qr-retry");
      await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
      assert.equal((await calls(page, "show_begin")).length, 2);
    });
  });

  test("a regeneration after the showing ended in Rust says so; a retry begins a new one", async () => {
    const overrides = { show_qr: [{ error: { kind: "showing_ended", message: "no showing of the lightweight tier is open" } }] };
    await withApp(
      { overrides },
      async (page) => {
        await page.clock.pauseAt(new Date(NOW * 1000 + 300_000));
        await page.click("#show-id");
        await page.click("#tier-lightweight");
        await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
        await page.clock.runFor(30000);
        await page.waitForSelector('[role=alert][data-error-kind="showing_ended"]');
        assert.equal(await alertText(page, "showing_ended"), "This showing has ended. Try again to show a new code.");
        await page.click("#qr-retry");
        await page.waitForFunction(() => window.__mock.calls("show_begin").length === 2);
        await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
        assert.equal(await page.$('[role=alert][data-error-kind="showing_ended"]'), null);
      },
      { clock: true },
    );
  });

  test("My ID says how many fresh codes are left, and warns when a preset has none", async () => {
    await withApp({}, async (page) => {
      await page.waitForSelector("#fresh-codes");
      assert.equal(
        await page.textContent("#fresh-codes"),
        "Fresh codes on this device: 8 age only, 9 basic check. Each showing uses one; Tessera gets more when online.",
      );
    });
    await withApp(
      { status: status("active", { one_time: { lightweight: 4, age_only: 0 } }), settings: { language: "zh-CN", issuer_url: null } },
      async (page) => {
        await page.waitForSelector("#fresh-codes");
        assert.match(await page.textContent("#fresh-codes"), /部分出示方式已没有新的二维码/);
      },
    );
  });

  test("show is disabled without showable tiers", async () => {
    await withApp({ status: status("expired") }, async (page) => {
      await screenHeading(page, "home");
      assert.equal(await page.isDisabled("#show-id"), true);
      assert.ok(await page.isVisible("#renewal-banner"));
      assert.ok(await page.isVisible("#renew-start"));
    });
  });
});

describe("enrolment", () => {
  test("challenge → steps → frames → success → PIN → home", async () => {
    const overrides = { enrol: [{ manual: true }] };
    await withApp({ status: status("not_enrolled"), overrides }, async (page) => {
      await page.click("#start-enrol");
      assert.equal(await currentEnrolStep(page), "id");
      await page.fill("#id-number", VALID_ID);
      assert.equal(await page.textContent("#id-number-status"), "The number looks right.");
      await page.click("#enrol-submit");
      await page.waitForSelector("#camera-preview", { state: "attached" });
      assert.equal((await calls(page, "check_id_number"))[0].args.idNumber, VALID_ID);
      const enrol = (await calls(page, "enrol"))[0].args;
      assert.equal(enrol.idNumber, VALID_ID);
      assert.equal(enrol.replaceExisting, false);

      const next = (n) => page.evaluate((k) => window.__mock.next(k), n);
      const states = () => page.$$eval("#challenge-steps li", (lis) => lis.map((li) => li.dataset.state));
      await next(2); // challenge, step 0
      assert.deepEqual(
        await page.$$eval("#challenge-steps li .step-text", (l) => l.map((e) => e.textContent)),
        ["Look straight at the camera", "Turn your head to your left", "Blink"],
      );
      assert.deepEqual(await states(), ["current", "pending", "pending"]);
      assert.equal(await page.textContent("#capture-status"), "Step 1 of 3");
      await next(1); // frame with guidance
      assert.match(await page.getAttribute("#camera-preview", "src"), /^data:image\/jpeg;base64,\/9j\//);
      assert.equal(await page.textContent("#capture-guidance"), "Move closer");
      assert.equal(await page.getAttribute("#capture-guidance", "aria-live"), "polite");
      await next(1); // good frame
      assert.equal(await page.textContent("#capture-guidance"), "Look straight at the camera");
      await next(2); // step 1, frame
      assert.deepEqual(await states(), ["done", "current", "pending"]);
      assert.equal(await page.textContent("#capture-guidance"), "Turn your head to your left");
      await next(2); // step 2, frame
      assert.deepEqual(await states(), ["done", "done", "current"]);
      await next(1); // checking
      assert.deepEqual(await states(), ["done", "done", "done"]);
      assert.equal(await page.textContent("#capture-status"), "Checking the pictures on this device…");
      await next(1);
      assert.equal(await page.textContent("#capture-status"), "Sending to the issuer…");
      await page.evaluate(() => window.__mock.finish());

      await page.waitForSelector("#enrol-result");
      // The face check is not the end: the PIN step follows, and nothing else is offered.
      assert.equal(await page.textContent("#enrol-result h2"), "Face check passed");
      assert.match(await page.textContent("#enrol-result"), /One step left: choose a PIN/);
      assert.equal(await page.textContent("#enrol-continue"), "Choose my PIN");
      assert.equal(await page.isVisible("#nav"), false, "no tabs before the PIN is set");
      await page.click("#enrol-continue");
      await screenHeading(page, "pin");
      assert.equal(await page.isVisible("#nav"), false, "no tabs on the PIN step");
      assert.equal(await currentEnrolStep(page), "pin");
      assert.equal(await page.locator("#pin-back").count(), 0, "no way around the PIN step");
      await page.fill("#pin-new", "123456");
      await page.fill("#pin-confirm", "123455");
      await page.click("#pin-save");
      await page.waitForSelector('[role=alert][data-error-kind="pin_mismatch"]');
      assert.equal((await calls(page, "set_pin")).length, 0);
      await page.fill("#pin-new", "12345");
      await page.fill("#pin-confirm", "12345");
      await page.click("#pin-save");
      await page.waitForSelector('[role=alert][data-error-kind="pin_format"]');
      await page.fill("#pin-new", "802417");
      await page.fill("#pin-confirm", "802417");
      await page.click("#pin-save");
      await screenHeading(page, "home");
      assert.equal((await calls(page, "set_pin"))[0].args.pin, "802417");
      assert.equal((await calls(page, "set_pin"))[0].args.currentPin, null, "the first PIN needs no current one");
      assert.equal(await page.textContent("#card-name"), "王*红");
      assert.equal(await page.textContent("#card-state"), "Valid");
      assert.ok(await page.isVisible("#nav-home"));

      // Full details now work with that PIN (and only with it).
      await page.click("#show-id");
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "135790");
      await page.click("#unlock-submit");
      await page.waitForSelector('[role=alert][data-error-kind="wrong_pin"]');
      assert.equal(await alertText(page, "wrong_pin"), "Wrong PIN. 2 tries left before you must wait.");
      await page.fill("#unlock-pin", "802417");
      await page.click("#unlock-submit");
      await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
      assert.equal((await calls(page, "show_begin"))[0].args.tier, "upgraded");
    });
  });

  test("an ID without a PIN (an older install) opens on the PIN step, with no tabs", async () => {
    await withApp({ status: status("active", { pin_set: false }) }, async (page) => {
      assert.equal(await screenHeading(page, "pin"), "Set a PIN");
      assert.equal(await page.isVisible("#nav"), false);
      assert.equal(await page.isVisible("#pin-current"), false);
      assert.deepEqual(await page.$$eval("#enrol-steps li", (l) => l.map((li) => li.dataset.state)), ["done", "done", "current"]);
      await page.fill("#pin-new", "802417");
      await page.fill("#pin-confirm", "802417");
      await page.click("#pin-save");
      await screenHeading(page, "home");
      assert.ok(await page.isVisible("#nav"));
    });
  });

  test("Full details with no PIN set lead to setting one, then work", async () => {
    // The UI believes a PIN is set (as a stale status would); the wallet knows there is none.
    const overrides = { wallet_status: [{ ok: status("active") }] };
    await withApp({ status: status("active", { pin_set: false }), overrides }, async (page) => {
      await screenHeading(page, "home");
      await page.click("#show-id");
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "802417");
      await page.click("#unlock-submit");
      await page.waitForSelector("#no-pin");
      assert.match(await page.textContent("#no-pin"), /Full details need a PIN/);
      assert.equal(await page.locator("[role=alert]").count(), 0, "not a dead-end error");
      await page.click("#set-pin-first");
      assert.equal(await screenHeading(page, "pin"), "Set a PIN");
      assert.equal(await page.isVisible("#pin-current"), false, "a first PIN needs no current one");
      assert.equal(await page.isVisible("#nav"), false);
      await page.fill("#pin-new", "802417");
      await page.fill("#pin-confirm", "802417");
      await page.click("#pin-save");
      await screenHeading(page, "show"); // back where the person was
      assert.deepEqual((await calls(page, "set_pin")).at(-1).args, { pin: "802417", currentPin: null });
      await page.click("#tier-upgraded");
      await page.fill("#unlock-pin", "802417");
      await page.click("#unlock-submit");
      await page.waitForSelector("#qr[src^='data:image/svg+xml;base64,']");
    });
  });

  test("adding an ID again with a PIN kept skips the PIN step", async () => {
    const enrolledStatus = status("active"); // the vault keeps its PIN verifier
    await withApp({ status: status("revoked"), enrolledStatus }, async (page) => {
      await page.click("#enrol-again");
      await screenHeading(page, "enrol");
      assert.deepEqual(await page.$$eval("#enrol-steps li", (l) => l.map((li) => li.dataset.step)), ["id", "face"]);
      await page.fill("#id-number", VALID_ID);
      await page.click("#enrol-submit");
      await page.waitForSelector("#enrol-result");
      assert.equal(await page.textContent("#enrol-result h2"), "Your ID is on this device");
      await page.click("#enrol-continue");
      await screenHeading(page, "home");
    });
  });

  test("a wrong check digit is refused before any command", async () => {
    await withApp({ status: status("not_enrolled") }, async (page) => {
      await page.click("#start-enrol");
      await page.fill("#id-number", BAD_CHECK_ID);
      assert.equal(
        await page.textContent("#id-number-status"),
        "This number's last character does not match. Check the number on your ID card.",
      );
      assert.equal(await page.getAttribute("#id-number", "aria-invalid"), "true");
      await page.click("#enrol-submit");
      await page.waitForSelector('[role=alert][data-error-kind="invalid_id_number"]');
      // Only start-up's commands (and the background question whether a sign-in link was
      // handed over): nothing about the ID number.
      const cmds = (await calls(page)).map((c) => c.cmd).filter((c) => c !== "sign_in_pending");
      assert.deepEqual([...cmds].sort(), ["app_info", "settings_get", "wallet_status"]);
      await page.fill("#id-number", "11010119900307152");
      assert.equal(await page.textContent("#id-number-status"), "17 of 18 characters");
      await page.fill("#id-number", "1101011990030715A4");
      assert.equal(await page.textContent("#id-number-status"), "Only digits, and X as the last character.");
      await page.fill("#id-number", "11010519491231002x"); // lower-case x check digit is fine
      assert.equal(await page.textContent("#id-number-status"), "The number looks right.");
    });
  });

  test("the enrol form works with the keyboard only", async () => {
    await withApp({ status: status("not_enrolled") }, async (page) => {
      await screenHeading(page, "welcome");
      const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
      assert.equal(await focused(), "welcome-title", "focus starts on the heading");
      for (let i = 0; i < 10 && (await focused()) !== "start-enrol"; i++) await page.keyboard.press("Tab");
      assert.equal(await focused(), "start-enrol");
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.equal(outline, "solid", "visible focus ring");
      await page.keyboard.press("Enter");
      await screenHeading(page, "enrol");
      assert.equal(await focused(), "enrol-title", "focus moves to the new screen's heading");
      for (let i = 0; i < 10 && (await focused()) !== "id-number"; i++) await page.keyboard.press("Tab");
      assert.equal(await focused(), "id-number");
      await page.keyboard.type(VALID_ID);
      await page.keyboard.press("Enter");
      await page.waitForSelector("#enrol-result");
      assert.equal((await calls(page, "enrol")).length, 1);
      assert.equal(await focused(), "H2", "focus on the result heading");
      await page.keyboard.press("Tab");
      assert.equal(await focused(), "enrol-continue");
      await page.keyboard.press("Enter");
      await screenHeading(page, "pin");
      await page.keyboard.press("Tab");
      await page.keyboard.type("258036");
      await page.keyboard.press("Tab");
      await page.keyboard.type("258036");
      await page.keyboard.press("Enter");
      await screenHeading(page, "home");
      assert.equal((await calls(page, "set_pin"))[0].args.pin, "258036");
    });
  });

  test("no camera: the ID number first, the demo recording where the face check starts, no photo", async () => {
    await withApp({ status: status("not_enrolled"), info: info({ frames: "none" }) }, async (page) => {
      await page.click("#start-enrol");
      assert.ok(await page.isVisible("#no-camera"));
      assert.equal(await page.textContent("#use-demo"), "Use the demo recording — for demonstration only");
      // In reading order: the ID field, then the warning with the demo choice (inside the
      // part of the form that starts the face check), in place of the camera's button.
      const order = await page.$$eval("#id-number, #no-camera, #use-demo, #enrol-back", (els) => els.map((e) => e.id));
      assert.deepEqual(order, ["id-number", "no-camera", "use-demo", "enrol-back"]);
      assert.ok(await page.$eval("#use-demo", (b) => b.closest(".face-start") !== null));
      assert.equal(await page.isVisible("#enrol-submit"), false);
      // A still photo cannot pass the liveness check: it is not offered.
      assert.equal(await page.locator("input[type=file], #choose-photo").count(), 0);
      assert.doesNotMatch(await page.textContent("[data-screen=enrol]"), /photo/i);

      // Pressed before a valid number: says so, and the warning stays.
      await page.click("#use-demo");
      await page.waitForSelector('[role=alert][data-error-kind="id_missing"]');
      assert.equal(await alertText(page, "id_missing"), "Enter your ID number first: the face check needs it.");
      assert.ok(await page.isVisible("#no-camera"));
      assert.equal(await page.evaluate(() => document.activeElement?.id), "id-number");
      await page.fill("#id-number", VALID_ID.slice(0, 10));
      await page.click("#use-demo");
      await page.waitForSelector('[role=alert][data-error-kind="invalid_id_number"]');
      assert.ok(await page.isVisible("#no-camera"));
      assert.equal((await calls(page, "use_demo_recording")).length, 0, "nothing changes before the number is valid");

      await page.fill("#id-number", VALID_ID);
      await page.click("#use-demo");
      await page.waitForSelector("#enrol-result");
      assert.equal((await calls(page, "use_demo_recording")).length, 1);
      assert.equal((await calls(page, "enrol")).length, 1);
      assert.equal(await page.isVisible("#no-camera"), false);
    });
  });

  test("no camera: Enter in the ID field says there is no camera", async () => {
    await withApp({ status: status("not_enrolled"), info: info({ frames: "none" }) }, async (page) => {
      await page.click("#start-enrol");
      await page.fill("#id-number", VALID_ID);
      await page.press("#id-number", "Enter");
      await page.waitForSelector('[role=alert][data-error-kind="no_camera"]');
      assert.equal((await calls(page, "enrol")).length, 0);
      assert.ok(await page.isVisible("#use-demo"));
    });
  });

  test("no camera in Chinese", async () => {
    await withApp(
      { status: status("not_enrolled"), info: info({ frames: "none" }), settings: { language: "zh-CN", issuer_url: null } },
      async (page) => {
        await page.click("#start-enrol");
        assert.equal(await page.textContent("#use-demo"), "使用演示录像——仅供演示");
        assert.equal(await page.textContent("#no-camera .notice-title"), "本设备未找到摄像头，无法进行人脸核验。");
      },
    );
  });

  const ENROL_ERRORS = [
    ["no_camera", {}, "No camera was found. Connect a camera, or use the demo recording."],
    ["issuer_unreachable", {}, "The issuer cannot be reached. Check your internet connection and try again."],
    ["face_mismatch", {}, "Your face did not match the photo on record. Try again in good light, without glasses or a mask."],
    ["liveness_failed", {}, "The face check was not completed. Try again and follow each step on the screen."],
    ["quality", { guidance: ["too_dark", "blurry"] }, "The pictures were not clear enough: More light, please, Hold still — the picture is blurry. Try again."],
    ["unknown_id_number", {}, "The issuer has no record of this ID number. Check it, or contact the issuing office."],
    ["rate_limited", {}, "Too many attempts. Wait a few minutes and try again."],
    ["challenge_expired", {}, "The face check took too long. Start again."],
    ["keystore", {}, "The secure storage on this device could not be used. Restart the device and try again."],
    ["internal", {}, "Something went wrong in Tessera. Try again; if it keeps happening, restart the app."],
  ];
  for (const [kind, extra, text] of ENROL_ERRORS) {
    test(`enrol error: ${kind}`, async () => {
      const error = { kind, message: `${kind} detail`, ...extra };
      // Fails after the challenge, as a real liveness/face failure would.
      const overrides = { enrol: [{ events: [{ event: "challenge", actions: ["front"] }], error }] };
      await withApp({ status: status("not_enrolled"), overrides }, async (page) => {
        await page.click("#start-enrol");
        await page.fill("#id-number", VALID_ID);
        await page.click("#enrol-submit");
        await page.waitForSelector(`[role=alert][data-error-kind="${kind}"]`);
        assert.equal(await alertText(page, kind), text);
        assert.equal(await page.textContent(`[data-error-kind="${kind}"] .alert-detail`), `Details: ${kind} detail`);
        // Can try again: with the camera, or (none found) with the demo recording instead.
        assert.equal(await page.isVisible("#enrol-submit"), kind !== "no_camera");
        assert.equal(await page.isVisible("#use-demo"), kind === "no_camera");
      });
    });
  }

  test("already enrolled → replace on this device", async () => {
    const overrides = { enrol: [{ error: { kind: "already_enrolled", message: "already enrolled elsewhere" } }] };
    await withApp({ status: status("not_enrolled"), overrides }, async (page) => {
      await page.click("#start-enrol");
      await page.fill("#id-number", VALID_ID);
      await page.click("#enrol-submit");
      await page.waitForSelector('[role=alert][data-error-kind="already_enrolled"]');
      assert.ok(await page.isVisible("#replace-existing"));
      assert.match(await page.textContent("#replace-box"), /other device stops working/);
      await page.click("#replace-existing");
      await page.waitForSelector("#enrol-result");
      const enrols = await calls(page, "enrol");
      assert.deepEqual(
        enrols.map((c) => c.args.replaceExisting),
        [false, true],
      );
    });
  });

  test("cancelling the face check returns to the form without an error", async () => {
    const overrides = { enrol: [{ manual: true }] };
    await withApp({ status: status("not_enrolled"), overrides }, async (page) => {
      await page.click("#start-enrol");
      await page.fill("#id-number", VALID_ID);
      await page.click("#enrol-submit");
      await page.waitForSelector("#capture-cancel");
      await page.evaluate(() => window.__mock.next(3));
      await page.click("#capture-cancel");
      await page.waitForSelector("#enrol-submit", { state: "visible" });
      assert.equal((await calls(page, "cancel_capture")).length, 1);
      assert.equal(await page.locator("[role=alert]").count(), 0);
      assert.equal(await page.inputValue("#id-number"), VALID_ID);
      // Focus is on the button that starts the face check again, not lost on <body>.
      await page.waitForFunction(() => document.activeElement?.id === "enrol-submit");
      assert.equal(await page.isDisabled("#enrol-submit"), false);
      assert.equal(await currentEnrolStep(page), "id");
    });
  });

  test("checkIdNumber's verdict stops the enrolment", async () => {
    const overrides = { check_id_number: [{ ok: { kind: "invalid_id_number", message: "bad region code" } }] };
    await withApp({ status: status("not_enrolled"), overrides }, async (page) => {
      await page.click("#start-enrol");
      await page.fill("#id-number", VALID_ID);
      await page.click("#enrol-submit");
      await page.waitForSelector('[role=alert][data-error-kind="invalid_id_number"]');
      assert.equal((await calls(page, "enrol")).length, 0);
    });
  });
});

describe("renew and settings", () => {
  test("renewal with a face check", async () => {
    await withApp({ status: status("renewal_due") }, async (page) => {
      await page.click("#renew-start");
      await page.click("#renew-confirm");
      await page.waitForSelector("#renew-result.result-ok");
      assert.match(await page.textContent("#renew-result"), /Your ID is renewed\. Valid until /);
      await page.click("#renew-home");
      assert.equal(await page.textContent("#card-state"), "Valid");
      assert.equal(await page.isVisible("#renewal-banner"), false);
    });
  });

  test("with TPM keys, renewal asks for the PIN first and passes it on; software keys are not asked", async () => {
    await withApp({ status: status("renewal_due", { keys: "tpm", key_protection: "hardware_with_pin" }), pin: "246810" }, async (page) => {
      await page.click("#renew-start");
      assert.ok(await page.isVisible("#renew-pin"));
      assert.match(await page.textContent("label[for=renew-pin]"), /PIN/);
      // No PIN: refused here, before the camera starts.
      await page.click("#renew-confirm");
      await page.waitForSelector('[role=alert][data-error-kind="pin_format"]');
      assert.equal((await calls(page, "renew")).length, 0);
      // A wrong PIN: the chip refuses it and the reason is shown, with a way to try again.
      await page.fill("#renew-pin", "111111");
      await page.click("#renew-confirm");
      await page.waitForSelector('#renew-result [role=alert][data-error-kind="wrong_pin"]');
      assert.equal(await page.inputValue("#renew-pin"), "", "the PIN is not kept in the form");
      await page.fill("#renew-pin", "246810");
      await page.click("#renew-confirm");
      await page.waitForSelector("#renew-result.result-ok");
      assert.equal((await calls(page, "renew")).at(-1).args.pin, "246810");
    });
    await withApp({ status: status("renewal_due") }, async (page) => {
      await page.click("#renew-start");
      assert.equal(await page.isVisible("#renew-pin"), false);
      await page.click("#renew-confirm");
      await page.waitForSelector("#renew-result.result-ok");
      assert.equal((await calls(page, "renew")).at(-1).args.pin, null);
    });
  });

  for (const [lang, software, tpmPin] of [
    ["en", "Device keys: in software, protected by the system keystore", "Device keys: in this computer's security chip (TPM), PIN checked by the chip"],
    ["zh-CN", "设备密钥：以软件方式保存，由系统密钥库保护", "设备密钥：保存在本机的安全芯片（TPM）中，PIN 码由芯片验证"],
  ]) {
    test(`settings say where the device keys are (${lang})`, async () => {
      const settings = { language: lang, issuer_url: null };
      await withApp({ settings }, async (page) => {
        await page.click("#nav-settings");
        assert.equal(await page.textContent("#device-keys"), software);
        assert.equal(await page.textContent("#keys-title"), lang === "en" ? "Device keys" : "设备密钥");
        assert.equal(await page.isVisible("#device-keys-credential"), false);
      });
      await withApp({ settings, status: status("active", { keys: "tpm", key_protection: "hardware_with_pin", one_time_key_protection: "hardware" }) }, async (page) => {
        await page.click("#nav-settings");
        assert.equal(await page.textContent("#device-keys"), tpmPin);
      });
      // Keys in the chip, but the issuer did not attest them: the credential's word is said too.
      await withApp({ settings, status: status("active", { keys: "tpm" }) }, async (page) => {
        await page.click("#nav-settings");
        assert.equal(await page.textContent("#device-keys"), tpmPin);
        assert.ok(await page.isVisible("#device-keys-credential"));
        await assertNoRawKeys(page);
      });
    });
  }

  test("renewal failure shows the reason in the result", async () => {
    const overrides = { renew: [{ error: { kind: "issuer_unreachable", message: "connect refused" } }] };
    await withApp({ status: status("renewal_due"), overrides }, async (page) => {
      await page.click("#renew-start");
      await page.click("#renew-confirm");
      await page.waitForSelector('#renew-result [role=alert][data-error-kind="issuer_unreachable"]');
      assert.ok(await page.isVisible("#renew-confirm"), "can try again");
    });
  });

  test("issuer address is saved; removing needs confirmation", async () => {
    await withApp({}, async (page) => {
      await page.click("#nav-settings");
      assert.match(await page.textContent("#issuer-now"), /http:\/\/127\.0\.0\.1:47110/);
      assert.ok(await page.isVisible("#issuer-demo"));
      await page.fill("#issuer-url", "not a url");
      await page.click("#settings-save");
      await page.waitForSelector('[role=alert][data-error-kind="invalid_input"]');
      assert.equal((await calls(page, "settings_set")).length, 0);
      await page.fill("#issuer-url", "https://id.example.gov.cn");
      // A PIN is set: the address changes only with it.
      await page.click("#settings-save");
      await page.waitForSelector('[role=alert][data-error-kind="pin_required"]');
      assert.equal(await alertText(page, "pin_required"), "Enter your PIN to make this change.");
      await page.fill("#settings-pin", "246810");
      await page.click("#settings-save");
      await page.waitForSelector(".saved");
      const saved = (await calls(page, "settings_set")).at(-1).args;
      assert.equal(saved.settings.issuer_url, "https://id.example.gov.cn");
      assert.equal(saved.pin, "246810");
      assert.equal(await page.inputValue("#settings-pin"), "", "the PIN is not kept in the form");
      assert.match(await page.textContent("#about-version"), /Tessera 0\.1\.0/);

      assert.equal(await page.isVisible("#remove-confirm"), false);
      await page.click("#remove-id");
      assert.ok(await page.isVisible("#remove-confirm"));
      assert.equal((await calls(page, "remove_id")).length, 0);
      assert.ok(await page.isVisible("#remove-pin"));
      await page.click("#remove-confirm");
      await page.waitForSelector('[role=alert][data-error-kind="pin_required"]');
      await page.fill("#remove-pin", "246810");
      await page.click("#remove-confirm");
      await screenHeading(page, "welcome");
      const removed = await calls(page, "remove_id");
      assert.equal(removed.length, 2);
      assert.equal(removed[1].args.pin, "246810");
      assert.equal(await page.isVisible("#nav"), false);
    });
  });

  test("Settings changes the PIN with the current one; a lockout shows the wait", async () => {
    await withApp({ pin: "246810" }, async (page) => {
      await page.click("#nav-settings");
      assert.equal(await page.isVisible("#pin-change"), false);
      await page.click("#change-pin");
      // The form opens in place, on Settings, cursor in the current PIN.
      await screenHeading(page, "settings");
      assert.ok(await page.isVisible("#pin-current"));
      assert.equal(await page.evaluate(() => document.activeElement?.id), "pin-current");
      await page.fill("#pin-new", "802417");
      await page.fill("#pin-confirm", "802417");
      await page.click("#pin-save");
      await page.waitForSelector('[role=alert][data-error-kind="pin_format"]');
      assert.equal((await calls(page, "set_pin")).length, 0, "no call without the current PIN");
      await page.fill("#pin-current", "111112");
      await page.click("#pin-save");
      await page.waitForSelector('[role=alert][data-error-kind="wrong_pin"]');
      assert.equal(await alertText(page, "wrong_pin"), "Wrong PIN. 2 tries left before you must wait.");
      await page.fill("#pin-current", "246810");
      await page.click("#pin-save");
      await page.waitForSelector("#pin-changed", { state: "visible" });
      assert.equal(await page.textContent("#pin-changed"), "Your PIN is changed.");
      assert.equal(await page.isVisible("#pin-change"), false, "the form closes");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "pin-changed", "focus on the confirmation");
      assert.ok(await page.isVisible("#change-pin"));
      await screenHeading(page, "settings");
      const sent = (await calls(page, "set_pin")).map((c) => c.args);
      assert.deepEqual(sent.at(-1), { pin: "802417", currentPin: "246810" });

      // The new PIN is the one that counts now; three wrong ones in a row mean a wait.
      await page.click("#change-pin");
      assert.equal(await page.inputValue("#pin-current"), "", "the fields start empty");
      await page.fill("#pin-new", "613580");
      await page.fill("#pin-confirm", "613580");
      for (const remaining of [2, 1, 0]) {
        await page.fill("#pin-current", "246810");
        await page.click("#pin-save");
        await page.waitForFunction(
          (n) => document.querySelector('[data-error-kind="wrong_pin"] .alert-text')?.textContent.includes(`${n} tries`),
          remaining,
        );
      }
      await page.fill("#pin-current", "802417");
      await page.click("#pin-save");
      await page.waitForSelector('[role=alert][data-error-kind="pin_locked"]');
      assert.equal(await alertText(page, "pin_locked"), "Too many wrong PINs. Wait 30 seconds, then try again.");
      await page.click("#pin-cancel");
      assert.equal(await page.isVisible("#pin-change"), false);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "change-pin");
    });
  });

  for (const [lang, texts] of [
    [
      "en",
      {
        same_digit: "This PIN is one digit repeated. Choose six digits that are not all the same.",
        sequence: "This PIN is a run of digits, like 123456 or 654321. Choose digits in no particular order.",
        repeated: "This PIN repeats a short group of digits, like 121212 or 123123. Choose six digits without a pattern.",
        birth_date: "This PIN is your date of birth, which is printed on your ID. Choose digits that say nothing about you.",
        common: "This is one of the PINs people choose most often. Choose a less common one.",
        unknown: "This PIN is too easy to guess. Choose another one.",
      },
    ],
    [
      "zh-CN",
      {
        same_digit: "此 PIN 码是同一个数字重复。请选择不全相同的 6 位数字。",
        sequence: "此 PIN 码是连续数字（如 123456 或 654321）。请选择没有顺序的数字。",
        repeated: "此 PIN 码重复了一组数字（如 121212 或 123123）。请选择没有规律的 6 位数字。",
        birth_date: "此 PIN 码是您的出生日期，证件上印有此信息。请选择与您个人信息无关的数字。",
        common: "这是最常被使用的 PIN 码之一。请选择不常见的数字。",
        unknown: "此 PIN 码太容易被猜到，请换一个。",
      },
    ],
  ]) {
    test(`a weak PIN is refused with its reason in ${lang}`, async () => {
      const reasons = Object.keys(texts);
      const overrides = {
        set_pin: reasons.map((reason) => ({ error: { kind: "pin_weak", message: "weak", reason } })),
      };
      const settings = { language: lang, issuer_url: null };
      await withApp({ settings, status: status("active", { pin_set: false }), overrides }, async (page) => {
        await screenHeading(page, "pin");
        assert.equal(await page.isVisible("#pin-current"), false, "the first PIN needs no current one");
        assert.ok((await page.textContent("#pin-rules")).includes("123456"));
        for (const reason of reasons) {
          await page.fill("#pin-new", "610804");
          await page.fill("#pin-confirm", "610804");
          await page.click("#pin-save");
          // Each refusal replaces the last: wait for this reason's words.
          await page.waitForFunction(
            (want) => document.querySelector('[data-error-kind="pin_weak"] .alert-text')?.textContent === want,
            texts[reason],
          );
          assert.equal(await alertText(page, "pin_weak"), texts[reason], reason);
        }
        await assertNoRawKeys(page);
      });
    });
  }

  test("revoked and enrolling states offer the way forward", async () => {
    await withApp({ status: status("revoked") }, async (page) => {
      await screenHeading(page, "home");
      assert.equal(await page.textContent("#card-state"), "Revoked");
      await page.click("#enrol-again");
      await screenHeading(page, "enrol");
    });
    await withApp({ status: status("enrolling") }, async (page) => {
      await screenHeading(page, "home");
      await page.click("#continue-enrol");
      await screenHeading(page, "enrol");
    });
  });
});

describe("navigation, card and error wording", () => {
  test("the current tab is marked (aria-current and its look) on every screen", async () => {
    const view = { request_id: "r1", client_name: "Shop", client_name_zh: null, claims: [], tier: "lightweight", match_choices: [], expires_at: NOW + 120, now: NOW };
    await withApp({ status: status("renewal_due"), signInView: view }, async (page) => {
      const marked = async (where, want) => {
        const ids = await page.$$eval("#nav [aria-current=page]", (els) => els.map((e) => e.id));
        assert.deepEqual(ids, [`nav-${want}`], `${where}: current tab`);
        const [on, off] = await page.evaluate((id) => {
          const other = [...document.querySelectorAll("#nav .nav-btn")].find((b) => b.id !== id);
          const look = (el) => `${getComputedStyle(el).boxShadow} ${getComputedStyle(el).backgroundColor}`;
          return [look(document.getElementById(id)), look(other)];
        }, `nav-${want}`);
        assert.notEqual(on, off, `${where}: the current tab looks different`);
      };
      await screenHeading(page, "home");
      await marked("home", "home");
      await page.click("#show-id");
      await screenHeading(page, "show");
      await marked("show", "home");
      await page.click("#tier-lightweight");
      await page.waitForSelector("#qr[src]");
      await marked("QR", "home");
      await page.click("#qr-close");
      await page.click("#renew-start");
      await screenHeading(page, "renew");
      await marked("renew", "home");
      await page.click("#nav-history");
      await screenHeading(page, "history");
      await marked("history", "history");
      await page.click("#nav-settings");
      await screenHeading(page, "settings");
      await marked("settings", "settings");
      await page.click("#nav-home");
      await page.click("#sign-in-start");
      await screenHeading(page, "signIn");
      await marked("sign-in", "home");
    });
  });

  for (const [lang, labels] of [["en", ["Name", "ID number"]], ["zh-CN", ["姓名", "证件号码"]]]) {
    test(`the card's name and number are read with their labels (${lang})`, async () => {
      await withApp({ settings: { language: lang, issuer_url: null } }, async (page) => {
        await screenHeading(page, "home");
        const pairs = await page.$$eval(".id-card-ident > div", (rows) =>
          rows.map((r) => [r.querySelector("dt")?.textContent, r.querySelector("dd")?.id, r.querySelector("dd")?.textContent]),
        );
        assert.deepEqual(pairs, [
          [labels[0], "card-name", "王*红"],
          [labels[1], "card-id", "110***********24"],
        ]);
        // The labels are for screen readers only; no aria-label is left on a plain element.
        assert.equal(await page.$eval(".id-card-ident dt", (dt) => getComputedStyle(dt).position), "absolute");
        assert.equal(await page.locator(".id-card p[aria-label], .id-card dd[aria-label]").count(), 0);
      });
    });
  }

  test("every error kind Rust sends has its own words in both languages", () => {
    // The kinds as src-tauri/src builds them: CommandError::new("kind", …) and the
    // `=> "kind"` / bare "kind" arms of error.rs's conversions.
    const src = join(dirname(fileURLToPath(import.meta.url)), "../../src-tauri/src");
    const kinds = new Set();
    for (const file of readdirSync(src).filter((f) => f.endsWith(".rs"))) {
      const text = readFileSync(join(src, file), "utf8").split("#[cfg(test)]")[0];
      for (const m of text.matchAll(/CommandError::new\(\s*"([a-z_]+)"/g)) kinds.add(m[1]);
      if (file === "error.rs") {
        for (const m of text.matchAll(/=> "([a-z_]+)"|^\s+"([a-z_]+)"$/gm)) kinds.add(m[1] ?? m[2]);
      }
    }
    assert.ok(kinds.size > 20, `only ${kinds.size} kinds found`);
    const missing = [...kinds].filter((k) => !KEYS.includes(`error.${k}`));
    assert.deepEqual(missing, [], "kinds with no error.<kind> text");
    // And the UI's own list of kinds (api.ts) says no more and no less than Rust.
    const api = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../src/api.ts"), "utf8");
    const union = api.slice(api.indexOf("export interface CommandError"), api.indexOf("/** English, for the details line"));
    const listed = new Set([...union.matchAll(/\| "([a-z_]+)"/g)].map((m) => m[1]));
    assert.deepEqual([...kinds].filter((k) => !listed.has(k)), [], "kinds Rust sends that api.ts does not list");
  });

  test("in Chinese, errors are in Chinese; the English detail is folded away and marked English", async () => {
    const settings = { language: "zh-CN", issuer_url: null };
    const overrides = {
      renew: [
        { error: { kind: "issuer_unreachable", message: "the issuer at http://127.0.0.1:1 cannot be reached: connection refused" } },
        { error: { kind: "cancelled", message: "the capture was cancelled" } },
        { error: { kind: "something_newer", message: "a kind this build does not know" } },
      ],
    };
    await withApp({ settings, status: status("renewal_due"), overrides }, async (page) => {
      await page.click("#renew-start");
      const expected = [
        ["issuer_unreachable", "无法连接签发机构。请检查网络连接后重试。"],
        ["cancelled", "操作在完成前已取消。"],
        ["something_newer", "Tessera 出现问题。请重试；如果问题持续，请重启应用。"],
      ];
      for (const [kind, text] of expected) {
        await page.click("#renew-confirm");
        const box = `#renew-result [role=alert][data-error-kind="${kind}"]`;
        await page.waitForSelector(box);
        assert.equal(await page.textContent(`${box} .alert-text`), text);
        assert.equal(await page.textContent(`${box} summary`), "技术详情（英文）");
        assert.equal(await page.getAttribute(`${box} .alert-detail`, "lang"), "en");
        assert.equal(await page.$eval(`${box} details`, (d) => d.open), false, "folded by default");
        // What is on screen is Chinese only (the English waits behind the summary).
        const shown = (await page.innerText(box)).replaceAll("Tessera", ""); // the name is the name
        assert.doesNotMatch(shown, /[A-Za-z]{3,}/, `${kind}: no English shown`);
        await page.click(`${box} summary`);
        assert.ok(await page.isVisible(`${box} .alert-detail`), "the detail opens for support");
      }
    });
  });

  test("in English, the detail stays one line under the message", async () => {
    const overrides = { renew: [{ error: { kind: "cancelled", message: "the capture was cancelled" } }] };
    await withApp({ status: status("renewal_due"), overrides }, async (page) => {
      await page.click("#renew-start");
      await page.click("#renew-confirm");
      await page.waitForSelector('[role=alert][data-error-kind="cancelled"]');
      assert.equal(await alertText(page, "cancelled"), "It was cancelled before it finished.");
      assert.equal(await page.textContent('[data-error-kind="cancelled"] .alert-detail'), "Details: the capture was cancelled");
      assert.equal(await page.locator('[data-error-kind="cancelled"] details').count(), 0);
    });
  });
});

describe("200 % zoom (240 × 380 CSS px)", () => {
  const noHScroll = async (page, where) => {
    const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(sw <= cw, `${where}: scrollWidth ${sw} > ${cw}`);
  };
  for (const lang of ["en", "zh-CN"]) {
    test(`no screen scrolls sideways (${lang})`, async () => {
      const viewport = { width: 240, height: 380 };
      const settings = { language: lang, issuer_url: null };
      const history = [{ at: 1794900000, tier: "upgraded" }];
      await withApp(
        { settings, status: status("not_enrolled"), info: info({ frames: "none" }) },
        async (page) => {
          await screenHeading(page, "welcome");
          await noHScroll(page, "welcome");
          await page.click("#start-enrol");
          await page.fill("#id-number", BAD_CHECK_ID);
          await page.click("#use-demo");
          await page.waitForSelector("[role=alert]");
          await noHScroll(page, "enrol form");
        },
        { viewport },
      );
      await withApp(
        { settings, status: status("not_enrolled"), overrides: { enrol: [{ manual: true }] } },
        async (page) => {
          await page.click("#start-enrol");
          await page.fill("#id-number", VALID_ID);
          await page.click("#enrol-submit");
          await page.waitForSelector("#camera-preview", { state: "attached" });
          await page.evaluate(() => window.__mock.next(3));
          await noHScroll(page, "capture");
        },
        { viewport },
      );
      await withApp({ settings, status: status("active", { pin_set: false }) }, async (page) => {
        await screenHeading(page, "pin");
        await noHScroll(page, "pin");
      }, { viewport });
      await withApp({ settings, status: status("renewal_due"), history }, async (page) => {
        await screenHeading(page, "home");
        await noHScroll(page, "home");
        await page.click("#show-id");
        await noHScroll(page, "show");
        await page.click("#tier-lightweight");
        await page.waitForSelector("#qr[src]");
        await noHScroll(page, "qr");
        await page.click("#qr-close");
        await page.click("#show-id");
        await page.click("#tier-upgraded");
        await noHScroll(page, "unlock");
        await page.click("#nav-home");
        await page.click("#renew-start");
        await noHScroll(page, "renew");
        await page.click("#nav-history");
        await page.waitForSelector("#history-list li");
        await noHScroll(page, "history");
        await page.click("#nav-settings");
        await page.click("#remove-id");
        await noHScroll(page, "settings");
      }, { viewport });
    });
  }
});

describe("sign in with Tessera", () => {
  const view = {
    request_id: "0123456789abcdef0123456789abcdef",
    client_name: "Demo ticket shop",
    client_name_zh: "演示票务",
    claims: [{ name: "age_over_18" }, { name: "masked_name" }],
    tier: "lightweight",
    match_choices: [27, 64, 91],
    expires_at: NOW + 120,
    now: NOW,
  };
  const link = "tessera://sign-in?issuer=http%3A%2F%2F127.0.0.1%3A8443&request=0123456789abcdef0123456789abcdef";

  test("a handed-over link opens the consent screen; the number must be picked; history records it", async () => {
    await withApp({ signInLink: link, signInView: view, signInMatchCode: 64 }, async (page) => {
      await page.waitForSelector("#sign-in-asks");
      assert.equal(await page.textContent("#sign-in-asks"), "Demo ticket shop asks you to sign in");
      assert.deepEqual(await page.$$eval("#sign-in-claims li", (li) => li.map((l) => l.textContent)), [
        "Whether you are over 18",
        "Your name with its middle masked (like 李*国)",
      ]);
      assert.equal((await calls(page, "sign_in_open"))[0].args.link, link);
      // Approve waits for a number; the wrong one is refused with its own words.
      assert.equal(await page.isDisabled("#sign-in-approve"), true);
      await page.click("#match-27");
      await page.click("#sign-in-approve");
      await page.waitForSelector('[role=alert][data-error-kind="wrong_match_code"]');
      await page.click("#match-64");
      assert.equal(await page.getAttribute("#match-64", "aria-checked"), "true");
      await page.click("#sign-in-approve");
      await page.waitForSelector("#sign-in-outcome");
      assert.equal(await page.textContent("#sign-in-outcome"), "Signed in to Demo ticket shop. You can go back to the website.");
      const approvals = await calls(page, "sign_in_approve");
      assert.deepEqual(approvals.map((c) => c.args.matchCode), [27, 64]);
      await page.click("#sign-in-done");
      await page.click("#nav-history");
      await page.waitForSelector("#sign-ins-list li");
      assert.match(await page.textContent("#sign-ins-list li"), /Demo ticket shop.*Shared: Whether you are over 18, Your name with its middle masked/);
    });
  });

  test("a pasted link that is not a sign-in link is refused; refusing says nothing was shared (Chinese)", async () => {
    await withApp(
      { signInView: { ...view, match_choices: [] }, settings: { language: "zh-CN", issuer_url: null } },
      async (page) => {
        await page.click("#sign-in-start");
        await page.fill("#sign-in-link", "https://phish.example/sign-in");
        await page.click("#sign-in-open");
        await page.waitForSelector('[role=alert][data-error-kind="sign_in_link"]');
        await page.fill("#sign-in-link", link);
        await page.click("#sign-in-open");
        await page.waitForSelector("#sign-in-asks");
        assert.equal(await page.textContent("#sign-in-asks"), "演示票务 请求您登录");
        assert.equal(await page.isDisabled("#sign-in-approve"), false, "a same-device link needs no number");
        await page.click("#sign-in-refuse");
        await page.waitForSelector("#sign-in-outcome");
        assert.equal(await page.textContent("#sign-in-outcome"), "您已拒绝，演示票务 未获得任何信息。");
        assert.equal((await calls(page, "sign_in_refuse")).length, 1);
      },
    );
  });

  test("the sign-in page's QR code is scanned with the camera", async () => {
    await withApp({ signInView: view, signInScanned: link }, async (page) => {
      await page.click("#sign-in-start");
      await page.click("#sign-in-scan");
      await page.waitForSelector("#sign-in-asks");
      assert.equal((await calls(page, "sign_in_open"))[0].args.link, link);
      assert.match((await calls(page, "sign_in_scan"))[0].args.onEvent, /^__CHANNEL__:\d+$/);
    });
  });

  test("an upgraded sign-in asks for the PIN and a face check before approving", async () => {
    const upgraded = { ...view, client_name: "Demo bank", claims: [{ name: "name" }, { name: "id_number" }], tier: "upgraded", match_choices: [] };
    await withApp({ signInLink: link, signInView: upgraded }, async (page) => {
      await page.waitForSelector("#sign-in-asks");
      assert.equal(await page.textContent("#sign-in-asks"), "Demo bank asks you to sign in");
      await page.click("#sign-in-approve");
      await page.waitForSelector("#sign-in-pin");
      assert.equal((await calls(page, "sign_in_approve")).length, 0, "nothing is approved before the unlock");
      await page.fill("#sign-in-pin", "135790");
      await page.click("#sign-in-unlock");
      await page.waitForSelector("#sign-in-outcome");
      const unlock = await calls(page, "unlock_upgraded");
      assert.equal(unlock[0].args.pin, "135790");
      const approvals = await calls(page, "sign_in_approve");
      assert.equal(approvals.length, 1);
      assert.equal(approvals[0].args.matchCode, null);
      assert.equal(await page.textContent("#sign-in-outcome"), "Signed in to Demo bank. You can go back to the website.");
    });
  });
});
