//! The 18-character PRC resident identity number (GB 11643-1999) and civil dates.
//!
//! Layout: 6-digit region code, 8-digit birth date `YYYYMMDD`, 3-digit sequence (odd for
//! men, even for women), and an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).

/// Why an ID number is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 18 characters.
    #[error("an ID number has 18 characters, this one has {0}")]
    Length(usize),
    /// A character other than digits (and a final X).
    #[error("an ID number is 17 digits followed by a digit or X")]
    Characters,
    /// The embedded birth date is not a date.
    #[error("characters 7–14 are not a valid birth date")]
    BirthDate,
    /// The check character does not match.
    #[error("the check character is wrong (expected {expected}): a typing mistake?")]
    CheckDigit {
        /// The correct check character.
        expected: char,
    },
}

/// The check character for the first 17 digits (ISO 7064 MOD 11-2).
pub fn check_character(first17: &[u8]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CODES: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CODES[(sum % 11) as usize]
}

/// A validated ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    text: String,
}

impl IdNumber {
    /// Validates `text` (a lowercase final `x` is accepted and normalised).
    pub fn parse(text: &str) -> Result<IdNumber, IdNumberError> {
        let text = text.trim().to_ascii_uppercase();
        let n = text.chars().count();
        if n != 18 {
            return Err(IdNumberError::Length(n));
        }
        let b = text.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdNumberError::Characters);
        }
        let dob = &text[6..14];
        if CivilDate::parse_compact(dob).is_none() {
            return Err(IdNumberError::BirthDate);
        }
        let expected = check_character(&b[..17]);
        if char::from(b[17]) != expected {
            return Err(IdNumberError::CheckDigit { expected });
        }
        Ok(IdNumber { text })
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The embedded birth date.
    pub fn birth_date(&self) -> CivilDate {
        // Checked in `parse`.
        CivilDate::parse_compact(&self.text[6..14]).unwrap_or(CivilDate {
            year: 1970,
            month: 1,
            day: 1,
        })
    }

    /// `true` for an odd sequence number (male), `false` for even (female).
    pub fn is_male(&self) -> bool {
        (self.text.as_bytes()[16] - b'0') % 2 == 1
    }
}

/// A proleptic Gregorian date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilDate {
    /// Year.
    pub year: i32,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
}

impl CivilDate {
    /// `YYYY-MM-DD`.
    pub fn parse_iso(text: &str) -> Option<CivilDate> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        CivilDate::parse_compact(&format!("{}{}{}", &text[..4], &text[5..7], &text[8..]))
    }

    /// `YYYYMMDD`.
    pub fn parse_compact(text: &str) -> Option<CivilDate> {
        if text.len() != 8 || !text.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let d = CivilDate {
            year: text[..4].parse().ok()?,
            month: text[4..6].parse().ok()?,
            day: text[6..].parse().ok()?,
        };
        (d.year >= 1850 && (1..=12).contains(&d.month) && d.day >= 1 && d.day <= d.month_len())
            .then_some(d)
    }

    fn month_len(&self) -> u32 {
        match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0 => 29,
            _ => 28,
        }
    }

    /// `YYYYMMDD`, as Claim 169 writes dates.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// The UTC date of a Unix time.
    pub fn from_unix(secs: u64) -> CivilDate {
        // Howard Hinnant's civil_from_days.
        let z = (secs / 86_400) as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        CivilDate { year, month, day }
    }

    /// Whole years of age on `today`.
    pub fn age_on(&self, today: CivilDate) -> i32 {
        let had_birthday = (today.month, today.day) >= (self.month, self.day);
        today.year - self.year - i32::from(!had_birthday)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_parse_with_sex_and_birth_date() {
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(!id.is_male());
        assert_eq!(id.birth_date().compact(), "19491231");
        let id = IdNumber::parse("110101199003071516").unwrap();
        assert!(id.is_male());
    }

    #[test]
    fn invalid_numbers_say_why() {
        assert_eq!(IdNumber::parse("1234"), Err(IdNumberError::Length(4)));
        assert_eq!(
            IdNumber::parse("1101051949123100AX"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("110105194913310021"),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::CheckDigit { expected: 'X' })
        );
        // Every single-digit typo in a valid number is caught by the check character.
        let good = "110101199003071516";
        for i in 0..17 {
            for d in b'0'..=b'9' {
                let mut b = good.as_bytes().to_vec();
                if b[i] == d {
                    continue;
                }
                b[i] = d;
                let s = String::from_utf8(b).unwrap();
                assert!(IdNumber::parse(&s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn dates_and_ages() {
        assert_eq!(CivilDate::from_unix(0).compact(), "19700101");
        assert_eq!(CivilDate::from_unix(951_782_400).compact(), "20000229");
        assert_eq!(CivilDate::from_unix(1_795_608_000).compact(), "20261125");
        assert!(CivilDate::parse_iso("2023-02-29").is_none());
        assert!(CivilDate::parse_iso("2024-02-29").is_some());
        assert!(CivilDate::parse_iso("2024/02/29").is_none());
        let born = CivilDate::parse_iso("2008-11-26").unwrap();
        assert_eq!(born.age_on(CivilDate::parse_iso("2026-11-25").unwrap()), 17);
        assert_eq!(born.age_on(CivilDate::parse_iso("2026-11-26").unwrap()), 18);
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_an_answer_not_a_panic(text in "\\PC{0,30}", digits in "[0-9]{17}[0-9X]") {
            let _ = IdNumber::parse(&text);
            let _ = CivilDate::parse_iso(&text);
            let _ = CivilDate::parse_compact(&text);
            if let Ok(id) = IdNumber::parse(&digits) {
                // A valid number's check character is the computed one, and its parts read.
                proptest::prop_assert_eq!(
                    char::from(digits.as_bytes()[17]),
                    check_character(&digits.as_bytes()[..17])
                );
                let _ = (id.birth_date(), id.is_male());
            }
        }

        #[test]
        fn every_unix_time_has_a_date(secs in proptest::num::u64::ANY) {
            let _ = CivilDate::from_unix(secs);
        }
    }
}
