//! The identity claims of each tier, carried in the MOSIP Claim 169 (v1.2) map (CWT claim
//! 169). Standard Claim 169 keys are used where one exists; the tier marker, the age flag and
//! the photo digest use keys from the spec's "unassigned, for any other data" range 75..99,
//! as its guidelines allow within a closed ecosystem.

use ciborium::value::Value;
use serde::Serialize;

use crate::cbor::{self, CborError, IntMap, int};

/// CWT claim key of the MOSIP identity-data map.
pub const CLAIM_169: i64 = 169;

mod key {
    pub const ID: i64 = 1;
    pub const FULL_NAME: i64 = 4;
    pub const DATE_OF_BIRTH: i64 = 8;
    pub const GENDER: i64 = 9;
    /// Tessera: the tier this credential belongs to (1 lightweight, 2 upgraded, 3 age only).
    pub const TIER: i64 = 80;
    /// Tessera: the holder was 18 or older when the credential was issued (bool).
    pub const AGE_OVER_18: i64 = 81;
    /// Tessera: SHA-256 of the registry portrait (bstr, 32 bytes).
    pub const PHOTO_SHA256: i64 = 82;
}

/// A presentation tier (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// "An enrolled real person, over 18" and nothing else: no name, no ID number (bars,
    /// shops, ticket gates). Its own tier rather than a view of the lightweight credential,
    /// because a signed credential cannot hide its own claims: what is not in it cannot be
    /// disclosed (docs/format/README.md, "Age only").
    AgeOnly,
    /// "I am a real-named, enrolled person", with the least data.
    Lightweight,
    /// Full registration data, unlocked by PIN and a fresh face match.
    Upgraded,
}

impl Tier {
    /// The wire value.
    pub fn code(self) -> u64 {
        match self {
            Tier::Lightweight => 1,
            Tier::Upgraded => 2,
            Tier::AgeOnly => 3,
        }
    }

    /// From the wire value.
    pub fn from_code(code: u64) -> Option<Tier> {
        match code {
            1 => Some(Tier::Lightweight),
            2 => Some(Tier::Upgraded),
            3 => Some(Tier::AgeOnly),
            _ => None,
        }
    }

    /// The lowercase name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Lightweight => "lightweight",
            Tier::Upgraded => "upgraded",
            Tier::AgeOnly => "age_only",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lightweight" => Ok(Tier::Lightweight),
            "upgraded" => Ok(Tier::Upgraded),
            "age_only" | "age-only" => Ok(Tier::AgeOnly),
            other => Err(format!(
                "unknown tier {other:?}: expected age_only, lightweight or upgraded"
            )),
        }
    }
}

/// Gender as Claim 169 codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Claim 169 code 1.
    Male,
    /// Claim 169 code 2.
    Female,
    /// Claim 169 code 3.
    Other,
}

impl Gender {
    fn code(self) -> u64 {
        match self {
            Gender::Male => 1,
            Gender::Female => 2,
            Gender::Other => 3,
        }
    }
    fn from_code(code: u64) -> Option<Gender> {
        match code {
            1 => Some(Gender::Male),
            2 => Some(Gender::Female),
            3 => Some(Gender::Other),
            _ => None,
        }
    }
}

/// What the lightweight tier discloses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LightweightClaims {
    /// The name with its inner characters masked, e.g. "张*明".
    pub masked_name: String,
    /// The ID number with all but the first 3 and last 2 characters masked.
    pub masked_id_number: String,
    /// Whether the holder was at least 18 when the credential was issued.
    pub age_over_18: bool,
}

/// What the age-only tier discloses: that an enrolled person is over 18, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgeOnlyClaims {
    /// Whether the holder was at least 18 when the credential was issued.
    pub age_over_18: bool,
}

/// What the upgraded tier discloses: the registration data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradedClaims {
    /// The full ID number.
    pub id_number: String,
    /// The full name.
    pub full_name: String,
    /// Date of birth as Claim 169 writes it: `YYYYMMDD`.
    pub date_of_birth: String,
    /// Gender.
    pub gender: Gender,
    /// SHA-256 of the registry portrait, so a desk can check the photo it fetches online.
    #[serde(serialize_with = "crate::serde_hex")]
    pub photo_sha256: [u8; 32],
}

/// The identity claims of one credential, by tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "tier", rename_all = "snake_case")]
pub enum Identity {
    /// Age-only tier claims.
    AgeOnly(AgeOnlyClaims),
    /// Lightweight tier claims.
    Lightweight(LightweightClaims),
    /// Upgraded tier claims.
    Upgraded(UpgradedClaims),
}

impl Identity {
    /// The tier these claims belong to.
    pub fn tier(&self) -> Tier {
        match self {
            Identity::AgeOnly(_) => Tier::AgeOnly,
            Identity::Lightweight(_) => Tier::Lightweight,
            Identity::Upgraded(_) => Tier::Upgraded,
        }
    }

    /// Whether the holder was 18 or older at issue, when the tier says (the upgraded tier
    /// gives the date of birth instead).
    pub fn age_over_18(&self) -> Option<bool> {
        match self {
            Identity::AgeOnly(c) => Some(c.age_over_18),
            Identity::Lightweight(c) => Some(c.age_over_18),
            Identity::Upgraded(_) => None,
        }
    }

    /// Encodes the Claim 169 map.
    pub fn to_claim169(&self) -> Value {
        let t = |s: &str| Value::Text(s.to_owned());
        let entries = match self {
            Identity::AgeOnly(c) => vec![
                (int(key::TIER), cbor::uint(Tier::AgeOnly.code())),
                (int(key::AGE_OVER_18), Value::Bool(c.age_over_18)),
            ],
            Identity::Lightweight(c) => vec![
                (int(key::ID), t(&c.masked_id_number)),
                (int(key::FULL_NAME), t(&c.masked_name)),
                (int(key::TIER), cbor::uint(Tier::Lightweight.code())),
                (int(key::AGE_OVER_18), Value::Bool(c.age_over_18)),
            ],
            Identity::Upgraded(c) => vec![
                (int(key::ID), t(&c.id_number)),
                (int(key::FULL_NAME), t(&c.full_name)),
                (int(key::DATE_OF_BIRTH), t(&c.date_of_birth)),
                (int(key::GENDER), cbor::uint(c.gender.code())),
                (int(key::TIER), cbor::uint(Tier::Upgraded.code())),
                (
                    int(key::PHOTO_SHA256),
                    Value::Bytes(c.photo_sha256.to_vec()),
                ),
            ],
        };
        Value::Map(entries)
    }

    /// Decodes the Claim 169 map. Unknown keys are ignored (other Claim 169 attributes).
    pub fn from_claim169(value: Value) -> Result<Identity, CborError> {
        let mut map = IntMap::new(value, "claim 169")?;
        let tier = Tier::from_code(map.req_u64(key::TIER, "tier marker")?)
            .ok_or(CborError::Invalid("tier marker"))?;
        let age_over_18 = |map: &mut IntMap| match map.req(key::AGE_OVER_18, "age over 18")? {
            Value::Bool(b) => Ok(b),
            _ => Err(CborError::Invalid("age over 18")),
        };
        if tier == Tier::AgeOnly {
            // Nothing that names the person may ride along in an age-only credential.
            if map.take(key::ID).is_some() || map.take(key::FULL_NAME).is_some() {
                return Err(CborError::Invalid(
                    "an age-only credential carries a name or ID",
                ));
            }
            return Ok(Identity::AgeOnly(AgeOnlyClaims {
                age_over_18: age_over_18(&mut map)?,
            }));
        }
        let id = map.req_text(key::ID, "ID")?;
        let name = map.req_text(key::FULL_NAME, "full name")?;
        Ok(match tier {
            // Decoded above; kept so the match stays exhaustive without a panic.
            Tier::AgeOnly => return Err(CborError::Invalid("tier marker")),
            Tier::Lightweight => Identity::Lightweight(LightweightClaims {
                masked_name: name,
                masked_id_number: id,
                age_over_18: age_over_18(&mut map)?,
            }),
            Tier::Upgraded => {
                let date_of_birth = map.req_text(key::DATE_OF_BIRTH, "date of birth")?;
                if !is_yyyymmdd(&date_of_birth) {
                    return Err(CborError::Invalid("date of birth"));
                }
                Identity::Upgraded(UpgradedClaims {
                    id_number: id,
                    full_name: name,
                    date_of_birth,
                    gender: Gender::from_code(map.req_u64(key::GENDER, "gender")?)
                        .ok_or(CborError::Invalid("gender"))?,
                    photo_sha256: cbor::as_array(
                        map.req(key::PHOTO_SHA256, "photo digest")?,
                        "photo digest",
                    )?,
                })
            }
        })
    }
}

fn is_yyyymmdd(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let month = (b[4] - b'0') * 10 + (b[5] - b'0');
    let day = (b[6] - b'0') * 10 + (b[7] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Masks a name for the lightweight tier: keeps the first and (for three or more characters)
/// the last character, masking the rest: "张三明" → "张*明", "李四" → "李*", "欧阳小明" → "欧**明".
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::new();
            out.push(chars[0]);
            out.extend(std::iter::repeat_n('*', n - 2));
            out.push(chars[n - 1]);
            out
        }
    }
}

/// Masks an ID number for the lightweight tier: the first 3 and last 2 characters stay.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    let n = chars.len();
    if n <= 5 {
        return "*".repeat(n);
    }
    let mut out: String = chars[..3].iter().collect();
    out.extend(std::iter::repeat_n('*', n - 5));
    out.extend(&chars[n - 2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_names_of_every_length() {
        assert_eq!(mask_name("张三明"), "张*明");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn masks_id_numbers_keeping_three_and_two() {
        assert_eq!(mask_id_number("11010519491231002X"), "110*************2X");
        assert_eq!(mask_id_number("12345"), "*****");
    }

    #[test]
    fn upgraded_claims_round_trip() {
        let id = Identity::Upgraded(UpgradedClaims {
            id_number: "11010519491231002X".into(),
            full_name: "张三明".into(),
            date_of_birth: "19491231".into(),
            gender: Gender::Female,
            photo_sha256: [7; 32],
        });
        let back = Identity::from_claim169(id.to_claim169()).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn age_only_claims_round_trip_and_carry_nothing_else() {
        let id = Identity::AgeOnly(AgeOnlyClaims { age_over_18: true });
        let value = id.to_claim169();
        let Value::Map(entries) = &value else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 2, "tier marker and age flag only");
        assert_eq!(Identity::from_claim169(value).unwrap(), id);
        // An age-only marker on a map that also names the person is refused.
        let mut named = id.to_claim169();
        if let Value::Map(m) = &mut named {
            m.push((int(key::FULL_NAME), Value::Text("张*明".into())));
        }
        assert!(Identity::from_claim169(named).is_err());
        assert_eq!("age_only".parse::<Tier>(), Ok(Tier::AgeOnly));
        assert!(Tier::AgeOnly < Tier::Lightweight && Tier::Lightweight < Tier::Upgraded);
    }

    #[test]
    fn rejects_a_bad_date_of_birth() {
        let mut v = Identity::Upgraded(UpgradedClaims {
            id_number: "1".into(),
            full_name: "a".into(),
            date_of_birth: "19491231".into(),
            gender: Gender::Male,
            photo_sha256: [0; 32],
        })
        .to_claim169();
        if let Value::Map(m) = &mut v {
            m[2].1 = Value::Text("1949-12-31".into());
        }
        assert_eq!(
            Identity::from_claim169(v),
            Err(CborError::Invalid("date of birth"))
        );
    }
}
