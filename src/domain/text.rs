//! Text rules of the contract (docs/protocol.md, "Limits"): trim, NFC, count Unicode scalar values.

use unicode_normalization::UnicodeNormalization;

/// Length limits of the contract (docs/protocol.md), in Unicode scalar values after trimming and NFC.
pub mod limits {
    /// A question's `text` (`ask`, `edit`, `enter`).
    pub const TEXT: (usize, usize) = (1, 300);
    /// An asker's `name`; empty is anonymous.
    pub const NAME: (usize, usize) = (0, 60);
    /// A journalist's `outlet`; empty is none.
    pub const OUTLET: (usize, usize) = (0, 100);
    /// A rejection `reason`; empty is none.
    pub const REASON: (usize, usize) = (0, 200);
    /// A session `title`.
    pub const TITLE: (usize, usize) = (1, 200);
    /// Each of a speaker's `id`, `name` and `role`.
    pub const SPEAKER_FIELD: (usize, usize) = (1, 100);
    /// The most speakers a session may have.
    pub const SPEAKERS: usize = 20;
    /// A client's `ref`: counted as sent, not trimmed or normalized.
    pub const REF: (usize, usize) = (1, 100);
}

/// Trims white space and normalizes to NFC: the stored form of every text field.
pub fn normalize(s: &str) -> String {
    let nfc: String = s.trim().nfc().collect();
    // NFC can expose white space that combining marks hid; trim again (cheap when nothing changes).
    if nfc.trim().len() == nfc.len() {
        nfc
    } else {
        nfc.trim().to_string()
    }
}

/// Why a text field was refused; the message names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalizes `raw` and checks its length against `(min, max)`.
pub fn checked(field: &str, raw: &str, (min, max): (usize, usize)) -> Result<String, FieldError> {
    let s = normalize(raw);
    let n = s.chars().count();
    if n < min {
        return Err(FieldError(if min == 1 {
            format!("`{field}` must not be empty")
        } else {
            format!("`{field}` must have at least {min} characters")
        }));
    }
    if n > max {
        return Err(FieldError(format!(
            "`{field}` is too long: {n} characters, at most {max}"
        )));
    }
    Ok(s)
}

/// Like [`checked`], but an empty result means "absent" (`None`).
pub fn optional(
    field: &str,
    raw: &str,
    limit: (usize, usize),
) -> Result<Option<String>, FieldError> {
    let s = checked(field, raw, limit)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// Checks a `ref`: compared exactly, only its length is counted.
pub fn check_ref(raw: &str) -> Result<(), FieldError> {
    let n = raw.chars().count();
    let (min, max) = limits::REF;
    if n < min || n > max {
        return Err(FieldError(format!(
            "`ref` must be a string of {min} to {max} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_composes() {
        // "e" + combining acute becomes one scalar value.
        assert_eq!(normalize("  Cafe\u{301} \n"), "Caf\u{e9}");
        assert_eq!(checked("text", "  a ", limits::TEXT).as_deref(), Ok("a"));
    }

    #[test]
    fn counts_scalar_values_not_bytes() {
        let s = "é".repeat(300);
        assert!(checked("text", &s, limits::TEXT).is_ok());
        let s = "é".repeat(301);
        let e = checked("text", &s, limits::TEXT).unwrap_err();
        assert!(e.0.contains("`text`") && e.0.contains("301"), "{e}");
    }

    #[test]
    fn empty_rules() {
        assert!(checked("text", "   ", limits::TEXT).is_err());
        assert_eq!(optional("name", "  ", limits::NAME), Ok(None));
        assert_eq!(
            optional("name", " Budi ", limits::NAME),
            Ok(Some("Budi".into()))
        );
        assert!(check_ref("").is_err());
        assert!(check_ref(&"x".repeat(101)).is_err());
        assert!(check_ref(" x ").is_ok());
    }
}
