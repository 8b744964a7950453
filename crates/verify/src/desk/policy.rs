//! The venue policy (a TOML file): what this desk accepts. Everything has a safe default so
//! a desk runs without a file; unknown keys are refused so a typo never silently weakens it.

use std::path::Path;

use serde::Deserialize;
use tessera_credential::Tier;

/// What the venue requires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenuePolicy {
    /// The tier this venue requires (`lightweight` or `upgraded`); none: any tier.
    pub required_tier: Option<String>,
    /// Allowed clock difference, in seconds.
    pub clock_skew_seconds: u64,
    /// The oldest trust and status cache this desk verifies against, in seconds.
    pub max_cache_age_seconds: u64,
    /// Refuse unless the credential's status list was fetched from the issuer just now.
    pub online_status_required: bool,
    /// How often the trust and status lists are refreshed when the issuer is reachable.
    pub refresh_interval_seconds: u64,
    /// Guest-register records are deleted after this many days.
    pub retention_days: u64,
    /// Staff sessions last this long.
    pub session_minutes: u64,
    /// Set when the desk is served over https (a reverse proxy): cookies get `Secure`.
    pub secure_cookies: bool,
    /// How old the face match behind an upgraded proof may be, in seconds.
    pub max_face_age_seconds: u64,
    /// Host names (`name` or `name:port`) the desk answers for besides its listen address,
    /// e.g. the name a reverse proxy serves it under. Requests for any other `Host` are
    /// refused (DNS rebinding).
    pub public_hosts: Vec<String>,
    /// Check-in needs the face check's *Same person* for that verification.
    pub require_face_match: bool,
    /// The page clears a verdict and the check-in form after this many seconds (the last
    /// guest's data must not stay on screen).
    pub verdict_clear_seconds: u64,
}

impl Default for VenuePolicy {
    fn default() -> VenuePolicy {
        VenuePolicy {
            required_tier: None,
            clock_skew_seconds: tessera_credential::verify::DEFAULT_SKEW,
            max_cache_age_seconds: 24 * 3600,
            online_status_required: false,
            refresh_interval_seconds: 300,
            retention_days: 30,
            session_minutes: 8 * 60,
            secure_cookies: false,
            max_face_age_seconds: tessera_credential::verify::DEFAULT_MAX_FACE_AGE,
            public_hosts: Vec::new(),
            require_face_match: false,
            verdict_clear_seconds: 120,
        }
    }
}

/// Why a policy file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not the policy format.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

impl VenuePolicy {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<VenuePolicy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        VenuePolicy::parse(&text).map_err(|message| PolicyError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and checks policy text.
    pub fn parse(text: &str) -> Result<VenuePolicy, String> {
        let policy: VenuePolicy = toml::from_str(text).map_err(|e| e.to_string())?;
        policy.tier()?;
        if policy.refresh_interval_seconds == 0
            || policy.session_minutes == 0
            || policy.verdict_clear_seconds == 0
        {
            return Err(
                "refresh_interval_seconds, session_minutes and verdict_clear_seconds must be positive"
                    .into(),
            );
        }
        if let Some(bad) = policy.public_hosts.iter().find(|h| {
            h.is_empty()
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        }) {
            return Err(format!(
                "public_hosts: {bad:?} is not a host name (write desk.example.com or desk.example.com:8443, without https://)"
            ));
        }
        Ok(policy)
    }

    /// The required tier, parsed.
    pub fn tier(&self) -> Result<Option<Tier>, String> {
        self.required_tier
            .as_deref()
            .map(|t| {
                t.parse::<Tier>()
                    .map_err(|_| format!("required_tier: {t:?} is not lightweight or upgraded"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let p = VenuePolicy::parse("").unwrap();
        assert_eq!(p.tier().unwrap(), None);
        let p = VenuePolicy::parse("required_tier = \"upgraded\"\nmax_cache_age_seconds = 60\n")
            .unwrap();
        assert_eq!(p.tier().unwrap(), Some(Tier::Upgraded));
        assert_eq!(p.max_cache_age_seconds, 60);
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        assert!(VenuePolicy::parse("requried_tier = \"upgraded\"").is_err());
        assert!(VenuePolicy::parse("required_tier = \"gold\"").is_err());
        assert!(VenuePolicy::parse("refresh_interval_seconds = 0").is_err());
        assert!(VenuePolicy::parse("public_hosts = [\"https://desk.example\"]").is_err());
        assert!(VenuePolicy::parse("public_hosts = [\"desk.example:8443\"]").is_ok());
    }
}
