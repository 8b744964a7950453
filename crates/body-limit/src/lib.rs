//! Request body limits for Tessera's axum servers (the issuer and the front desk) that refuse
//! an oversized body with a response the client can actually read.
//!
//! Why not axum's `DefaultBodyLimit` alone: it stops reading at the limit and the server
//! answers 413 at once. The client is usually still sending; the server then closes a socket
//! with unread data in it, the kernel answers with a reset, and the client often loses the
//! 413 and sees only "connection reset" — a wallet could not tell its user *why*. Like
//! nginx's lingering close, [`enforce`] reads and discards the rest of a moderately oversized
//! body (bounded in bytes and time) before answering, so the answer arrives and the
//! connection stays usable. Beyond those bounds it answers at once and closes the connection.
//!
//! It must never buffer more than a route's limit, read without a bound, or log a body.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;

/// Why a body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Longer than the route accepts.
    TooLarge,
    /// The body could not be read: the client went away or broke the framing.
    Unreadable,
    /// The body did not arrive within the time allowed (a stalled or very slow client).
    TimedOut,
}

/// How much of an oversized body is read and thrown away so the client can read the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// Bytes beyond the limit that are still read; more than this closes the connection.
    pub max_bytes: usize,
    /// Time given to the client to finish sending.
    pub timeout: Duration,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The time a body within its limit gets to arrive, by default: 8 MiB at a slow mobile
/// uplink's 1 Mbit/s takes about a minute.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(90);

/// The most memory reserved ahead of the data from a client's `Content-Length`: beyond it,
/// the buffer grows as bytes actually arrive.
const MAX_RESERVE: usize = 64 * 1024;

type LimitFor = dyn Fn(&Request) -> usize + Send + Sync;
type Refuse = dyn Fn(Refusal) -> Response + Send + Sync;

/// The state of [`enforce`]: each request's limit, and how a refusal is answered.
#[derive(Clone)]
pub struct BodyLimit {
    limit_for: Arc<LimitFor>,
    refuse: Arc<Refuse>,
    drain: Drain,
    read_timeout: Duration,
}

impl std::fmt::Debug for BodyLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyLimit")
            .field("drain", &self.drain)
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl BodyLimit {
    /// `limit_for` gives a request's limit in bytes (usually from its path); `refuse` builds
    /// the server's own problem response for a refusal.
    pub fn new(
        limit_for: impl Fn(&Request) -> usize + Send + Sync + 'static,
        refuse: impl Fn(Refusal) -> Response + Send + Sync + 'static,
    ) -> Self {
        Self {
            limit_for: Arc::new(limit_for),
            refuse: Arc::new(refuse),
            drain: Drain::default(),
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// Replaces the time a body within its limit gets to arrive ([`DEFAULT_READ_TIMEOUT`]).
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Replaces the default drain bounds (16 MiB, 10 s).
    #[must_use]
    pub fn with_drain(mut self, drain: Drain) -> Self {
        self.drain = drain;
        self
    }
}

/// A refused body: why, and whether the rest of it was read (if not, the connection can
/// carry nothing more and must be closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reason: Refusal,
    pub drained: bool,
}

/// Middleware (`axum::middleware::from_fn_with_state(limit, enforce)`): buffers the body
/// within its limit and hands it on, or answers with the refusal.
pub async fn enforce(State(limit): State<BodyLimit>, req: Request, next: Next) -> Response {
    let max = (limit.limit_for)(&req);
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(
        limit.read_timeout,
        read_limited(&parts.headers, body, max, limit.drain),
    )
    .await
    .unwrap_or(Err(Refused {
        reason: Refusal::TimedOut,
        drained: false,
    }));
    match read {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(refused) => {
            tracing::info!(reason = ?refused.reason, drained = refused.drained, max, "request body refused");
            let mut response = (limit.refuse)(refused.reason);
            if !refused.drained {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

/// Reads `body` whole if it is at most `max` bytes; otherwise reads and discards the rest
/// within `drain`'s bounds and refuses it. It sets no deadline of its own for a body within
/// the limit: [`enforce`] wraps it in the read timeout.
pub async fn read_limited(
    headers: &HeaderMap,
    mut body: Body,
    max: usize,
    drain: Drain,
) -> Result<Bytes, Refused> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|&len| len > max as u64) {
        // A client waiting for "100 Continue" has sent nothing yet: refuse before it does.
        let waiting = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if waiting || len - max as u64 > drain.max_bytes as u64 {
            return Err(too_large(false));
        }
        // Nothing read yet: the whole body is discarded.
        return Err(too_large(
            discard(body, max.saturating_add(drain.max_bytes), drain).await,
        ));
    }
    let mut buf = Vec::with_capacity(declared.map_or(0, |len| (len as usize).min(MAX_RESERVE)));
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Refused {
                reason: Refusal::Unreadable,
                drained: false,
            });
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry no body bytes
        };
        if buf.len() + data.len() > max {
            let over = buf.len() + data.len() - max;
            drop(buf);
            let budget = drain.max_bytes.saturating_sub(over);
            return Err(too_large(discard(body, budget, drain).await));
        }
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

fn too_large(drained: bool) -> Refused {
    Refused {
        reason: Refusal::TooLarge,
        drained,
    }
}

/// Reads `body` to its end, keeping nothing; `true` when the end came within `budget` bytes
/// and the drain's time.
async fn discard(mut body: Body, budget: usize, drain: Drain) -> bool {
    let to_end = async {
        let mut read = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            read += frame.data_ref().map_or(0, Bytes::len);
            if read > budget {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(drain.timeout, to_end)
        .await
        .unwrap_or(false)
}
