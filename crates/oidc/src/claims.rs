//! The claims a relying party can be registered for, and the tiers they need.
//!
//! Each claim is requested as a scope of the same name (`scope=openid name birthdate`):
//! scopes are what every OIDC client library lets an application set, and one scope per
//! claim keeps purpose limitation exact (the `profile` bundle would hand over more than a
//! registration allows). Standard OIDC names are used where they exist (Core §5.1); the
//! others are Tessera's, documented in `docs/format/oidc.md`.

use serde::{Deserialize, Serialize};
use tessera_credential::claims::Tier;

/// The `acr` of a lightweight sign-in: an enrolled, real-named person proved by the device key.
pub const ACR_LIGHTWEIGHT: &str = "urn:tessera:acr:lightweight";
/// The `acr` of an upgraded sign-in: device key, PIN and a fresh on-device face match.
pub const ACR_UPGRADED: &str = "urn:tessera:acr:upgraded";

/// The `acr` of an age-only showing. Sign-in never asks for it (every claim a relying party
/// can receive needs at least the lightweight tier); named so the mapping stays total.
pub const ACR_AGE_ONLY: &str = "urn:tessera:acr:age_only";

/// The `acr` value of `tier`.
pub fn acr(tier: Tier) -> &'static str {
    match tier {
        Tier::AgeOnly => ACR_AGE_ONLY,
        Tier::Lightweight => ACR_LIGHTWEIGHT,
        Tier::Upgraded => ACR_UPGRADED,
    }
}

/// The tier an `acr` value names.
pub fn tier_of_acr(acr: &str) -> Option<Tier> {
    match acr {
        ACR_LIGHTWEIGHT => Some(Tier::Lightweight),
        ACR_UPGRADED => Some(Tier::Upgraded),
        _ => None,
    }
}

/// The `amr` values (RFC 8176) of a sign-in at `tier`: a software-held device key (`swk`),
/// and for the upgraded tier also the PIN (`pin`) and the face match (`face`), so `mfa`.
pub fn amr(tier: Tier) -> Vec<&'static str> {
    match tier {
        Tier::AgeOnly | Tier::Lightweight => vec!["swk"],
        Tier::Upgraded => vec!["swk", "pin", "face", "mfa"],
    }
}

/// The tier's wire name (`lightweight`, `upgraded`).
pub fn tier_name(tier: Tier) -> &'static str {
    tier.name()
}

/// The tier a wire name names.
pub fn parse_tier(name: &str) -> Option<Tier> {
    match name {
        "lightweight" => Some(Tier::Lightweight),
        "upgraded" => Some(Tier::Upgraded),
        _ => None,
    }
}

/// One claim a relying party can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// `age_over_18`: true when the person is 18 or older on the day of the sign-in.
    #[serde(rename = "age_over_18")]
    AgeOver18,
    /// `masked_name`: the name as the lightweight credential shows it: the first character,
    /// and the last of names of three or more, the rest masked (`李*国`, `王*`).
    MaskedName,
    /// `name` (OIDC Core): the full registered name.
    Name,
    /// `birthdate` (OIDC Core): `YYYY-MM-DD`.
    Birthdate,
    /// `gender` (OIDC Core): `female` or `male`.
    Gender,
    /// `id_number`: the 18-character citizen ID number.
    IdNumber,
}

impl Claim {
    /// Every claim, in the order they are shown.
    pub const ALL: [Claim; 6] = [
        Claim::AgeOver18,
        Claim::MaskedName,
        Claim::Name,
        Claim::Birthdate,
        Claim::Gender,
        Claim::IdNumber,
    ];

    /// The claim's (and its scope's) name.
    pub fn name(self) -> &'static str {
        match self {
            Claim::AgeOver18 => "age_over_18",
            Claim::MaskedName => "masked_name",
            Claim::Name => "name",
            Claim::Birthdate => "birthdate",
            Claim::Gender => "gender",
            Claim::IdNumber => "id_number",
        }
    }

    /// The claim a name names.
    pub fn parse(name: &str) -> Option<Claim> {
        Claim::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The least tier whose credential discloses this claim: a lightweight sign-in can
    /// only share what a lightweight code shows at a desk.
    pub fn tier(self) -> Tier {
        match self {
            Claim::AgeOver18 | Claim::MaskedName => Tier::Lightweight,
            Claim::Name | Claim::Birthdate | Claim::Gender | Claim::IdNumber => Tier::Upgraded,
        }
    }

    /// The claim's description for a person deciding whether to share it.
    pub fn describe(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (Claim::AgeOver18, false) => "Whether you are over 18",
            (Claim::AgeOver18, true) => "是否年满 18 岁",
            (Claim::MaskedName, false) => "Your name with its middle masked (like 李*国)",
            (Claim::MaskedName, true) => "您的脱敏姓名（如 李*国）",
            (Claim::Name, false) => "Your full name",
            (Claim::Name, true) => "您的姓名",
            (Claim::Birthdate, false) => "Your date of birth",
            (Claim::Birthdate, true) => "您的出生日期",
            (Claim::Gender, false) => "Your gender",
            (Claim::Gender, true) => "您的性别",
            (Claim::IdNumber, false) => "Your ID number",
            (Claim::IdNumber, true) => "您的身份证号码",
        }
    }
}

/// What a sign-in that asks for no claim shares, for a person deciding.
pub fn describe_none(chinese: bool) -> &'static str {
    if chinese {
        "仅证明您是已实名登记的真人（使用仅属于本网站的编号）"
    } else {
        "Only that you are a real, enrolled person (under a number for this website alone)"
    }
}

/// Parses a comma- or space-separated claim list (`name,birthdate`); `Err` names the first
/// unknown claim.
pub fn parse_list(text: &str) -> Result<Vec<Claim>, String> {
    let mut out = Vec::new();
    for name in text.split([',', ' ']).filter(|s| !s.is_empty()) {
        let claim = Claim::parse(name).ok_or_else(|| name.to_owned())?;
        if !out.contains(&claim) {
            out.push(claim);
        }
    }
    out.sort();
    Ok(out)
}

/// The claim names joined by commas (the storage form).
pub fn join(claims: &[Claim]) -> String {
    claims
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// The highest tier any of `claims` needs (lightweight for none).
pub fn tier_needed(claims: &[Claim]) -> Tier {
    if claims.iter().any(|c| c.tier() == Tier::Upgraded) {
        Tier::Upgraded
    } else {
        Tier::Lightweight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_named() {
        for c in Claim::ALL {
            assert_eq!(Claim::parse(c.name()), Some(c));
        }
        assert_eq!(
            parse_list("name, birthdate,name"),
            Ok(vec![Claim::Name, Claim::Birthdate])
        );
        assert_eq!(parse_list("name,email"), Err("email".to_owned()));
    }

    #[test]
    fn identifying_claims_need_the_upgraded_tier() {
        assert_eq!(tier_needed(&[Claim::AgeOver18]), Tier::Lightweight);
        assert_eq!(
            tier_needed(&[Claim::AgeOver18, Claim::IdNumber]),
            Tier::Upgraded
        );
        assert_eq!(tier_of_acr(acr(Tier::Upgraded)), Some(Tier::Upgraded));
    }
}
