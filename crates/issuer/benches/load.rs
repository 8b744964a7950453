//! Load benchmark of the release `tessera-issuer` binary on loopback (not part of the test
//! run): enrolments with real face matching, then status-list and trust-list requests, on
//! SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set) PostgreSQL. Prints a table.
//!
//! `cargo bench -p tessera-issuer --bench load` (set TESSERA_TEST_POSTGRES_URL, e.g. from
//! `scripts/postgres.sh`, for the PostgreSQL column; TESSERA_BENCH_LOG=FILE keeps the
//! server's log, with the time of each face check).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use tessera_issuer_api::ChallengeResponse;

/// Obama's recorded frames for the challenge's actions.
fn frames_for(c: &ChallengeResponse) -> Vec<Vec<u8>> {
    frames("obama", &c.actions)
}

const ENROL_PEOPLE: u32 = 24;
const ENROL_SEQUENTIAL: u32 = 32;
/// ID numbers from here on are valid but not in the registry.
const UNREGISTERED: u32 = 300;

fn serve(data: &std::path::Path, database_url: Option<&str>) -> (Child, String) {
    // The server's log (its decisions and how long each face check took) goes to the file
    // named by TESSERA_BENCH_LOG, if set.
    let (level, log) = match std::env::var_os("TESSERA_BENCH_LOG") {
        Some(path) => (
            "info",
            Stdio::from(std::fs::File::create(path).expect("TESSERA_BENCH_LOG is writable")),
        ),
        None => ("warn", Stdio::null()),
    };
    // One load generator on one address: lift the per-IP limit.
    spawn_issuer(
        data,
        database_url,
        &["--attempts-per-ip", "1000000"],
        level,
        log,
    )
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Row {
    what: String,
    per_sec: f64,
    p50: f64,
    p99: f64,
    n: usize,
}

/// What an enrolment carries.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    /// What the wallet sends: the evidence of its own check (`AnswerReport::evidence`),
    /// about half of the 19 recorded frames.
    Evidence,
    /// The whole recording, 19 frames (what the wallet sent before it picked evidence).
    Whole,
    /// The wallet's evidence for an ID number not in the registry: refused before any face
    /// work, so this is the cost of everything else (HTTP, JSON, checks, the refusal's
    /// audit transaction).
    Unregistered,
}

/// The wallet's choice of frames for `req`'s challenge, made as the wallet makes it.
fn evidence_only(req: &mut tessera_issuer_api::EnrolRequest, c: &ChallengeResponse) {
    let actions = tessera_issuer::face_check::parse_actions(&c.actions.join(",")).unwrap();
    let challenge = tessera_face::liveness::Challenge {
        nonce: c.nonce.as_slice().try_into().unwrap(),
        actions,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
    };
    let report = faces()
        .check_answer(&challenge, &req.frames, c.issued_at)
        .unwrap();
    assert!(report.verdict.passed, "{:?}", report.verdict);
    req.frames = report
        .evidence
        .iter()
        .map(|&i| req.frames[i].clone())
        .collect();
}

async fn enrolments(base: &str, first: u32, count: u32, concurrency: u32, answer: Answer) -> Row {
    let http = http_client();
    // Requests are prepared first (challenge, key, PoP, frames): the timing is the
    // enrolment call alone, as the server sees it.
    let mut prepared = Vec::new();
    let mut frames = 0;
    for n in first..first + count {
        let device = new_device();
        let c = challenge_at(&http, base, Some(&device)).await.unwrap();
        let id = match answer {
            Answer::Unregistered => extra_id(UNREGISTERED + n),
            _ => extra_id(n),
        };
        let mut req = answer_challenge(&c, &id, frames_for(&c), &device);
        if answer != Answer::Whole {
            evidence_only(&mut req, &c);
        }
        frames += req.frames.len();
        prepared.push(req);
    }
    let queue = Arc::new(std::sync::Mutex::new(prepared));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (queue, http, base) = (queue.clone(), http.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let Some(req) = queue.lock().unwrap().pop() else {
                    break;
                };
                let body = serde_json::to_vec(&req).unwrap();
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/v1/enrolments"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let expected = if answer == Answer::Unregistered {
                    404
                } else {
                    201
                };
                assert_eq!(r.status(), expected, "{}", r.text().await.unwrap());
                r.bytes().await.unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times
        }));
    }
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let what = match answer {
        Answer::Evidence => "wallet's evidence",
        Answer::Whole => "whole recording",
        Answer::Unregistered => "refused, unknown ID number",
    };
    Row {
        what: format!(
            "enrolment ({what}, {:.1} frames), {concurrency} concurrent",
            frames as f64 / count as f64
        ),
        per_sec: times.len() as f64 / wall,
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        n: times.len(),
    }
}

async fn gets(base: &str, path: &str, concurrency: usize, seconds: u64) -> Row {
    install_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..concurrency {
        let (http, url, stop) = (http.clone(), format!("{base}{path}"), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(10_000);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = http.get(&url).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    Row {
        what: format!("GET {path}, {concurrency} concurrent"),
        per_sec: times.len() as f64 / wall,
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        n: times.len(),
    }
}

async fn run(backend: Backend) -> (Vec<Row>, f64) {
    let dir = std::env::temp_dir().join(format!(
        "tessera-issuer-load-{backend:?}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(postgres_database().await),
    };
    let records = tessera_issuer::registry::read_csv(
        &write_registry(&dir, 2 * (ENROL_SEQUENTIAL + ENROL_PEOPLE * 2)),
        &faces(),
    )
    .unwrap();
    let url = database_url
        .clone()
        .unwrap_or_else(|| tessera_issuer::default_database_url(&data));
    let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
    store.import_registry(&records, 1).await.unwrap();
    store.close().await;

    let (mut server, base) = serve(&data, database_url.as_deref());
    let mut rows = Vec::new();
    let mut next = 0;
    rows.push(enrolments(&base, 0, ENROL_SEQUENTIAL, 1, Answer::Unregistered).await);
    for answer in [Answer::Evidence, Answer::Whole] {
        for (count, concurrency) in [(ENROL_SEQUENTIAL, 1), (ENROL_PEOPLE, 2), (ENROL_PEOPLE, 4)] {
            rows.push(enrolments(&base, next, count, concurrency, answer).await);
            next += count;
        }
    }
    rows.push(gets(&base, "/v1/status/1", 64, 10).await);
    rows.push(gets(&base, "/v1/trust-list", 64, 10).await);
    let rss = peak_rss_mb(server.id());
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (rows, rss)
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not support.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("TESSERA_TEST_POSTGRES_URL").is_ok() {
        backends.push(Backend::Postgres);
    } else {
        eprintln!("TESSERA_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
    }
    println!("| backend | load | requests | per second | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|");
    for backend in backends {
        let (rows, rss) = rt.block_on(run(backend));
        for r in rows {
            println!(
                "| {backend:?} | {} | {} | {:.1} | {:.1} | {:.1} |",
                r.what, r.n, r.per_sec, r.p50, r.p99
            );
        }
        println!("| {backend:?} | peak RSS of the server | | {rss:.0} MB | | |");
    }
}
