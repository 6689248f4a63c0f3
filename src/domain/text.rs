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
    /// A question's short text for air (`air_text`); empty clears it.
    pub const AIR_TEXT: (usize, usize) = (0, 120);
    /// A backstage message to the speaker screen (`message`); empty clears it.
    pub const MESSAGE: (usize, usize) = (0, 100);
    /// A client's `ref`: counted as sent, not trimmed or normalized.
    pub const REF: (usize, usize) = (1, 100);
}

/// Cleans, trims white space and normalizes to NFC: the stored form of every text field.
pub fn normalize(s: &str) -> String {
    let cleaned = clean(s);
    let nfc: String = cleaned.trim().nfc().collect();
    // NFC can expose white space that combining marks hid; trim again (cheap when nothing changes).
    if nfc.trim().len() == nfc.len() {
        nfc
    } else {
        nfc.trim().to_string()
    }
}

/// Whether `c` is drawn as an emoji (or is part of one: a skin tone, a keycap): the
/// characters a zero-width joiner may join.
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF // pictographs, emoticons, transport, flags' letters, skin tones
        | 0x2600..=0x27BF // miscellaneous symbols, dingbats
        | 0x2300..=0x23FF // technical (watch, hourglass)
        | 0x2B00..=0x2BFF // arrows and stars
        | 0x2190..=0x21FF // arrows
        | 0x20E3 // combining keycap
        | 0xFE0F // emoji presentation selector
    )
}

/// Removes what a person cannot see or that reorders what others see: C0 and C1 control
/// characters (a line break is kept as `\n`, whatever its form: CR LF, CR, NEL, U+2028,
/// U+2029; a tab, vertical tab or form feed becomes a space), bidirectional
/// overrides, embeddings, isolates and marks, and zero-width characters. A zero-width joiner
/// is kept between two emoji (it makes one emoji of them), and tag characters after an emoji
/// (a regional flag's sequence). Runs before length checks and flags.
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    let needs = s.chars().any(|c| {
        let u = c as u32;
        (u < 0x20 && u != 0x0A)
            || (0x7F..=0x9F).contains(&u)
            || matches!(
                u,
                0xAD | 0x61C | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F
                    | 0xFEFF | 0xE0000..=0xE007F
            )
    });
    if !needs {
        return std::borrow::Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut last_kept: Option<char> = None;
    for (i, &c) in chars.iter().enumerate() {
        let keep = match c as u32 {
            0x0A => Some('\n'),
            0x0D if chars.get(i + 1) == Some(&'\n') => None,
            0x0D | 0x85 | 0x2028 | 0x2029 => Some('\n'),
            0x09 | 0x0B | 0x0C => Some(' '),
            0x00..=0x1F | 0x7F..=0x9F => None,
            0x200D => {
                let next = chars.get(i + 1).copied();
                (last_kept.is_some_and(is_emoji) && next.is_some_and(is_emoji)).then_some(c)
            }
            0xE0020..=0xE007F => last_kept
                .is_some_and(|p| is_emoji(p) || (0xE0020..=0xE007F).contains(&(p as u32)))
                .then_some(c),
            0xAD
            | 0x61C
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0xFEFF
            | 0xE0000..=0xE001F => None,
            _ => Some(c),
        };
        if let Some(k) = keep {
            out.push(k);
            last_kept = Some(k);
        }
    }
    std::borrow::Cow::Owned(out)
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
    fn cleans_controls_bidi_and_zero_width_but_keeps_emoji_sequences() {
        // Line breaks stay (as `\n`), tabs become spaces, other controls go.
        assert_eq!(
            normalize("Jalan\r\nrusak\tparah\rsekali"),
            "Jalan\nrusak parah\nsekali"
        );
        assert_eq!(normalize("a\u{0}b\u{7}c\u{7f}d\u{85}e\u{9b}f"), "abcd\nef");
        assert!(matches!(
            clean("baris\nkedua"),
            std::borrow::Cow::Borrowed(_)
        ));
        // Bidi overrides, embeddings, isolates and marks.
        assert_eq!(
            normalize("\u{202E}gnp.exe\u{202C} \u{2067}x\u{2069}\u{200F}\u{61C}"),
            "gnp.exe x"
        );
        // Zero-width characters, a soft hyphen, a byte order mark.
        assert_eq!(
            normalize("an\u{200B}jing \u{FEFF}ba\u{AD}bi\u{2060}\u{200C}"),
            "anjing babi"
        );
        // A ZWJ between two emoji stays (one emoji); anywhere else it goes.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(normalize(family), family);
        let rainbow_flag = "\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}";
        assert_eq!(normalize(rainbow_flag), rainbow_flag);
        assert_eq!(normalize("a\u{200D}b \u{1F600}\u{200D}"), "ab \u{1F600}");
        // A subdivision flag keeps its tag characters; tags elsewhere go.
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        assert_eq!(normalize(scotland), scotland);
        assert_eq!(normalize("x\u{E0067}\u{E007F}"), "x");
        // Only invisible characters: empty, so `text` is refused as empty.
        assert!(checked("text", "\u{200B}\u{202E}\u{0}", limits::TEXT).is_err());
        // Counted after cleaning.
        let padded = format!("{}{}", "a".repeat(300), "\u{200B}".repeat(50));
        assert!(checked("text", &padded, limits::TEXT).is_ok());
        // Plain text is not copied.
        assert!(matches!(
            clean("Halo, Pak Wali!"),
            std::borrow::Cow::Borrowed(_)
        ));
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
