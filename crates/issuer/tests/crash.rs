//! Crash safety: enrol under load, `kill -9` the server mid-stream, restart it, and check
//! that every batch a client received is stored and valid, that nothing half-done remains,
//! and that requests cut off by the crash can simply be retried.

mod common;

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use common::*;
use tessera_issuer_api::{BatchResponse, EnrolRequest};

const PEOPLE: u32 = 16;
const CLIENTS: u32 = 4;
const KILL_AFTER: usize = 3;

fn serve(data: &std::path::Path, database_url: Option<&str>) -> (Child, String) {
    spawn_issuer(data, database_url, &[], "warn", Stdio::null())
}

async fn crash_and_recover(backend: Backend) {
    let dir = std::env::temp_dir().join(format!(
        "tessera-issuer-crash-{backend:?}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(postgres_database().await),
    };
    // The registry: PEOPLE extra people (Obama's photo), imported before the server starts.
    {
        std::fs::create_dir_all(&data).unwrap();
        let records =
            tessera_issuer::registry::read_csv(&write_registry(&dir, PEOPLE), &faces()).unwrap();
        let url = database_url
            .clone()
            .unwrap_or_else(|| tessera_issuer::default_database_url(&data));
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        store.import_registry(&records, 1).await.unwrap();
        store.close().await;
    }

    let (mut server, base) = serve(&data, database_url.as_deref());
    let http = http_client();
    let received: Arc<Mutex<Vec<BatchResponse>>> = Arc::default();
    let cut_off: Arc<Mutex<Vec<EnrolRequest>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, base) = (http.clone(), base.clone());
        let (received, cut_off) = (received.clone(), cut_off.clone());
        clients.push(tokio::spawn(async move {
            for n in (c..PEOPLE).step_by(CLIENTS as usize) {
                let Ok(req) = enrol_request_at(&http, &base, &extra_id(n), "obama").await else {
                    return;
                };
                let sent = http
                    .post(format!("{base}/v1/enrolments"))
                    .json(&req)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => match r.json::<BatchResponse>().await {
                        Ok(b) => received.lock().unwrap().push(b),
                        Err(_) => {
                            cut_off.lock().unwrap().push(req);
                            return;
                        }
                    },
                    Ok(r) => panic!("enrolment refused: {}", r.text().await.unwrap()),
                    Err(_) => {
                        cut_off.lock().unwrap().push(req);
                        return;
                    }
                }
            }
        }));
    }
    // Kill the server while the other clients are mid-request.
    while received.lock().unwrap().len() < KILL_AFTER {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let received = received.lock().unwrap().clone();
    let cut_off = cut_off.lock().unwrap().clone();
    assert!(received.len() >= KILL_AFTER);
    assert!(
        !cut_off.is_empty(),
        "the kill should have interrupted at least one request"
    );

    let (mut server, base) = serve(&data, database_url.as_deref());
    let h = Harness::attach(&base);
    // Every batch a client got is stored and valid.
    for b in &received {
        assert_eq!(h.status_of(&lightweight(b)).await, 0);
        assert_eq!(h.status_of(&upgraded(b)).await, 0);
    }
    // Each cut-off request, retried as is, gets a batch: either the one committed just before
    // the kill, or a fresh decision because nothing of it was committed.
    let mut retried = Vec::new();
    for req in &cut_off {
        let r = http
            .post(format!("{base}/v1/enrolments"))
            .json(req)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        retried.push(r.json::<BatchResponse>().await.unwrap());
    }
    server.kill().unwrap();
    server.wait().unwrap();

    // Nothing half-done: every stored batch has both credentials, and the stored batches
    // are exactly the ones clients hold.
    let url = database_url
        .clone()
        .unwrap_or_else(|| tessera_issuer::default_database_url(&data));
    let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
    let (enrolments, credentials, broken) = store.consistency().await.unwrap();
    assert_eq!(broken, 0);
    assert_eq!(enrolments as usize, received.len() + retried.len());
    assert_eq!(credentials, 2 * enrolments);
    for b in received.iter().chain(&retried) {
        let e = store
            .enrolment_by_challenge(&store_challenge_of(&store, b).await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.state, "active");
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn store_challenge_of(store: &tessera_issuer::store::Store, b: &BatchResponse) -> String {
    let c = tessera_credential::credential::Credential::from_bytes(&lightweight(b)).unwrap();
    store
        .enrolment_by_credential(&hex::encode(c.claims.credential_id))
        .await
        .unwrap()
        .expect("the credential's batch is stored")
        .challenge_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_kill_9_mid_enrolment() {
    crash_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_kill_9_mid_enrolment() {
    crash_and_recover(Backend::Postgres).await;
}
