//! Names an operator gives (verifiers, relying parties) and that people later read in lists,
//! audit records or a consent screen.

/// Whether `name` is a name people can read as stored: 1–100 bytes, no leading or trailing
/// spaces, no control characters, and none of the invisible formatting characters
/// (bidirectional overrides, zero-width) that would make a list, an audit record or a
/// consent screen show something other than what is stored.
pub fn valid_display_name(name: &str) -> bool {
    let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{061C}' | '\u{00AD}');
    !name.is_empty()
        && name.len() <= 100
        && name == name.trim()
        && !name.chars().any(|c| c.is_control() || invisible(c))
}
