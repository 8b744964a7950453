//! Refills and batch enrolment, measured (not part of the test run): a refill of a full
//! batch (10 lightweight and 10 age-only credentials retired and re-issued: the holder proof
//! checked, 20 proofs of possession, 20 signatures, 20 status slots, one transaction) per
//! second with 1 and 4 concurrent holders, with p50/p99, on SQLite and (when
//! `TESSERA_TEST_POSTGRES_URL` is set) PostgreSQL; and the signing part of an enrolment's
//! batch alone (21 credentials). Prints a table.
//!
//! `cargo bench -p tessera-issuer --bench refill`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::keys::{Es256Signer, SoftwareKey};
use tessera_issuer_api::batch::refill_sha256;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{BatchKey, BatchKeys, BatchResponse, RefillRequest, RefillResponse};

const RUN_FOR: Duration = Duration::from_secs(10);
const SIZE: u32 = 10;

/// A holder: the one-time credentials it holds, each with its key.
struct Holder {
    held: Vec<(Tier, SoftwareKey, Vec<u8>)>,
}

fn bound(issued: &[tessera_issuer_api::IssuedCredential], key: &SoftwareKey) -> Vec<u8> {
    issued
        .iter()
        .find(|c| {
            Credential::from_bytes(&c.credential)
                .unwrap()
                .claims
                .holder_key
                == key.public_key()
        })
        .unwrap()
        .credential
        .clone()
}

async fn enrol(h: &Harness, id_number: &str, person: &str) -> Holder {
    let device = new_device();
    let keys: Vec<(Tier, SoftwareKey)> = [Tier::Lightweight, Tier::AgeOnly]
        .into_iter()
        .flat_map(|t| (0..SIZE).map(move |_| (t, new_device())))
        .collect();
    let c = h.challenge_for(&device).await;
    let mut req = answer_challenge(&c, id_number, frames(person, &c.actions), &device);
    let proven = keys
        .iter()
        .map(|(t, k)| BatchKey::create(*t, k, &c.challenge_id, &c.nonce).unwrap())
        .collect();
    req.batch = Some(BatchKeys::create(proven, &device, &c.challenge_id, &c.nonce).unwrap());
    let batch: BatchResponse = h.post_json("/v1/enrolments", &req).await.ok();
    Holder {
        held: keys
            .into_iter()
            .map(|(t, k)| {
                let c = bound(&batch.credentials, &k);
                (t, k, c)
            })
            .collect(),
    }
}

/// Retires every credential the holder has and gets a full batch again.
async fn refill(h: &Harness, holder: &mut Holder) -> Duration {
    let started = Instant::now();
    let new: Vec<(Tier, SoftwareKey)> = holder
        .held
        .iter()
        .map(|(t, _, _)| (*t, new_device()))
        .collect();
    let c = h.challenge_for(&new[0].1).await;
    let keys: Vec<BatchKey> = new
        .iter()
        .map(|(t, k)| BatchKey::create(*t, k, &c.challenge_id, &c.nonce).unwrap())
        .collect();
    let retire: Vec<String> = holder
        .held
        .iter()
        .map(|(_, _, c)| hex::encode(Credential::from_bytes(c).unwrap().claims.credential_id))
        .collect();
    let purpose = HolderAuthPurpose::Refill {
        request_sha256: refill_sha256(&keys, &retire),
    };
    let (_, key, credential) = &holder.held[0];
    let presentation = h.holder_presentation(credential, key, &c, purpose);
    let req = RefillRequest {
        challenge_id: c.challenge_id,
        presentation,
        keys,
        retire,
    };
    let answer: RefillResponse = h.post_json("/v1/refills", &req).await.ok();
    let elapsed = started.elapsed();
    holder.held = new
        .into_iter()
        .map(|(t, k)| {
            let c = bound(&answer.credentials, &k);
            (t, k, c)
        })
        .collect();
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(backend: Backend, name: &str) {
    let h = start_with(backend, |c| {
        c.refills_per_day = u32::MAX;
        c.attempts_per_ip = 1_000_000;
        c.sign_ins_per_ip = u32::MAX;
    })
    .await;
    let people = [
        (obama_id(), "obama"),
        (biden_id(), "biden"),
        (astronaut_id(), "astronaut"),
    ];
    let mut holders = Vec::new();
    for (id, person) in &people {
        holders.push(enrol(&h, id, person).await);
    }
    for concurrency in [1usize, 3] {
        let started = Instant::now();
        let mut times = Vec::new();
        while started.elapsed() < RUN_FOR {
            let round: Vec<_> = holders
                .iter_mut()
                .take(concurrency)
                .map(|holder| refill(&h, holder))
                .collect();
            times.extend(futures_join(round).await);
        }
        let total = started.elapsed();
        times.sort();
        println!(
            "{name:<10} {concurrency} at once: {:>6.1} refills/s ({:>6.0} credentials/s), p50 {:>4} ms, p99 {:>4} ms ({} refills)",
            times.len() as f64 / total.as_secs_f64(),
            (times.len() * 2 * SIZE as usize) as f64 / total.as_secs_f64(),
            percentile(&times, 0.5).as_millis(),
            percentile(&times, 0.99).as_millis(),
            times.len()
        );
    }
}

async fn futures_join<F: std::future::Future<Output = Duration>>(fs: Vec<F>) -> Vec<Duration> {
    let mut set = Vec::new();
    for f in fs {
        set.push(f);
    }
    let mut out = Vec::new();
    // Concurrent on one task: the issuer runs in its own tasks, so the requests overlap.
    let joined = futures_util_join_all(set).await;
    out.extend(joined);
    out
}

async fn futures_util_join_all<F: std::future::Future<Output = Duration>>(
    fs: Vec<F>,
) -> Vec<Duration> {
    let handles: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut results = vec![Duration::ZERO; handles.len()];
    let mut pending: Vec<(usize, std::pin::Pin<Box<F>>)> =
        handles.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(d) => {
                results[*i] = d;
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results
}

fn sign_batch() {
    // The signing part alone: 21 ES256 credentials, as an enrolment signs them.
    let issuer = new_device();
    let keys: Vec<SoftwareKey> = (0..21).map(|_| new_device()).collect();
    let w = tessera_vectors::Wallet::standard();
    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        for k in &keys {
            let mut claims = w.lightweight.claims.clone();
            claims.holder_key = k.public_key();
            std::hint::black_box(Credential::issue(claims, &issuer).unwrap());
        }
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "signing 21 credentials: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    sign_batch();
    run(Backend::Sqlite, "SQLite").await;
    if std::env::var("TESSERA_TEST_POSTGRES_URL").is_ok() {
        run(Backend::Postgres, "PostgreSQL").await;
    }
}
