//! Automatic hints for moderators: profanity (from a word list) and personal data.

use std::collections::HashSet;

use super::personal;

/// Flags a question's text. Built once at start from the configured word list.
#[derive(Debug, Clone, Default)]
pub struct Flagger {
    /// Lower-case words that mark a text as `profanity`.
    words: HashSet<String>,
}

impl Flagger {
    /// A flagger from a word list: one word per line, `#` starts a comment.
    pub fn from_list(list: &str) -> Self {
        let words = list
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        Self { words }
    }

    /// The flags of a text, in a fixed order.
    pub fn flags(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let lower = text.to_lowercase();
        let profane = lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| !w.is_empty() && self.words.contains(w));
        if profane {
            out.push("profanity".to_string());
        }
        if has_personal_data(text) {
            out.push("personal_data".to_string());
        }
        out
    }
}

/// Any personal data found by [`personal::find`]: a phone number, a NIK, an e-mail address,
/// a street address or RT/RW, a licence plate.
fn has_personal_data(text: &str) -> bool {
    !personal::find(text).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_words_and_personal_data() {
        let f = Flagger::from_list("# comment\nBangsat\nanjing # dog, as an insult\n");
        assert_eq!(f.flags("Pak, jalan rusak!"), Vec::<String>::new());
        assert_eq!(f.flags("dasar ANJING!"), vec!["profanity"]);
        assert_eq!(f.flags("hubungi 0812-3456-7890"), vec!["personal_data"]);
        assert_eq!(f.flags("NIK 1671012345678901"), vec!["personal_data"]);
        assert_eq!(f.flags("email budi@contoh.id ya"), vec!["personal_data"]);
        assert_eq!(f.flags("tahun 2024 ada 3 RT"), Vec::<String>::new());
        assert_eq!(f.flags("rumah di Jl. Mawar No. 5"), vec!["personal_data"]);
        assert_eq!(f.flags("warga RT 05 RW 03"), vec!["personal_data"]);
        assert_eq!(f.flags("mobil BG 1234 AB parkir"), vec!["personal_data"]);
        assert_eq!(f.flags("dana Rp 1.500.000.000"), Vec::<String>::new());
        assert_eq!(f.flags("banjir di Kelurahan Sekip"), Vec::<String>::new());
        assert_eq!(
            f.flags("bangsat 081234567890"),
            vec!["profanity", "personal_data"]
        );
    }
}
