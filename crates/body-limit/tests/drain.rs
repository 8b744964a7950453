//! The limit against a real server on loopback: reqwest for what a wallet does, raw TCP for
//! what only a hand-written client can do (chunked bodies, stalling, hanging up).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tessera_body_limit::{BodyLimit, Drain, Refusal, enforce};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SMALL: usize = 1024;
const LARGE: usize = 1024 * 1024;

fn refuse(r: Refusal) -> Response {
    match r {
        Refusal::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response(),
        Refusal::Unreadable => (StatusCode::BAD_REQUEST, "unreadable").into_response(),
        Refusal::TimedOut => (StatusCode::REQUEST_TIMEOUT, "timed out").into_response(),
    }
}

/// A server whose `/large` takes 1 MiB and everything else 1 KiB; both echo the body.
async fn serve(drain: Drain) -> String {
    serve_with(drain, tessera_body_limit::DEFAULT_READ_TIMEOUT).await
}

async fn serve_with(drain: Drain, read_timeout: Duration) -> String {
    let limit = BodyLimit::new(
        |req| {
            if req.uri().path() == "/large" {
                LARGE
            } else {
                SMALL
            }
        },
        refuse,
    )
    .with_drain(drain)
    .with_read_timeout(read_timeout);
    let echo = |body: Bytes| async move { body };
    let app = Router::new()
        .route("/large", post(echo))
        .route("/small", post(echo))
        .layer(middleware::from_fn_with_state(limit, enforce));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr.to_string()
}

/// A plain-HTTP client (the workspace builds reqwest with rustls and no default provider).
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn drain() -> Drain {
    Drain {
        max_bytes: 4 * LARGE,
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_within_the_limit_pass_unchanged() {
    let addr = serve(drain()).await;
    let client = client();
    for (path, len) in [("small", 0), ("small", SMALL), ("large", LARGE)] {
        let body: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let r = client
            .post(format!("http://{addr}/{path}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path} {len}");
        assert_eq!(r.bytes().await.unwrap(), body, "{path} {len}");
    }
}

/// The failure CI once saw: a client still sending an oversized body lost the 413 to a
/// connection reset. Many rounds, alternating sizes, on one keep-alive client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_gets_its_answer_and_the_connection_lives_on() {
    let addr = serve(drain()).await;
    let client = client();
    for round in 0..30 {
        let (path, len) = if round % 2 == 0 {
            ("large", LARGE + 1 + round * 100_000)
        } else {
            ("small", SMALL + 1)
        };
        let r = client
            .post(format!("http://{addr}/{path}"))
            .body(vec![b'a'; len])
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "round {round}");
        assert!(r.headers().get("connection").is_none(), "round {round}");
        assert_eq!(r.text().await.unwrap(), "too large");
        // The same client (and connection) still works.
        let ok = client
            .post(format!("http://{addr}/small"))
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "hello");
    }
}

/// Sends `head` then `body` on a fresh connection, half-closes, and returns what came back.
async fn raw(addr: &str, head: &str, body: &[u8], hang_up: bool) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    if hang_up {
        s.shutdown().await.unwrap();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn chunked(total: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let chunk = vec![b'c'; 4096];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&chunk[..n]);
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_are_limited_by_what_arrives() {
    let addr = serve(drain()).await;
    let head = "POST /small HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let ok = raw(&addr, head, &chunked(SMALL), false).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.ends_with(&"c".repeat(SMALL)), "the body echoes whole");
    let over = raw(&addr, head, &chunked(SMALL * 50), false).await;
    assert!(over.starts_with("HTTP/1.1 413"), "{over}");
    assert!(over.ends_with("too large"), "{over}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_beyond_the_drain_is_refused_at_once_and_the_connection_closed() {
    let addr = serve(drain()).await;
    // Declares 1 GiB and sends none of it: the answer must not wait for the body.
    let head = format!(
        "POST /large HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        1u64 << 30
    );
    let started = Instant::now();
    let out = raw(&addr, &head, b"", false).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered without waiting"
    );
    // Likewise a client that waits for 100 Continue before sending an oversized body.
    let head = format!(
        "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        SMALL + 1
    );
    let out = raw(&addr, &head, b"", false).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(!out.contains("100 Continue"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stalls_gets_its_answer_when_the_drain_times_out() {
    let addr = serve(Drain {
        max_bytes: 4 * LARGE,
        timeout: Duration::from_millis(300),
    })
    .await;
    // Declares more than it sends and keeps the connection open.
    let head = format!(
        "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        SMALL * 3
    );
    let out = raw(&addr, &head, &vec![b'a'; SMALL * 2], false).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_body_gets_no_handler() {
    let addr = serve(drain()).await;
    let head = "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n";
    let out = raw(&addr, head, b"only ten b", true).await;
    // The client (its sending half closed) reads that the body was unreadable; the echo
    // never ran.
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(!out.contains("only ten b"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_within_the_limit_that_never_finishes_times_out() {
    let addr = serve_with(drain(), Duration::from_millis(300)).await;
    // Declares 100 bytes, sends 10 and waits: the server does not wait forever, and the
    // handler never runs on a partial body.
    let head = "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n";
    let started = Instant::now();
    let out = raw(&addr, head, b"only ten b", false).await;
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out}"
    );
    assert!(!out.contains("only ten b"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
