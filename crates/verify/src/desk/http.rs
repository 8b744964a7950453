//! The one place the desk makes HTTP clients and checks the issuer URL they talk to.
//!
//! Everything the desk fetches (trust and status lists, portraits) comes from the configured
//! issuer and nowhere else: clients follow no redirects (a 3xx is an error naming where it
//! pointed), and the issuer URL is `https://`, or `http://` only to a loopback address on
//! this machine, checked when the desk starts.

use std::net::IpAddr;
use std::time::Duration;

/// Why an issuer URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum IssuerUrlError {
    /// Not a URL.
    #[error("the issuer URL {0:?} is not a URL")]
    NotAUrl(String),
    /// Plain http to another machine, or another scheme.
    #[error(
        "the issuer URL {0:?} must start with https:// (plain http:// only to 127.0.0.1 or [::1] on this machine)"
    )]
    NotHttps(String),
    /// Credentials, a query or a fragment: nothing a base URL carries.
    #[error("the issuer URL {0:?} must not carry a user name, password, query or fragment")]
    Extra(String),
}

/// Checks and normalises (no trailing `/`) the issuer's base URL.
pub fn check_issuer_url(url: &str) -> Result<String, IssuerUrlError> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).map_err(|_| IssuerUrlError::NotAUrl(url.to_owned()))?;
    // A name (even `localhost`) is resolved by DNS or a hosts file, which can point it
    // anywhere: only an address literal is known to stay on this machine.
    let loopback = parsed
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {}
        "http" if loopback => {}
        _ => return Err(IssuerUrlError::NotHttps(url.to_owned())),
    }
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(IssuerUrlError::Extra(url.to_owned()));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// A client for the issuer: no redirects, the given overall timeout.
pub fn issuer_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        // A redirect could send the desk's request (a presentation, the API key's bearer
        // header) elsewhere, or to plain http; the issuer has no reason to redirect.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3).min(timeout))
        .build()
}

/// For a redirect answer, the error words: where it tried to send the desk.
pub fn redirect_refusal(url: &str, r: &reqwest::Response) -> Option<String> {
    if !r.status().is_redirection() {
        return None;
    }
    let to = r.headers().get(reqwest::header::LOCATION).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(200)
            .collect::<String>()
    });
    Some(match to {
        Some(to) => format!(
            "{url}: HTTP {} redirecting to {to:?}; this desk follows no redirects: fix the issuer URL",
            r.status()
        ),
        None => format!(
            "{url}: HTTP {} (a redirect); this desk follows no redirects: fix the issuer URL",
            r.status()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls_are_https_or_loopback_http() {
        for ok in [
            "https://id.example.gov",
            "https://id.example.gov/",
            "https://id.example.gov:8443/tessera/",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:8080/",
        ] {
            let u = check_issuer_url(ok).unwrap();
            assert!(!u.ends_with('/'), "{u}");
        }
        for bad in [
            "http://id.example.gov",
            "http://localhost:8080",
            "http://127.0.0.1.example.com",
            "http://10.0.0.1",
            "ftp://id.example.gov",
            "https://user:pw@id.example.gov",
            "https://id.example.gov/?x=1",
            "https://id.example.gov/#x",
            "id.example.gov",
            "",
        ] {
            assert!(check_issuer_url(bad).is_err(), "{bad}");
        }
    }
}
