//! The app's startup and show-ID figures, as a table (not a pass/fail test):
//!
//! - launch → the first window mapped on the X server (`xwininfo`), and → the UI's first
//!   screen rendered (WebDriver), each over several cold starts;
//! - resident memory of the app and its WebKit processes a few seconds after start;
//! - tapping "lightweight" → the QR image drawn (measured inside the page), repeated.
//!
//! Run: `scripts/with-keyring.sh cargo bench -p tessera-app --bench app` (release build).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const APP: &str = env!("CARGO_BIN_EXE_tessera-app");
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Resident memory (KiB) of `pid` and all its descendants.
fn tree_rss_kib(pid: u32) -> u64 {
    let mut total = 0;
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            stack.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    total
}

fn window_mapped(display: &str) -> bool {
    Command::new("xwininfo")
        .args(["-root", "-tree"])
        .env("DISPLAY", display)
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("\"Tessera\""))
}

/// Launch → window mapped, and the process tree's RSS 5 s later.
fn cold_start(display: &str) -> (f64, u64) {
    let data = std::env::temp_dir().join(format!("tessera-bench-{}", common::free_port()));
    let started = Instant::now();
    let child = Command::new(APP)
        .env("DISPLAY", display)
        .env("TESSERA_DATA_DIR", &data)
        .env("TESSERA_FRAMES", "demo")
        .env(
            "TESSERA_DEMO_ISSUER_LISTEN",
            format!("127.0.0.1:{}", common::free_port()),
        )
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the app starts");
    let app = common::Running(child);
    while !window_mapped(display) {
        assert!(started.elapsed() < Duration::from_secs(30), "no window");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first_window = started.elapsed().as_secs_f64() * 1e3;
    std::thread::sleep(Duration::from_secs(5));
    let rss = tree_rss_kib(app.0.id());
    drop(app);
    let _ = std::fs::remove_dir_all(&data);
    (first_window, rss)
}

fn main() {
    let (display, _xvfb) = common::display();
    let mut windows = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..RUNS {
        let (w, r) = cold_start(&display);
        windows.push(w);
        rss.push(r as f64 / 1024.0);
    }

    // Through WebDriver: the first screen rendered, then enrol and time the QR.
    let started = Instant::now();
    let app = common::launch(APP, &[]);
    app.session
        .wait_for("[data-screen=\"welcome\"]", common::QUICK);
    let first_screen = started.elapsed().as_secs_f64() * 1e3;
    common::enrol(&app.session, "246810", &mut |_| {});
    app.session.click("#show-id");
    app.session.wait_for("#tier-lightweight", common::QUICK);
    let mut show = Vec::new();
    for _ in 0..10 {
        let ms = app.session.script_async(
            "const done = arguments[arguments.length - 1];
             const old = document.querySelector('img#qr');
             const oldSrc = old ? old.src : null;
             const t0 = performance.now();
             document.querySelector('#tier-lightweight').click();
             (function poll() {
               const q = document.querySelector('img#qr');
               if (q && q.src !== oldSrc && q.complete && q.naturalWidth > 0) {
                 requestAnimationFrame(() => done(performance.now() - t0));
               } else {
                 requestAnimationFrame(poll);
               }
             })();",
        );
        show.push(ms.as_f64().unwrap_or_else(|| panic!("timing: {ms}")));
        app.session.click("#qr-close");
        app.session.click("#show-id");
        app.session.wait_for("#tier-lightweight", common::QUICK);
    }
    app.end();

    println!("| measure (release, Xvfb, {RUNS} cold starts) | median | min | max |");
    println!("|---|---|---|---|");
    let row = |name: &str, v: &[f64], unit: &str| {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        println!(
            "| {name} | {:.0} {unit} | {min:.0} {unit} | {max:.0} {unit} |",
            median(v.to_vec())
        );
    };
    row("launch → window mapped", &windows, "ms");
    row(
        "RSS of app + WebKit processes, 5 s after start",
        &rss,
        "MiB",
    );
    row("tap lightweight → QR drawn (10×)", &show, "ms");
    println!("| launch → first screen rendered (via WebDriver, 1×) | {first_screen:.0} ms | | |");
}
