//! The venue policy (a TOML file): what this desk accepts. Everything has a safe default so
//! a desk runs without a file; unknown keys are refused so a typo never silently weakens it.

use std::path::Path;

use serde::Deserialize;
use tessera_credential::Tier;

/// What the venue requires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenuePolicy {
    /// The lowest tier this venue takes (`age_only`, `lightweight` or `upgraded`; tiers are
    /// ordered so): a code of a lower tier is refused. None: any tier.
    pub required_tier: Option<String>,
    /// The only tiers this venue takes, e.g. `["age_only"]` for a bar that wants no names at
    /// all (data minimisation): a code of another tier is refused, and nothing it carries is
    /// shown or kept. None: every tier (from `required_tier` up).
    pub accepted_tiers: Option<Vec<String>>,
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
    /// Refuse an upgraded (*Full details*) code whose device key the issuer did not attest
    /// as kept in hardware (the credential's key protection `software`): verdict
    /// `hardware_keys_required`. The lighter tiers are left alone.
    pub require_hardware_keys: bool,
}

impl Default for VenuePolicy {
    fn default() -> VenuePolicy {
        VenuePolicy {
            required_tier: None,
            accepted_tiers: None,
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
            require_hardware_keys: false,
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
        policy.accepted()?;
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
                parse_tier(t).ok_or_else(|| {
                    format!("required_tier: {t:?} is not age_only, lightweight or upgraded")
                })
            })
            .transpose()
    }

    /// The accepted tiers, parsed and checked against `required_tier`: in tier order,
    /// without repeats. None: every tier from the required one up.
    pub fn accepted(&self) -> Result<Option<Vec<Tier>>, String> {
        let Some(names) = &self.accepted_tiers else {
            return Ok(None);
        };
        if names.is_empty() {
            return Err(
                "accepted_tiers is empty, so no code could pass: list at least one tier \
                 (age_only, lightweight, upgraded), or leave the key out to accept any"
                    .into(),
            );
        }
        let mut tiers = Vec::new();
        for name in names {
            let tier = parse_tier(name).ok_or_else(|| {
                format!("accepted_tiers: {name:?} is not age_only, lightweight or upgraded")
            })?;
            if !tiers.contains(&tier) {
                tiers.push(tier);
            }
        }
        tiers.sort();
        if let Some(required) = self.tier()?
            && let Some(below) = tiers.iter().find(|t| **t < required)
        {
            return Err(format!(
                "accepted_tiers lists {}, but required_tier = {:?} refuses it (it is below {}): \
                 remove one of the two",
                below.name(),
                required.name(),
                required.name()
            ));
        }
        Ok(Some(tiers))
    }
}

/// A tier by its policy name (exactly the names the JSON uses).
fn parse_tier(name: &str) -> Option<Tier> {
    [Tier::AgeOnly, Tier::Lightweight, Tier::Upgraded]
        .into_iter()
        .find(|t| t.name() == name)
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

    #[test]
    fn age_only_and_accepted_tiers() {
        let p = VenuePolicy::parse("required_tier = \"age_only\"").unwrap();
        assert_eq!(p.tier().unwrap(), Some(Tier::AgeOnly));
        assert_eq!(p.accepted().unwrap(), None);

        // A bar that wants no names at all.
        let p = VenuePolicy::parse("accepted_tiers = [\"age_only\"]").unwrap();
        assert_eq!(p.accepted().unwrap(), Some(vec![Tier::AgeOnly]));
        assert_eq!(p.tier().unwrap(), None);
        // Sorted, repeats dropped; compatible with a required tier at or below them.
        let p = VenuePolicy::parse(
            "required_tier = \"lightweight\"\naccepted_tiers = [\"upgraded\", \"lightweight\", \"upgraded\"]",
        )
        .unwrap();
        assert_eq!(
            p.accepted().unwrap(),
            Some(vec![Tier::Lightweight, Tier::Upgraded])
        );
        assert!(
            VenuePolicy::parse("required_tier = \"age_only\"\naccepted_tiers = [\"age_only\"]")
                .is_ok()
        );

        for (text, says) in [
            ("accepted_tiers = [\"gold\"]", "\"gold\" is not age_only"),
            ("accepted_tiers = [\"age-only\"]", "is not age_only"),
            ("accepted_tiers = [\"Upgraded\"]", "is not age_only"),
            ("accepted_tiers = []", "empty"),
            ("accepted_tiers = \"age_only\"", "expected a sequence"),
            (
                "required_tier = \"lightweight\"\naccepted_tiers = [\"age_only\"]",
                "required_tier = \"lightweight\" refuses it",
            ),
            (
                "required_tier = \"upgraded\"\naccepted_tiers = [\"age_only\", \"upgraded\"]",
                "accepted_tiers lists age_only",
            ),
            (
                "required_tier = \"basic\"",
                "age_only, lightweight or upgraded",
            ),
        ] {
            let e = VenuePolicy::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
