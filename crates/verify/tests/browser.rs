//! Runs the browser tests (`web-tests/`, playwright-core driving Debian's Chromium) against
//! the real `tessera-verify serve` binary. This test seeds a desk data directory with lists
//! and codes made from the fixture keys (valid, expired, revoked, wrong tier, garbage),
//! QR images and a `.y4m` video of a real QR for Chromium's fake webcam, then runs
//! `node --test` there.
//!
//! Needs `npm ci --prefix crates/verify/web-tests` and `/usr/bin/chromium` (scripts/setup.sh
//! installs both); without them it fails and says what to run.

mod common;

use std::path::Path;

use common::seed::{Codes, seed_cache};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A YUV 4:2:0 video of `frames` identical frames: the QR centred on a white 640×480 page.
fn y4m_of(qr: &image::GrayImage, frames: usize) -> Vec<u8> {
    let (w, h) = (640u32, 480u32);
    let mut y = vec![255u8; (w * h) as usize];
    let (ox, oy) = ((w - qr.width()) / 2, (h - qr.height()) / 2);
    for (x, yy, p) in qr.enumerate_pixels() {
        y[((oy + yy) * w + ox + x) as usize] = p.0[0];
    }
    let chroma = vec![128u8; (w * h / 4) as usize];
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&y);
        out.extend_from_slice(&chroma);
        out.extend_from_slice(&chroma);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_page_in_headless_chromium() {
    let web_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("web-tests");
    assert!(
        web_tests.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "the desk's browser tests need `npm ci --prefix crates/verify/web-tests` and Debian's chromium: run scripts/setup.sh"
    );
    let dir = common::tmp_dir("browser");
    let data = dir.join("data");
    let now = now();
    seed_cache(&data, now);
    let store = tessera_verify::desk::store::DeskStore::open(&data)
        .await
        .unwrap();
    let phc = tessera_verify::desk::auth::hash_password("front desk password").unwrap();
    store.set_staff("alice", &phc, now).await.unwrap();
    store.close().await;
    // Generous skew: the codes are made once, before a browser run of up to a few minutes.
    std::fs::write(
        dir.join("policy.toml"),
        "required_tier = \"upgraded\"\nclock_skew_seconds = 600\n",
    )
    .unwrap();

    let mut codes = Codes::new(now);
    let upload = codes.valid_upgraded();
    let webcam = codes.valid_upgraded();
    let qr = tessera_qr::encode(&upload).unwrap();
    std::fs::write(dir.join("upload.png"), qr.to_png(6)).unwrap();
    let cam_qr = tessera_qr::encode(&webcam).unwrap();
    std::fs::write(dir.join("webcam.y4m"), y4m_of(&cam_qr.to_luma(4), 20)).unwrap();
    std::fs::write(dir.join("not-an-image.png"), b"just some text, not a PNG").unwrap();
    let fixtures = serde_json::json!({
        "dataDir": data,
        "policy": dir.join("policy.toml"),
        "staff": {"name": "alice", "password": "front desk password"},
        "codes": {
            "valid": codes.valid_upgraded(),
            "checkin": codes.valid_upgraded(),
            "expired": codes.expired(),
            "revoked": codes.revoked(),
            "wrongTier": codes.lightweight(),
            "garbage": "HC1:NOT-A-TESSERA-CODE",
        },
        "uploadPng": dir.join("upload.png"),
        "notAnImage": dir.join("not-an-image.png"),
        "webcamY4m": dir.join("webcam.y4m"),
    });
    std::fs::write(dir.join("fixtures.json"), fixtures.to_string()).unwrap();

    let status = tokio::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/"])
        .current_dir(&web_tests)
        .env("DESK_BIN", env!("CARGO_BIN_EXE_tessera-verify"))
        .env("DESK_FIXTURES", dir.join("fixtures.json"))
        .status()
        .await
        .expect("node runs");
    assert!(status.success(), "browser tests failed: {status}");
    let _ = std::fs::remove_dir_all(&dir);
}
