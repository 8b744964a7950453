//! Which new PINs are refused as too easy to guess. The PIN guards the upgraded tier together
//! with the face; an attacker holding the phone tries the popular PINs first, and the back-off
//! ([`crate::pin::backoff`]) allows three free tries, so a PIN among the first few guesses
//! is worth little. Refused: one digit six times, a run up or down the digits (also wrapping
//! past 9, as 890123: the same finger movement), a group of one to three digits repeated
//! (121212, 123123), the holder's birth date from the credential (YYMMDD, MMDDYY, DDMMYY),
//! and the [`COMMON`] list.

use tessera_credential::claims::Identity;
use tessera_credential::credential::Credential;

use crate::vault::Vault;

/// Why a new PIN was refused. The names are stable (the app translates them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPin {
    /// 000000, 777777.
    #[error("the PIN is one digit repeated: choose six digits that are not all the same")]
    SameDigit,
    /// 123456, 654321, 890123.
    #[error("the PIN is a run of digits (like 123456 or 654321): choose digits in no order")]
    Sequence,
    /// 121212, 123123.
    #[error(
        "the PIN repeats a short group of digits (like 121212 or 123123): choose six digits without a pattern"
    )]
    Repeated,
    /// The birth date in the credential.
    #[error(
        "the PIN is your date of birth, which is printed on your ID: choose digits that mean nothing about you"
    )]
    BirthDate,
    /// On the list of PINs people choose most.
    #[error("the PIN is one of the PINs people choose most often: choose a less common one")]
    Common,
}

impl WeakPin {
    /// A stable name for the reason (`same_digit`, `sequence`, `repeated`, `birth_date`,
    /// `common`).
    pub fn name(self) -> &'static str {
        match self {
            WeakPin::SameDigit => "same_digit",
            WeakPin::Sequence => "sequence",
            WeakPin::Repeated => "repeated",
            WeakPin::BirthDate => "birth_date",
            WeakPin::Common => "common",
        }
    }
}

/// Six-digit PINs that people choose most often, as reported by the published analyses of
/// leaked numeric passwords: Ding Wang, Qianchen Gu, Xinyi Huang and Ping Wang,
/// "Understanding Human-Chosen PINs: Characteristics, Distribution and Security", ACM ASIA
/// CCS 2017 (doi:10.1145/3052973.3053031; 6-digit PINs from Chinese and English leaks,
/// whose most popular entries are dates, runs, repeats, keypad shapes and "love" numbers
/// such as 520520 and 521521), and Nick Berry, "PIN analysis", DataGenetics, 2012 (six-digit
/// favourites such as 696969, 159753 and 007007). A short deny list of well-known entries,
/// not those papers' full tables; runs, repeats and one-digit PINs are refused by rule and
/// are not repeated here.
pub const COMMON: &[&str] = &[
    // Keypad shapes (rows, columns, diagonals, crosses: 1-2-3 on top, as on a phone);
    // mirrored, paired and counted digits; "love" and lucky numbers in the Chinese leaks
    // (520 = "I love you", 1314 = "for life"; 520520, 168168 and the like are repeats).
    "147258", "258369", "369258", "789456", "456123", "741852", "852963", "963852", "147369",
    "159753", "357159", "159357", "123321", "321123", "112233", "332211", "111222", "222111",
    "123654", "102030", "112358", "520131", "201314", "666888", "888666", "888999",
];

fn digits(pin: &str) -> Vec<u8> {
    pin.bytes().map(|b| b.wrapping_sub(b'0')).collect()
}

/// Whether each digit is the one before plus `step` (mod 10).
fn is_run(d: &[u8], step: u8) -> bool {
    d.windows(2).all(|w| (w[0] + step) % 10 == w[1])
}

/// The birth date as the three six-digit forms people use, from `YYYYMMDD`.
fn date_forms(yyyymmdd: &str) -> Option<[String; 3]> {
    if yyyymmdd.len() != 8 || !yyyymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (yy, mm, dd) = (&yyyymmdd[2..4], &yyyymmdd[4..6], &yyyymmdd[6..8]);
    Some([
        format!("{yy}{mm}{dd}"),
        format!("{mm}{dd}{yy}"),
        format!("{dd}{mm}{yy}"),
    ])
}

/// Checks a new 6-digit PIN (the format is checked by the caller) against the rules above;
/// `birth_date` is the holder's, `YYYYMMDD`, when the wallet holds a credential.
pub fn check(pin: &str, birth_date: Option<&str>) -> Result<(), WeakPin> {
    let d = digits(pin);
    if d.iter().all(|&x| x == d[0]) {
        return Err(WeakPin::SameDigit);
    }
    if is_run(&d, 1) || is_run(&d, 9) {
        return Err(WeakPin::Sequence);
    }
    if [2, 3].iter().any(|&n| d.chunks(n).all(|c| c == &d[..n])) {
        return Err(WeakPin::Repeated);
    }
    if birth_date
        .and_then(date_forms)
        .is_some_and(|forms| forms.iter().any(|f| f == pin))
    {
        return Err(WeakPin::BirthDate);
    }
    if COMMON.contains(&pin) {
        return Err(WeakPin::Common);
    }
    Ok(())
}

/// The holder's birth date (`YYYYMMDD`) from the upgraded credential in `vault`, if any.
pub fn birth_date(vault: &Vault) -> Option<String> {
    let credential = Credential::from_bytes(&vault.batch.as_ref()?.upgraded).ok()?;
    match &credential.claims.identity {
        Identity::Upgraded(c) => Some(c.date_of_birth.clone()),
        Identity::Lightweight(_) | Identity::AgeOnly(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_pins_are_refused_with_their_reason() {
        for p in ["000000", "111111", "999999"] {
            assert_eq!(check(p, None), Err(WeakPin::SameDigit), "{p}");
        }
        for p in [
            "123456", "654321", "012345", "987654", "890123", "901234", "210987",
        ] {
            assert_eq!(check(p, None), Err(WeakPin::Sequence), "{p}");
        }
        for p in ["121212", "123123", "909090", "520520", "696969", "007007"] {
            assert_eq!(check(p, None), Err(WeakPin::Repeated), "{p}");
        }
        for p in ["147258", "159753", "112233", "520131"] {
            assert_eq!(check(p, None), Err(WeakPin::Common), "{p}");
        }
        // 1961-08-04 as YYMMDD, MMDDYY and DDMMYY; another date is not this person's.
        for p in ["610804", "080461", "040861"] {
            assert_eq!(check(p, Some("19610804")), Err(WeakPin::BirthDate), "{p}");
            assert_eq!(check(p, None), Ok(()), "{p}");
        }
        assert_eq!(check("610805", Some("19610804")), Ok(()));
        for p in ["246810", "135790", "258036", "802417", "123465"] {
            assert_eq!(check(p, Some("19610804")), Ok(()), "{p}");
        }
        // Every entry of the list is 6 digits and not already refused by a rule.
        for p in COMMON {
            assert!(p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()), "{p}");
            assert_eq!(check(p, None), Err(WeakPin::Common), "{p}");
        }
    }

    #[test]
    fn the_birth_date_comes_from_the_upgraded_credential() {
        let w = tessera_vectors::Wallet::standard();
        let mut v = Vault::default();
        assert_eq!(birth_date(&v), None);
        v.batch = Some(crate::vault::StoredBatch {
            enrolment_id: String::new(),
            issued_at: 0,
            expires_at: 0,
            lightweight: w.lightweight.to_tagged_bytes(),
            upgraded: w.upgraded.to_tagged_bytes(),
        });
        let dob = birth_date(&v).expect("the upgraded credential carries it");
        assert_eq!(dob.len(), 8);
        let yymmdd = format!("{}{}", &dob[2..4], &dob[4..8]);
        assert_eq!(check(&yymmdd, Some(&dob)), Err(WeakPin::BirthDate));
    }
}
