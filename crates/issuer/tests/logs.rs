//! The service's log is structured and carries no personal data: an enrolment and a
//! refusal through the real binary, then the log is searched for the ID number, the name
//! and any frame bytes.

mod common;

use common::*;
use tessera_issuer_api::BatchResponse;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_has_decisions_but_no_personal_data() {
    let dir = std::env::temp_dir().join(format!("tessera-issuer-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let records = tessera_issuer::registry::read_csv(&write_registry(&dir, 0), &faces()).unwrap();
    let store = tessera_issuer::store::Store::connect(&tessera_issuer::default_database_url(&data))
        .await
        .unwrap();
    store.import_registry(&records, 1).await.unwrap();
    store.close().await;

    let log_path = dir.join("issuer.log");
    let (mut server, base) = spawn_issuer(
        &data,
        None,
        &[],
        "debug,sqlx=warn,tract_onnx=error,tract_core=warn,tract_hir=warn,hyper=info",
        std::fs::File::create(&log_path).unwrap().into(),
    );
    let http = http_client();
    let mut frames_sent = Vec::new();
    for (person, expect) in [("obama", 201), ("biden", 422)] {
        let mut req = enrol_request_at(&http, &base, &obama_id(), person)
            .await
            .unwrap();
        req.replace_existing = true;
        frames_sent.extend(
            req.frames
                .iter()
                .map(|f| tessera_issuer_api::b64::encode(&f[..64])),
        );
        let r = http
            .post(format!("{base}/v1/enrolments"))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), expect);
        if expect == 201 {
            let _: BatchResponse = r.json().await.unwrap();
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("\"decision\""), "{log}");
    assert!(
        log.contains("\"issued\"") && log.contains("\"refused\""),
        "{log}"
    );
    for line in log.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not a JSON log line: {line}"
        );
    }
    for secret in [
        obama_id(),
        "李建国".to_owned(),
        "19610804".to_owned(),
        "1961-08-04".to_owned(),
    ] {
        assert!(!log.contains(&secret), "the log contains {secret:?}");
    }
    for f in &frames_sent {
        assert!(!log.contains(f.as_str()), "the log contains frame bytes");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
