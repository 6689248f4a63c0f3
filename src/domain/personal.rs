//! Personal data in a question's text (interim detector: long digit runs and e-mail addresses).

/// What kind of personal data a span holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A phone number.
    Phone,
    /// A 16-digit identity number.
    Nik,
    /// An e-mail address.
    Email,
    /// A street address.
    Address,
    /// A vehicle licence plate.
    Plate,
}

/// One piece of personal data: byte offsets into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    pub kind: Kind,
}

/// The personal data in `text`, in order.
pub fn find(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut start = None;
    let mut last_digit = 0;
    let mut digits = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if start.is_none() {
                start = Some(i);
            }
            digits += 1;
            last_digit = i + 1;
        } else if !(start.is_some() && matches!(c, ' ' | '-' | '.' | '+' | '(' | ')')) {
            if let Some(s) = start.take()
                && digits >= 10
            {
                out.push(Span {
                    start: s,
                    end: last_digit,
                    kind: Kind::Phone,
                });
            }
            digits = 0;
        }
    }
    if let Some(s) = start
        && digits >= 10
    {
        out.push(Span {
            start: s,
            end: last_digit,
            kind: Kind::Phone,
        });
    }
    out
}

/// `text` with every span of personal data replaced by `•••`; `None` when there is none.
pub fn mask(text: &str) -> Option<String> {
    let spans = find(text);
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        out.push_str(&text[at..s.start]);
        out.push_str("•••");
        at = s.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}
