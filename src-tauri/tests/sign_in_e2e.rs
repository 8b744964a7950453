//! Sign in with Tessera through the real app and a real browser: the app (demo build) under
//! Xvfb via WebKitWebDriver, with its demo issuer and its demo ticket shop (whose sign-in is
//! the third-party `openidconnect` library); Debian's Chromium via chromedriver opens the
//! shop and presses "Sign in with Tessera".
//!
//! 1. On this device: the page's "Open Tessera" link is handed to the app as a desktop
//!    does (launching `tessera-app LINK`, which the running app receives through its
//!    single-instance plugin); the app shows the consent screen; approving lands the
//!    Chromium page signed in with the pseudonymous `sub` and the registered claims.
//! 2. From another device, in Chinese: the page's QR link is pasted into the app, the person
//!    picks the number the page shows, and the shop signs the same person in again under the
//!    same `sub`.
//!
//! Screenshots of the consent screen in both languages go to `TESSERA_E2E_SCREENSHOTS`.

mod common;

use std::process::{Command, Stdio};

use serde_json::json;

use common::webdriver::Session;
use common::{QUICK, Running, SLOW, Shots, free_port};

const APP: &str = env!("CARGO_BIN_EXE_tessera-app");
const PIN: &str = "246810";

/// Chromium, headless, through chromedriver (package chromium-driver).
fn chromium() -> (Session, Running) {
    let port = free_port();
    let driver = Running(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (package chromium-driver; scripts/setup.sh installs it)"),
    );
    let session = Session::start(
        &format!("http://127.0.0.1:{port}"),
        json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--lang=en-US"]
            }
        }),
        QUICK,
    );
    (session, driver)
}

fn attribute(session: &Session, css: &str, name: &str) -> String {
    session.wait_for(css, QUICK);
    session
        .script(
            "return document.querySelector(arguments[0]).getAttribute(arguments[1])",
            json!([css, name]),
        )
        .as_str()
        .unwrap_or_else(|| panic!("no {name} on {css}"))
        .to_owned()
}

#[test]
fn sign_in_to_the_demo_shop_in_chromium_with_the_real_app() {
    let shots = Shots::from_env();
    let shop_port = free_port();
    let shop = format!("http://127.0.0.1:{shop_port}/");
    let rp_listen = format!("127.0.0.1:{shop_port}");
    let app = common::launch(APP, &[("TESSERA_DEMO_RP_LISTEN", rp_listen.as_str())]);
    let session = &app.session;
    session.wait_for("[data-screen=\"welcome\"]", SLOW);
    common::enrol(session, PIN, &mut |_| {});

    // The shop, in Chromium: "Sign in with Tessera" goes to the issuer's sign-in page.
    let (browser, _chromedriver) = chromium();
    browser.goto(&shop);
    browser.click("#sign-in");
    browser.wait_for("#open-app", SLOW);
    assert_eq!(browser.text("#client"), "Demo ticket shop");
    let same_device = attribute(&browser, "#open-app", "href");
    assert!(
        same_device.starts_with("tessera://sign-in?"),
        "{same_device}"
    );

    // 1. The desktop launches the app with the link; the running app receives it.
    let second = Command::new(APP)
        .arg(&same_device)
        .env("DISPLAY", &app.display)
        .env("TESSERA_DATA_DIR", &app.data)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("a second launch");
    assert!(
        second.success(),
        "the second launch hands over and exits: {second}"
    );
    session.wait_for("#sign-in-asks", SLOW);
    assert_eq!(
        session.text("#sign-in-asks"),
        "Demo ticket shop asks you to sign in"
    );
    let claims = session.text("#sign-in-claims");
    assert!(claims.contains("Whether you are over 18"), "{claims}");
    assert!(
        session.try_find("#match-27, .match-choice").is_none(),
        "a same-device link carries the number"
    );
    shots.keep(session, "en-sign-in-consent");
    session.click("#sign-in-approve");
    session.wait_for("#sign-in-outcome", SLOW);
    shots.keep(session, "en-sign-in-approved");
    // The Chromium page follows the request and lands at the shop, signed in.
    browser.wait_for("#signed-in", SLOW);
    let sub = browser.text("#sub");
    assert_eq!(sub.len(), 43, "a pairwise sub: {sub:?}");
    assert_eq!(browser.text("#age_over_18"), "true");
    assert_eq!(browser.text("#masked_name"), "王*红");
    assert!(
        browser.try_find("#id_number, #name").is_none(),
        "nothing beyond the registration"
    );

    // 2. Chinese, from another device: the QR link pasted, the number picked.
    session.click("#nav-settings");
    session.script(
        "const s = document.querySelector('#lang-select'); s.value = 'zh-CN'; s.dispatchEvent(new Event('change')); return true",
        json!([]),
    );
    session.click("#nav-home");
    browser.click("#logout");
    browser.click("#sign-in");
    browser.wait_for("#qr", SLOW);
    let qr_link = attribute(&browser, "#qr", "data-link");
    assert!(!qr_link.contains("code="), "the QR code carries no number");
    let number = browser.text("#match-code");
    session.click("#sign-in-start");
    session.type_into("#sign-in-link", &qr_link);
    session.click("#sign-in-open");
    session.wait_for("#sign-in-asks", SLOW);
    assert_eq!(session.text("#sign-in-asks"), "演示票务 请求您登录");
    session.click(&format!("#match-{number}"));
    shots.keep(session, "zh-CN-sign-in-consent");
    session.click("#sign-in-approve");
    session.wait_for("#sign-in-outcome", SLOW);
    browser.wait_for("#signed-in", SLOW);
    assert_eq!(
        browser.text("#sub"),
        sub,
        "the same person, the same sub at this shop"
    );

    // The history lists both sign-ins.
    session.click("#nav-history");
    session.wait_for("#sign-ins-list li", QUICK);
    let n = session.script(
        "return document.querySelectorAll('#sign-ins-list li').length",
        json!([]),
    );
    assert_eq!(n, json!(2));
    shots.keep(session, "zh-CN-sign-in-history");
    browser.end();
    app.end();
}
