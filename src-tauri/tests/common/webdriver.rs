//! Just enough of the W3C WebDriver protocol (classic, as WebKitWebDriver speaks it) to drive
//! the app: sessions, finding elements, clicks, typing, scripts and screenshots.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session.
pub struct Session {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl Session {
    /// Starts a session on the driver at `driver` with `capabilities` (waits up to `wait` for
    /// the driver to accept connections).
    pub fn start(driver: &str, capabilities: Value, wait: Duration) -> Session {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(180))
            .build()
            .expect("an HTTP client");
        let started = Instant::now();
        let reply = loop {
            let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
            match rt.block_on(async {
                http.post(format!("{driver}/session"))
                    .json(&body)
                    .send()
                    .await?
                    .json::<Value>()
                    .await
            }) {
                Ok(v) => break v,
                Err(e) if started.elapsed() < wait => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("the WebDriver server at {driver} did not answer: {e}"),
            }
        };
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_owned();
        Session {
            rt,
            http,
            base: format!("{driver}/session/{id}"),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let reply: Value = self.rt.block_on(async {
            let mut req = self.http.request(method, &url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            req.send()
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"))
        });
        reply["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    /// The first element matching `css`, if any now.
    pub fn try_find(&self, css: &str) -> Option<String> {
        let v = self.post("/element", json!({"using": "css selector", "value": css}));
        v[ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits up to `timeout` for `css` to match, showing what the page says if it never does.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            if started.elapsed() > timeout {
                let found = self.post("/element", json!({"using": "css selector", "value": css}));
                let body = self.script(
                    "return document.body ? document.body.innerText : ''",
                    json!([]),
                );
                panic!("{css} did not appear within {timeout:?} ({found}); the page says:\n{body}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Clicks the element matching `css` (waiting for it).
    pub fn click(&self, css: &str) {
        let e = self.wait_for(css, Duration::from_secs(20));
        let v = self.post(&format!("/element/{e}/click"), json!({}));
        assert!(v.is_null() || v.get("error").is_none(), "click {css}: {v}");
    }

    /// Types `text` into the element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css, Duration::from_secs(20));
        let _ = self.post(&format!("/element/{e}/clear"), json!({}));
        let v = self.post(&format!("/element/{e}/value"), json!({ "text": text }));
        assert!(
            v.is_null() || v.get("error").is_none(),
            "type into {css}: {v}"
        );
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let e = self.wait_for(css, Duration::from_secs(20));
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page and returns its result.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Runs an asynchronous `script` (it calls its last argument with the result).
    #[allow(dead_code)] // used by the benchmark, which shares this module
    pub fn script_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({"script": script, "args": []}))
    }

    /// Waits until `script` returns `true`.
    pub fn wait_until(&self, what: &str, script: &str, timeout: Duration) {
        let started = Instant::now();
        while self.script(script, json!([])) != Value::Bool(true) {
            if started.elapsed() > timeout {
                let body = self.script("return document.body.innerText", json!([]));
                panic!("{what}: not within {timeout:?}; the page says:\n{body}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Opens `url` in the session's browser.
    #[allow(dead_code)] // used by the sign-in test, which shares this module
    pub fn goto(&self, url: &str) {
        let v = self.post("/url", json!({ "url": url }));
        assert!(v.is_null() || v.get("error").is_none(), "open {url}: {v}");
    }

    /// A PNG of the window's web content.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 PNG"))
            .expect("valid base64")
    }

    /// Ends the session (the driver closes the app).
    pub fn end(self) {
        let _ = self.call(reqwest::Method::DELETE, "", None);
    }
}
