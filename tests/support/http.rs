//! HTTP as the desk's browser terminals speak it: each [`Terminal`] is one browser (its own
//! connections and cookies), with the CSRF double submit (`GET /api/session` sets the
//! cookie and tells the token; every POST sends it back in `x-csrf-token`).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

/// The desk's double-submit cookie.
const CSRF_COOKIE: &str = "tessera_desk_csrf";

/// One runtime for every request of the test (the test itself is synchronous: it waits on
/// processes most of the time).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // reqwest's rustls needs a process-wide provider (the workspace picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn client() -> reqwest::Client {
    runtime();
    reqwest::Client::builder()
        // Generous: the face check runs two models in a debug build on a busy machine.
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = r.bytes().await.expect("a response body").to_vec();
    Reply {
        status,
        content_type,
        body,
    }
}

/// A plain GET (the issuer's public lists).
pub fn get(url: &str) -> Reply {
    runtime().block_on(async {
        let r = client()
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        reply(r).await
    })
}

/// One browser at the desk.
#[derive(Debug)]
pub struct Terminal {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

impl Terminal {
    /// Opens the desk page's session: the CSRF cookie and token.
    pub fn open(base: &str) -> Terminal {
        let mut t = Terminal {
            base: base.to_owned(),
            http: client(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        };
        let s = t.session();
        t.csrf = s["csrf"].as_str().expect("a CSRF token").to_owned();
        assert_eq!(
            t.cookies.get(CSRF_COOKIE),
            Some(&t.csrf),
            "the CSRF cookie carries the token the page is told"
        );
        t
    }

    /// `GET /api/session`: who is logged in, the CSRF token, the lists' age.
    pub fn session(&mut self) -> serde_json::Value {
        let r = self.get("/api/session");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().expect("an ASCII cookie");
            let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn send(&mut self, request: reqwest::RequestBuilder) -> Reply {
        let request = request.header("cookie", self.cookie_header());
        runtime().block_on(async {
            let r = request.send().await.expect("the desk answers");
            self.keep_cookies(&r);
            reply(r).await
        })
    }

    pub fn get(&mut self, path: &str) -> Reply {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request)
    }

    pub fn post(&mut self, path: &str, body: &serde_json::Value) -> Reply {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(body);
        self.send(request)
    }

    /// `POST /api/verify` with the scanned text: the verdict the page shows.
    pub fn verify(&mut self, text: &str) -> serde_json::Value {
        let r = self.post("/api/verify", &serde_json::json!({ "text": text }));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// `POST /api/login`: a staff session and a new CSRF token.
    pub fn login(&mut self, name: &str, password: &str) {
        let r = self.post(
            "/api/login",
            &serde_json::json!({ "name": name, "password": password }),
        );
        assert_eq!(r.status, 200, "login: {}", r.text());
        let body = r.json();
        assert_eq!(body["staff"], name, "{body}");
        self.csrf = body["csrf"].as_str().expect("a new CSRF token").to_owned();
    }
}
