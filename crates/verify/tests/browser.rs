//! Runs the browser tests (`web-tests/`, playwright-core driving Debian's Chromium) against
//! the real `tessera-verify serve` binary. This test seeds a desk data directory with lists
//! and codes made from the fixture keys (valid, expired, revoked, wrong tier, garbage),
//! QR images and a `.y4m` video of a real QR for Chromium's fake webcam, then runs
//! `node --test` there. For the registry photo and the face check it also starts a real
//! issuer (in process, Obama's photo in its registry), enrols Obama, registers a second desk
//! data directory with it, and makes a `.y4m` of Obama's committed front-facing liveness
//! frames (crates/face/testdata/liveness/obama/front) for the webcam. A third data directory
//! with `accepted_tiers = ["age_only"]` gets age-only codes (over and under 18) and basic
//! ones for `web-tests/tests/age.test.js`.
//!
//! Needs `npm ci --prefix crates/verify/web-tests` and `/usr/bin/chromium` (scripts/setup.sh
//! installs both); without them it fails and says what to run.

mod common;

use std::path::Path;

use common::seed::{Codes, seed_cache};
use common::{DeskServer, RealIssuer, START, show};
use tessera_credential::claims::Tier;
use tessera_verify::desk::VenuePolicy;

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

/// A YUV 4:2:0 video (BT.601 full range, as `C420jpeg` says) of `images` in turn, looped
/// `loops` times at 10 frames a second; all images must be the same size, even sides.
fn y4m_of_images(images: &[image::RgbImage], loops: usize) -> Vec<u8> {
    let (w, h) = images[0].dimensions();
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let planes: Vec<Vec<u8>> = images
        .iter()
        .map(|img| {
            assert_eq!(img.dimensions(), (w, h));
            let mut y = Vec::with_capacity((w * h) as usize);
            for p in img.pixels() {
                let [r, g, b] = p.0.map(f32::from);
                y.push(clamp(0.299 * r + 0.587 * g + 0.114 * b));
            }
            let (mut u, mut v) = (Vec::new(), Vec::new());
            for cy in (0..h).step_by(2) {
                for cx in (0..w).step_by(2) {
                    let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let p = img.get_pixel(cx + dx, cy + dy).0.map(f32::from);
                        r += p[0] / 4.0;
                        g += p[1] / 4.0;
                        b += p[2] / 4.0;
                    }
                    u.push(clamp(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b));
                    v.push(clamp(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b));
                }
            }
            [y, u, v].concat()
        })
        .collect();
    for _ in 0..loops {
        for frame in &planes {
            out.extend_from_slice(b"FRAME\n");
            out.extend_from_slice(frame);
        }
    }
    out
}

/// The committed front-facing liveness frames of `person`, in time order.
fn front_frames(person: &str) -> Vec<image::RgbImage> {
    liveness_frames(person, "front")
}

/// The committed liveness frames of `person` in `folder` (`static` holds byte-identical
/// copies of one frame: a still picture), in order.
fn liveness_frames(person: &str, folder: &str) -> Vec<image::RgbImage> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../face/testdata/liveness")
        .join(person)
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no frames in {}", dir.display());
    files
        .iter()
        .map(|f| image::open(f).unwrap().to_rgb8())
        .collect()
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

    // A desk registered with a real issuer, for the registry photo and the face check. The
    // issuer's clock is set to now (it checks each code's freshness when the desk asks).
    let issuer = RealIssuer::start().await;
    issuer.advance(now.saturating_sub(START));
    let (batch, device) = issuer.enrol().await;
    let face_data = dir.join("face-data");
    std::fs::create_dir_all(&face_data).unwrap();
    let key = issuer
        .issuer
        .add_verifier("Browser test desk")
        .await
        .unwrap()
        .unwrap();
    std::fs::write(face_data.join("issuer-api-key"), &key).unwrap();
    {
        let desk =
            DeskServer::start(&face_data, Some(&issuer.base), VenuePolicy::default(), now).await;
        desk.desk.cache.refresh(now).await.unwrap();
        desk.desk.store.set_staff("alice", &phc, now).await.unwrap();
    }
    // This venue checks in a guest only after the face check said Same person.
    std::fs::write(
        dir.join("face-policy.toml"),
        "required_tier = \"upgraded\"\nclock_skew_seconds = 600\nrequire_face_match = true\n",
    )
    .unwrap();
    let face_codes: Vec<String> = (0..8)
        .map(|_| show(&batch, &device, Tier::Upgraded, now))
        .collect();
    std::fs::write(
        dir.join("face.y4m"),
        y4m_of_images(&front_frames("obama"), 3),
    )
    .unwrap();
    // Another person at the desk camera; and a still picture held to it.
    std::fs::write(
        dir.join("face-other.y4m"),
        y4m_of_images(&front_frames("biden"), 3),
    )
    .unwrap();
    std::fs::write(
        dir.join("face-still.y4m"),
        y4m_of_images(&liveness_frames("obama", "static"), 2),
    )
    .unwrap();
    // A bar that takes only the age-only code (no names at all).
    let age_data = dir.join("age-data");
    seed_cache(&age_data, now);
    std::fs::write(
        dir.join("age-policy.toml"),
        "accepted_tiers = [\"age_only\"]\nclock_skew_seconds = 600\n",
    )
    .unwrap();
    // And a venue that needs a name: the age-only code is below its tier.
    let name_data = dir.join("name-data");
    seed_cache(&name_data, now);
    std::fs::write(
        dir.join("name-policy.toml"),
        "required_tier = \"lightweight\"\nclock_skew_seconds = 600\n",
    )
    .unwrap();
    let age_only = serde_json::json!({
        "dataDir": age_data,
        "policy": dir.join("age-policy.toml"),
        "needsName": {
            "dataDir": name_data,
            "policy": dir.join("name-policy.toml"),
            "codes": (0..2).map(|_| codes.age_only(true)).collect::<Vec<_>>(),
        },
        "codes": {
            "over": (0..2).map(|_| codes.age_only(true)).collect::<Vec<_>>(),
            "under": (0..2).map(|_| codes.age_only(false)).collect::<Vec<_>>(),
            "basic": (0..2).map(|_| codes.lightweight()).collect::<Vec<_>>(),
        },
    });
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
            // Full details on keys in the TPM with the PIN (issue 15), one per language.
            "hardwarePin": (0..2)
                .map(|_| codes.upgraded_with(tessera_credential::KeyProtection::HardwareWithPin))
                .collect::<Vec<_>>(),
            "garbage": "HC1:NOT-A-TESSERA-CODE",
            // Single-use valid codes for the usability tests (each is replayed once used).
            "fresh": (0..16).map(|_| codes.valid_upgraded()).collect::<Vec<_>>(),
        },
        "uploadPng": dir.join("upload.png"),
        "notAnImage": dir.join("not-an-image.png"),
        "webcamY4m": dir.join("webcam.y4m"),
        "ageOnly": age_only,
        "face": {
            "dataDir": face_data,
            "policy": dir.join("face-policy.toml"),
            "issuer": issuer.base,
            "codes": face_codes,
            "webcamY4m": dir.join("face.y4m"),
            "otherY4m": dir.join("face-other.y4m"),
            "stillY4m": dir.join("face-still.y4m"),
            "expected": "same_person",
        },
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
