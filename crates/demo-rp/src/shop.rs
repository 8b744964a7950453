//! The demo ticket shop: a web page that signs in with Tessera, shows the pseudonymous number
//! and the claims it received, and logs out. Sessions live in memory (a demo, one process).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use html_escape::encode_text as text;
use openidconnect::CsrfToken;

use crate::rp::{RelyingParty, SignedIn, Started};

const COOKIE: &str = "shop_session";
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Default)]
struct Session {
    pending: Option<Started>,
    signed_in: Option<SignedIn>,
}

/// The shop.
#[derive(Debug)]
pub struct Shop {
    rp: RelyingParty,
    scopes: Vec<String>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Shop {
    /// A shop signing in through `rp`, asking for `scopes`.
    pub fn new(rp: RelyingParty, scopes: Vec<String>) -> Shop {
        Shop {
            rp,
            scopes,
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

/// The shop's routes.
pub fn router(shop: Arc<Shop>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", post(logout))
        .with_state(shop)
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

fn page(body: &str) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo ticket shop</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto}}.button{{background:#1f5fbf;color:#fff;padding:.6rem 1rem;border-radius:8px;text-decoration:none;border:0;font-size:1rem}}</style></head>
<body><h1>Demo ticket shop</h1>{body}</body></html>"#
    );
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(html),
    )
        .into_response()
}

fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

async fn home(State(shop): State<Arc<Shop>>, headers: HeaderMap) -> Response {
    let signed_in = session_id(&headers).and_then(|id| {
        let sessions = shop.sessions.lock().ok()?;
        sessions.get(&id)?.signed_in.clone()
    });
    match signed_in {
        Some(s) => {
            let mut rows = format!(
                "<tr><th>Your number at this shop (sub)</th><td id=\"sub\">{}</td></tr>",
                text(&s.sub)
            );
            let mut add = |name: &str, value: Option<String>| {
                if let Some(v) = value {
                    rows.push_str(&format!(
                        "<tr><th>{name}</th><td id=\"{name}\">{}</td></tr>",
                        text(&v)
                    ));
                }
            };
            add("acr", s.acr.clone());
            add("name", s.name.clone());
            add("birthdate", s.birthdate.clone());
            add("gender", s.gender.clone());
            add("age_over_18", s.tessera.age_over_18.map(|b| b.to_string()));
            add("masked_name", s.tessera.masked_name.clone());
            add("id_number", s.tessera.id_number.clone());
            page(&format!(
                "<p id=\"signed-in\">Signed in with Tessera.</p><table>{rows}</table>\
                 <form method=\"post\" action=\"/logout\"><button class=\"button\" id=\"logout\">Log out</button></form>"
            ))
        }
        None => page(
            "<p>Buy tickets for concerts in your own name: sign in with your citizen ID.</p>\
             <p><a class=\"button\" id=\"sign-in\" href=\"/login\">Sign in with Tessera</a></p>",
        ),
    }
}

async fn login(State(shop): State<Arc<Shop>>, headers: HeaderMap) -> Response {
    let scopes: Vec<&str> = shop.scopes.iter().map(String::as_str).collect();
    let started = shop.rp.start(&scopes, None);
    let url = started.url.clone();
    let (id, cookie) = match session_id(&headers) {
        Some(id) => (id, None),
        None => {
            let id = CsrfToken::new_random().secret().clone();
            let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/");
            (id, Some(cookie))
        }
    };
    if let Ok(mut sessions) = shop.sessions.lock() {
        if sessions.len() >= MAX_SESSIONS {
            sessions.clear();
        }
        sessions.entry(id).or_default().pending = Some(started);
    }
    see_other(&url, cookie)
}

#[derive(Debug, serde::Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(shop): State<Arc<Shop>>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    let Some(id) = session_id(&headers) else {
        return page("<p id=\"error\">No sign-in was started in this browser.</p>");
    };
    let pending = shop
        .sessions
        .lock()
        .ok()
        .and_then(|mut s| s.get_mut(&id).and_then(|s| s.pending.take()));
    let Some(started) = pending else {
        return page("<p id=\"error\">No sign-in was started in this browser.</p>");
    };
    if let Some(error) = cb.error {
        return page(&format!(
            "<p id=\"error\">Sign-in did not complete: {} ({})</p><p><a href=\"/\">Back</a></p>",
            text(&error),
            text(cb.error_description.as_deref().unwrap_or(""))
        ));
    }
    let (Some(code), Some(state)) = (cb.code, cb.state) else {
        return page("<p id=\"error\">The sign-in answer is incomplete.</p>");
    };
    match shop.rp.finish(&code, &state, started).await {
        Ok(signed_in) => {
            if let Ok(mut sessions) = shop.sessions.lock() {
                sessions.entry(id).or_default().signed_in = Some(signed_in);
            }
            see_other("/", None)
        }
        Err(e) => {
            tracing::warn!(error = %e, "sign-in failed");
            page(&format!(
                "<p id=\"error\">Sign-in failed: {}</p><p><a href=\"/\">Back</a></p>",
                text(&e.to_string())
            ))
        }
    }
}

async fn logout(State(shop): State<Arc<Shop>>, headers: HeaderMap) -> Response {
    if let (Some(id), Ok(mut sessions)) = (session_id(&headers), shop.sessions.lock()) {
        sessions.remove(&id);
    }
    see_other("/", None)
}
