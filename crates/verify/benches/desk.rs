//! Desk benchmarks (not in the default run): verifications per second through the HTTP API
//! on loopback, from the library, and from the CLI (a process per code); and the time from a
//! webcam frame arriving at the desk server to its verdict.
//!
//! `cargo bench -p tessera-verify --bench desk`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::seed::{Codes, seed_cache};
use common::{DeskServer, tmp_dir};
use tessera_credential::{Es256Signer, StatusLists, TrustList, VerifyOptions};
use tessera_verify::desk::VenuePolicy;

const API_CODES: usize = 20_000;
const CLIENTS: usize = 16;
const FRAMES: usize = 200;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A 1280×720 grey frame with the QR of `text` at 4 px per module, as a desk webcam sends.
fn frame(text: &str) -> Vec<u8> {
    let qr = tessera_qr::encode(text).unwrap().to_luma(4);
    let mut img = image::GrayImage::from_pixel(1280, 720, image::Luma([235]));
    image::imageops::overlay(
        &mut img,
        &qr,
        (1280 - qr.width() as i64) / 2,
        (720 - qr.height() as i64) / 2,
    );
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}

/// The release `tessera-verify serve` on `dir` (seeded lists), and its base URL.
fn spawn_desk(dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-verify"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, base)
}

/// User + system CPU seconds of process `pid`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

/// Sends every text once from CLIENTS concurrent terminals; returns how many were valid.
async fn hammer(base: &str, texts: Vec<String>) -> usize {
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/api/session"))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let csrf = r.json::<serde_json::Value>().await.unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tasks = Vec::new();
    for chunk in texts.chunks(texts.len().div_ceil(CLIENTS)) {
        let (http, chunk) = (reqwest::Client::new(), chunk.to_vec());
        let (cookie, csrf, url) = (cookie.clone(), csrf.clone(), format!("{base}/api/verify"));
        tasks.push(tokio::spawn(async move {
            let mut valid = 0;
            for text in chunk {
                let v: serde_json::Value = http
                    .post(&url)
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .json(&serde_json::json!({ "text": text }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                valid += usize::from(v["code"] == "valid");
            }
            valid
        }));
    }
    let mut valid = 0;
    for t in tasks {
        valid += t.await.unwrap();
    }
    valid
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let t0 = now();
    let dir = tmp_dir("bench");
    seed_cache(&dir, t0);
    let desk = DeskServer::start(&dir, None, VenuePolicy::default(), t0).await;
    let mut codes = Codes::new(t0);

    // 1. HTTP API on loopback, CLIENTS concurrent terminals, every code distinct and valid.
    let texts: Vec<String> = (0..API_CODES).map(|_| codes.lightweight()).collect();
    let mut terminals = Vec::new();
    for _ in 0..CLIENTS {
        terminals.push(std::sync::Arc::new(desk.terminal().await));
    }
    let chunks: Vec<Vec<String>> = texts
        .chunks(API_CODES / CLIENTS)
        .map(<[String]>::to_vec)
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (t, chunk) in terminals.iter().zip(chunks) {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut valid = 0usize;
            for text in chunk {
                if t.verify(&text).await["code"] == "valid" {
                    valid += 1;
                }
            }
            valid
        }));
    }
    let mut valid = 0;
    for task in tasks {
        valid += task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(valid, API_CODES, "every code verifies once");
    println!(
        "http api: {API_CODES} verifications by {CLIENTS} concurrent clients in {secs:.2} s = {:.0}/s (client and server share the 2 cores)",
        API_CODES as f64 / secs
    );

    // 1b. The same against the real binary in its own process, with its CPU time read from
    // /proc: what the server alone spends per verification, so the capacity of a machine
    // whose cores serve only the desk (the clients are elsewhere at a real desk).
    #[cfg(target_os = "linux")]
    {
        let (mut child, base) = spawn_desk(&dir);
        let texts: Vec<String> = (0..API_CODES).map(|_| codes.lightweight()).collect();
        let cpu_before = cpu_seconds(child.id());
        let started = Instant::now();
        let valid = hammer(&base, texts).await;
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(child.id()) - cpu_before;
        assert_eq!(valid, API_CODES);
        println!(
            "http api, server in its own process: {:.0}/s wall (clients on the same cores); server CPU {:.3} ms per verification = {:.0}/s per core, {:.0}/s on 2 cores",
            API_CODES as f64 / secs,
            cpu * 1e3 / API_CODES as f64,
            API_CODES as f64 / cpu,
            2.0 * API_CODES as f64 / cpu
        );
        let _ = child.kill();
        let _ = child.wait();
    }

    // 2. The library, one core, no replay store (the floor under the API).
    let issuer = tessera_vectors::key("issuer-2026");
    let mut entry = tessera_credential::TrustedIssuer::new("bench", issuer.public_key());
    entry.status_base = Some(tessera_vectors::STATUS_BASE.to_owned());
    let trust = TrustList {
        issued_at: t0,
        sequence: 1,
        issuers: vec![entry],
    };
    let lib_texts: Vec<String> = (0..5_000).map(|_| codes.lightweight()).collect();
    let started = Instant::now();
    for text in &lib_texts {
        let r = tessera_verify::check_text(
            text,
            &trust,
            &VerifyOptions::at(t0),
            &StatusLists::default(),
        );
        assert!(matches!(r, tessera_verify::Report::Valid { .. }));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "library: {:.0} verifications/s on one core ({:.3} ms each)",
        5_000.0 / secs,
        secs * 1e3 / 5_000.0
    );

    // 3. The CLI: one process per code (what a shell script at a gate would do).
    let pem = dir.join("issuer.pem");
    std::fs::write(
        &pem,
        tessera_credential::keys::spki_pem(&issuer.public_key()),
    )
    .unwrap();
    let started = Instant::now();
    for text in lib_texts.iter().take(100) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-verify"))
            .arg("check")
            .arg("--trust")
            .arg(&pem)
            .arg(text)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "cli: {:.0} verifications/s, one process each ({:.1} ms each)",
        100.0 / secs,
        secs * 1e3 / 100.0
    );

    // 4. Webcam frame → verdict through the API (1280×720 JPEG, one frame in flight).
    let frames: Vec<Vec<u8>> = (0..FRAMES)
        .map(|_| frame(&codes.valid_upgraded()))
        .collect();
    let kib = frames.iter().map(Vec::len).sum::<usize>() / FRAMES / 1024;
    let t = desk.terminal().await;
    let (mut round, mut decode, mut verify) = (Vec::new(), Vec::new(), Vec::new());
    for f in frames {
        let started = Instant::now();
        let r = t.post("/api/verify-image").body(f).send().await.unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        round.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(v["code"], "valid", "{v}");
        decode.push(v["decode_ms"].as_f64().unwrap());
        verify.push(v["verify_ms"].as_f64().unwrap());
    }
    for xs in [&mut round, &mut decode, &mut verify] {
        xs.sort_by(f64::total_cmp);
    }
    println!(
        "frame → verdict ({kib} KiB JPEG, 1280×720): round trip median {:.2} ms (p95 {:.2}); server decode median {:.2} ms, verify median {:.2} ms",
        percentile(&round, 0.5),
        percentile(&round, 0.95),
        percentile(&decode, 0.5),
        percentile(&verify, 0.5)
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
