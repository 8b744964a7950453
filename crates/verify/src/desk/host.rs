//! The `Host` check. A desk bound to loopback is still reachable from any web page the
//! clerk's browser opens, through DNS rebinding: `attacker.example` first resolves to the
//! attacker, then to 127.0.0.1, and the page's script talks to the desk as its own origin.
//! The browser still sends `Host: attacker.example`, so the desk answers only for its own
//! names: its listen address, the loopback names when bound to loopback (any address of the
//! machine when bound to all of them), and the `public_hosts` of the venue policy.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

/// The host names this desk answers for.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    listen: SocketAddr,
    /// Lower case; `name` (any port) or `name:port`.
    public: Vec<String>,
}

/// Splits `host[:port]` (`[v6]:port` for IPv6) into the host, without brackets, and port.
fn split(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        return match after {
            "" => Some((ip, None)),
            p => Some((ip, Some(p.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match authority.rsplit_once(':') {
        // A bare IPv6 address is not a valid Host; refuse it rather than guess.
        Some((h, _)) if h.contains(':') => None,
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((authority, None)),
    }
}

impl AllowedHosts {
    /// For a desk listening on `listen`, with the policy's `public_hosts`.
    pub fn new(listen: SocketAddr, public_hosts: &[String]) -> AllowedHosts {
        AllowedHosts {
            listen,
            public: public_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a request with this `Host` is for this desk.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        let Some((name, port)) = split(&host) else {
            return false;
        };
        let name = name.trim_end_matches('.');
        // Configured names: behind a reverse proxy the port is the proxy's, any will do
        // unless the entry names one.
        if self
            .public
            .iter()
            .any(|p| *p == host || split(p).is_some_and(|(n, pp)| pp.is_none() && n == name))
        {
            return true;
        }
        // Direct: the listen port (a missing port means 80).
        if port.unwrap_or(80) != self.listen.port() {
            return false;
        }
        let bound = self.listen.ip();
        match name.parse::<IpAddr>() {
            // An address literal cannot be rebound: it names this machine or nothing.
            Ok(ip) => {
                ip == bound || bound.is_unspecified() || (bound.is_loopback() && ip.is_loopback())
            }
            // `localhost` is what a browser sends only for a page on this machine.
            Err(_) => name == "localhost" && (bound.is_loopback() || bound.is_unspecified()),
        }
    }
}

/// Middleware: refuses a request for another host with 421 and a problem.
pub(super) async fn check(State(hosts): State<AllowedHosts>, req: Request, next: Next) -> Response {
    // A health probe learns nothing and may come by any name (a container's own check).
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        // HTTP/2 and absolute-form requests carry it in the URI instead.
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    match host {
        Some(h) if hosts.allows(&h) => next.run(req).await,
        _ => {
            // Not the host name: it may be a guest's name in a crafted page's address.
            tracing::info!(status = 421, "request for another host refused");
            Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            "this desk does not answer for that host name: open it at its own address, or add the name to public_hosts in the venue policy",
        )
        .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_desks_own_names() {
        let loopback = AllowedHosts::new("127.0.0.1:8080".parse().unwrap(), &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for bad in [
            "attacker.example:8080",
            "attacker.example",
            "127.0.0.1:8081",
            "localhost",
            "192.168.1.5:8080",
            "127.0.0.1.attacker.example:8080",
            "::1",
            "",
            "localhost:80a",
        ] {
            assert!(!loopback.allows(bad), "{bad}");
        }
        let public = AllowedHosts::new(
            "0.0.0.0:8080".parse().unwrap(),
            &[
                "Desk.Hotel.example".into(),
                "desk2.hotel.example:8443".into(),
            ],
        );
        for ok in [
            "desk.hotel.example",
            "desk.hotel.example:443",
            "desk2.hotel.example:8443",
            "192.168.1.5:8080",
            "localhost:8080",
        ] {
            assert!(public.allows(ok), "{ok}");
        }
        for bad in [
            "desk2.hotel.example",
            "other.example:8080",
            "192.168.1.5:9999",
        ] {
            assert!(!public.allows(bad), "{bad}");
        }
    }
}
