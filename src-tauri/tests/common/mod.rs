//! What the app's end-to-end test and benchmark share: a display, the app started by
//! WebKitWebDriver with a private data directory, keystore service and demo issuer, and the
//! enrolment walk through the UI.

// Each user (the test, the benchmark) uses a part.
#![allow(dead_code)]

pub mod webdriver;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use webdriver::Session;

/// The demo registry's person (see `src-tauri/src/demo.rs`).
pub const DEMO_ID: &str = "110101199003071524";
/// Face work in a debug build takes a while.
pub const SLOW: Duration = Duration::from_secs(240);
pub const QUICK: Duration = Duration::from_secs(30);

/// Kills the process when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The X display to use: `DISPLAY` if set, else a private Xvfb started here.
pub fn display() -> (String, Option<Running>) {
    if let Ok(d) = std::env::var("DISPLAY")
        && !d.is_empty()
    {
        return (d, None);
    }
    let n = 90 + std::process::id() % 400;
    let child = Command::new("Xvfb")
        .args([
            &format!(":{n}"),
            "-screen",
            "0",
            "1280x900x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (package xvfb; scripts/setup.sh installs it)");
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    let started = Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < QUICK, "Xvfb :{n} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (format!(":{n}"), Some(Running(child)))
}

/// The app under WebDriver, with what the test needs to reach around it.
pub struct App {
    pub session: Session,
    /// The X display it is on.
    #[allow(dead_code)] // used by the sign-in test
    pub display: String,
    /// The embedded demo issuer's URL.
    pub issuer: String,
    pub data: PathBuf,
    _driver: Running,
    _xvfb: Option<Running>,
}

impl App {
    /// Closes the app and removes its data directory.
    pub fn end(self) {
        let App { session, data, .. } = self;
        session.end();
        let _ = std::fs::remove_dir_all(&data);
    }
}

/// Starts `binary` through WebKitWebDriver on a display, with the demo issuer and the demo
/// recording, English UI, and `extra` environment.
pub fn launch(binary: &str, extra: &[(&str, &str)]) -> App {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run under scripts/with-keyring.sh (the app keeps its keys in the Secret Service)"
    );
    let (display, xvfb) = display();
    let tag = format!("{}-{}", std::process::id(), free_port());
    let data = std::env::temp_dir().join(format!("tessera-app-e2e-{tag}"));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let issuer_port = free_port();
    let driver_port = free_port();
    let mut driver = Command::new("WebKitWebDriver");
    driver
        .arg(format!("--port={driver_port}"))
        // Read by the app, which the driver starts with its own environment.
        .env("DISPLAY", &display)
        .env("TAURI_WEBVIEW_AUTOMATION", "true")
        .env("TESSERA_DATA_DIR", &data)
        .env("TESSERA_KEYSTORE_SERVICE", format!("tessera-app-e2e-{tag}"))
        .env("TESSERA_FRAMES", "demo")
        .env(
            "TESSERA_DEMO_ISSUER_LISTEN",
            format!("127.0.0.1:{issuer_port}"),
        )
        .env_remove("TESSERA_ISSUER_URL")
        // No system language: the UI follows the webview's (English).
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        driver.env(k, v);
    }
    let driver = Running(
        driver
            .spawn()
            .expect("WebKitWebDriver (package webkit2gtk-driver; scripts/setup.sh installs it)"),
    );
    let session = Session::start(
        &format!("http://127.0.0.1:{driver_port}"),
        json!({"webkitgtk:browserOptions": {"binary": binary, "args": []}}),
        QUICK,
    );
    App {
        session,
        display,
        issuer: format!("http://127.0.0.1:{issuer_port}"),
        data,
        _driver: driver,
        _xvfb: xvfb,
    }
}

/// From the welcome screen: enrol the demo person with the demo recording, set `pin`, and
/// wait for the home screen. `during_capture` runs once the camera preview shows.
pub fn enrol(session: &Session, pin: &str, during_capture: &mut dyn FnMut(&Session)) {
    session.click("#start-enrol");
    session.type_into("#id-number", DEMO_ID);
    session.click("#enrol-submit");
    session.wait_for("#camera-preview", SLOW);
    during_capture(session);
    session.wait_for("#enrol-continue", SLOW);
    session.click("#enrol-continue");
    session.wait_for("[data-screen=\"pin\"]", QUICK);
    session.type_into("#pin-new", pin);
    session.type_into("#pin-confirm", pin);
    session.click("#pin-save");
    session.wait_for("[data-screen=\"home\"]", QUICK);
}

/// Screenshots, kept in a folder when `TESSERA_E2E_SCREENSHOTS` names one.
pub struct Shots(pub Option<PathBuf>);

impl Shots {
    /// From `TESSERA_E2E_SCREENSHOTS`.
    pub fn from_env() -> Shots {
        Shots(std::env::var_os("TESSERA_E2E_SCREENSHOTS").map(PathBuf::from))
    }

    /// A screenshot of `session`, kept as `name.png`.
    pub fn keep(&self, session: &Session, name: &str) -> Vec<u8> {
        let png = session.screenshot();
        if let Some(dir) = &self.0 {
            std::fs::create_dir_all(dir).expect("screenshot dir");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("screenshot");
        }
        png
    }
}
