//! Personal data in Indonesian text: where it is ([`find`]) and the text with it hidden
//! ([`mask`]). Pure: no I/O, no clock; one token list and the result are the only allocations.
//!
//! # What is found
//! - [`Kind::Phone`]: a number that starts like an Indonesian phone number (`0` and an area or
//!   mobile prefix `02`-`09` in a first group of at least three digits, `+62`, or `62` followed by
//!   a mobile `8`), written with spaces, dots, dashes or parentheses between digit groups, with 9
//!   to 14 digits in all (11 to 14 for a bare `62…`). `0812-3456-7890`, `(0711) 354 123`,
//!   `+62 812 3456 7890`, `6281234567890`.
//! - [`Kind::Nik`]: 16 digits, contiguous or in groups (`1671 0123 4567 8901`, `167104 150880
//!   0007`), whose first two digits are a province code (11 to 97): a NIK or a family card (KK)
//!   number. Also, right after an identity word (NIK, KTP, KK, BPJS, NPWP, NISN, NIP, SIM, KIS,
//!   paspor, rekening), any number of 10 or more digits.
//! - [`Kind::Email`]: `local@domain.tld` with an alphabetic top-level domain.
//! - [`Kind::Address`]: a street (`Jl.`, `Jln.`, `Jalan`, `Gg.`, `Gang`, `Lr.`, `Lorong`,
//!   `Blok`), a name of at most five words, then `No.`/`Nomor` and a house number
//!   (`Jl. Merdeka No. 12`, `Jalan Kol. Atmo Nomor 45`, `Gg. Melati No.3`, `No. 7B`, `No. 102/3`);
//!   and an RT number together with an RW number (`RT 05 RW 03`, `RT/RW 005/003`,
//!   `RT.05/RW.03`, `RT 05/03`, `RW 03 RT 05`).
//! - [`Kind::Plate`]: a vehicle registration: an Indonesian region code of one or two letters,
//!   1 to 4 digits (not starting with 0), and a suffix of 1 to 3 letters (`BG 1234 AB`,
//!   `B 1234 XYZ`, `BG1234AB`). Written in capitals, with at least three digits and a suffix;
//!   after a vehicle word (plat, nopol, mobil, motor, truk, …) also in lower case, with fewer
//!   digits or without a suffix (`nopol bg 9088 ae`, `mobil pejabat BG 1 A`).
//!
//! # What is not
//! Rupiah amounts (thousands separators, `Rp`, decimal commas), dates and times (`12-05-2024
//! 10.30`, `12/05/2024`, `pukul 08.00`), years and year ranges, percentages, counts (`3 RT`,
//! `200 KK`), regulation numbers (`Perda No. 5 Tahun 2020`: a `No.` followed by `Tahun` is never
//! a house number, and a street name stops at a regulation word), road names without a house
//! number (`Jalan Sudirman macet`), `KM 12`, and capitalised words or acronyms. A kelurahan or
//! kecamatan name is public content: it is never found on its own and never masked. Next to a
//! street or an RT/RW it stays visible too, because the street and number or the RT/RW numbers
//! already carry the personal part.
//!
//! # Masking
//! [`mask`] replaces each span with [`MASK`] and keeps every other byte. Spans cover the personal
//! part only: a whole phone number, NIK, e-mail address or plate; for a street, the name and the
//! house number after the street word (`Jl. Merdeka No. 12` becomes `Jl. •••`); for RT/RW, each
//! of the two numbers (`RT 05 RW 03` becomes `RT ••• RW •••`). A short number right after a
//! phone number is taken as its last group and masked with it (`0812 345 678 90`), so a count
//! after it may be masked too (`… 7890 2 kali`): leaking digits would be worse.
//!
//! # Non-goals
//! Names of people, numbers spelled out in words or with non-ASCII digits, obfuscated e-mail
//! (`budi at gmail dot com`), addresses without `No.` (`Jl. Merdeka 12`) or without a street
//! word, foreign phone numbers, and checking that a NIK's birth date is a real date. The
//! detector is a hint for moderators and a mask for public views, not a guarantee.

/// What a [`Span`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An Indonesian phone number, mobile or landline.
    Phone,
    /// A 16-digit NIK or KK number, or an identity or account number after its name.
    Nik,
    /// An e-mail address.
    Email,
    /// A street name with its house number, or an RT or RW number of an RT/RW pair.
    Address,
    /// A vehicle licence plate.
    Plate,
}

impl Kind {
    /// The kind's name: `phone`, `nik`, `email`, `address` or `plate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Nik => "nik",
            Kind::Email => "email",
            Kind::Address => "address",
            Kind::Plate => "plate",
        }
    }
}

/// Where personal data is in a text: byte offsets `start..end`, on char boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte of the span.
    pub start: usize,
    /// One past the last byte of the span.
    pub end: usize,
    /// What the span holds.
    pub kind: Kind,
}

/// What [`mask`] puts in place of each span: three U+2022 bullets.
pub const MASK: &str = "\u{2022}\u{2022}\u{2022}";

/// The personal data in `text`: sorted, non-overlapping spans on char boundaries.
pub fn find(text: &str) -> Vec<Span> {
    let mut found = Vec::new();
    emails(text, &mut found);
    // Every other kind holds a digit.
    if text.bytes().any(|b| b.is_ascii_digit()) {
        let toks = tokenize(text);
        let cx = Cx { text, toks: &toks };
        cx.numbers(&mut found);
        cx.streets(&mut found);
        cx.rt_rw(&mut found);
        cx.plates(&mut found);
    }
    resolve(found)
}

/// `text` with every span of [`find`] replaced by [`MASK`], or `None` when there is none.
pub fn mask(text: &str) -> Option<String> {
    let spans = find(text);
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + spans.len() * MASK.len());
    let mut at = 0;
    for s in &spans {
        out.push_str(&text[at..s.start]);
        out.push_str(MASK);
        at = s.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// Sorts by start (longest first on a tie) and drops every span that overlaps an earlier one.
fn resolve(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        if out.last().is_none_or(|l| s.start >= l.end) {
            out.push(s);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Word lists (compared ignoring ASCII case)
// ---------------------------------------------------------------------------------------------

/// Words that start a street.
const STREET: &[&str] = &[
    "jl", "jln", "jalan", "gg", "gang", "lr", "lrg", "lorong", "blok",
];
/// Words for "number" before a house number.
const NUMBER_WORD: &[&str] = &["no", "nomor", "nomer", "nmr"];
/// Words that end a street name: a regulation is being cited, not an address.
const REGULATION: &[&str] = &[
    "perda",
    "perwali",
    "perwako",
    "perbup",
    "pergub",
    "perpres",
    "permen",
    "pp",
    "uu",
    "undang",
    "peraturan",
    "keputusan",
    "kepmen",
    "sk",
    "surat",
    "instruksi",
    "inpres",
    "edaran",
];
/// Function words that never belong to a street name: the street word was the common noun.
const NOT_NAME: &[&str] = &[
    "di", "ke", "dari", "yang", "dan", "atau", "sudah", "belum", "tidak", "ada", "sejak", "karena",
    "untuk", "sampai", "dengan", "tiap", "setiap",
];
/// Words after a house-like number that make it a regulation's year.
const YEAR_WORD: &[&str] = &["tahun", "thn", "th"];
/// Words after which a long number is an identity or account number.
const ID_WORD: &[&str] = &[
    "nik", "ktp", "kk", "bpjs", "npwp", "nisn", "nip", "sim", "kis", "paspor", "rekening", "rek",
];
/// Words after which letters and digits are a plate even in lower case or without a suffix.
const VEHICLE_WORD: &[&str] = &[
    "plat",
    "pelat",
    "nopol",
    "polisi",
    "tnkb",
    "kendaraan",
    "mobil",
    "motor",
    "truk",
    "angkot",
    "bus",
    "taksi",
];
/// Indonesian registration region codes.
const REGION: &[&str] = &[
    "A", "B", "D", "E", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S", "T", "W", "Z", "AA",
    "AB", "AD", "AE", "AG", "BA", "BB", "BD", "BE", "BG", "BH", "BK", "BL", "BM", "BN", "BP", "DA",
    "DB", "DC", "DD", "DE", "DG", "DH", "DK", "DL", "DM", "DN", "DP", "DR", "DS", "DT", "DW", "EA",
    "EB", "ED", "KB", "KH", "KT", "KU", "PA", "PB",
];
/// Short words that are not a plate's suffix.
const NOT_SUFFIX: &[&str] = &[
    "rt", "rw", "km", "kk", "wib", "wit", "wita", "di", "ke", "dan", "yg", "ini", "itu", "ada",
    "jam", "rp", "ya", "sih", "deh", "aja", "kok", "pak", "bu", "nya", "tdk", "gak", "sdh", "dgn",
];
/// First two digits of a NIK: the province codes.
const PROVINCE: &[&[u8; 2]] = &[
    b"11", b"12", b"13", b"14", b"15", b"16", b"17", b"18", b"19", b"21", b"31", b"32", b"33",
    b"34", b"35", b"36", b"51", b"52", b"53", b"61", b"62", b"63", b"64", b"65", b"71", b"72",
    b"73", b"74", b"75", b"76", b"81", b"82", b"91", b"92", b"93", b"94", b"95", b"96", b"97",
];

fn in_list(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

// ---------------------------------------------------------------------------------------------
// E-mail: scanned on bytes (every byte of an address is ASCII)
// ---------------------------------------------------------------------------------------------

fn emails(text: &str, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let host = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    let mut from = 0;
    for at in memchr_all(b, b'@') {
        if at < from {
            continue;
        }
        let mut start = at;
        while start > from && local(b[start - 1]) {
            start -= 1;
        }
        while start < at && matches!(b[start], b'.' | b'+' | b'-') {
            start += 1;
        }
        let mut end = at + 1;
        while end < b.len() && host(b[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if start == at || !valid_host(&text[at + 1..end]) {
            continue;
        }
        out.push(Span {
            start,
            end,
            kind: Kind::Email,
        });
        from = end;
    }
}

fn memchr_all(b: &[u8], c: u8) -> impl Iterator<Item = usize> + '_ {
    b.iter()
        .enumerate()
        .filter(move |&(_, &x)| x == c)
        .map(|(i, _)| i)
}

/// At least two non-empty labels, none starting or ending with `-`, the last alphabetic (2+).
fn valid_host(host: &str) -> bool {
    let mut labels = 0;
    for l in host.split('.') {
        if l.is_empty() || l.starts_with('-') || l.ends_with('-') {
            return false;
        }
        labels += 1;
    }
    let tld = host.rsplit('.').next().unwrap_or("");
    labels >= 2 && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
}

// ---------------------------------------------------------------------------------------------
// Tokens: runs of letters, runs of ASCII digits, runs of white space, single other chars
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Word,
    Num,
    Space,
    Punct(char),
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    k: T,
    start: usize,
    end: usize,
}

impl Tok {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::with_capacity(text.len() / 3 + 1);
    for (i, c) in text.char_indices() {
        let k = if c.is_ascii_digit() {
            T::Num
        } else if c.is_alphabetic() {
            T::Word
        } else if c.is_whitespace() {
            T::Space
        } else {
            T::Punct(c)
        };
        let end = i + c.len_utf8();
        match toks.last_mut() {
            Some(last) if last.k == k && !matches!(k, T::Punct(_)) => last.end = end,
            _ => toks.push(Tok { k, start: i, end }),
        }
    }
    toks
}

/// A text and its tokens. Token indices past the end read as "nothing".
struct Cx<'a> {
    text: &'a str,
    toks: &'a [Tok],
}

impl Cx<'_> {
    fn kind(&self, i: usize) -> Option<T> {
        self.toks.get(i).map(|t| t.k)
    }

    fn str(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| &self.text[t.start..t.end])
    }

    fn is(&self, i: usize, k: T) -> bool {
        self.kind(i) == Some(k)
    }

    fn word_in(&self, i: usize, list: &[&str]) -> bool {
        self.is(i, T::Word) && in_list(self.str(i), list)
    }

    /// Token `i` is a single space or none at all: `i` or `i + 1`.
    fn opt_space(&self, i: usize) -> usize {
        if self.is(i, T::Space) && self.str(i) == " " {
            i + 1
        } else {
            i
        }
    }

    /// Skips white space and the given punctuation, at most `max` bytes; the next token and
    /// whether a `/` or `-` was skipped.
    fn gap(&self, mut i: usize, puncts: &[char], max: usize) -> (usize, bool) {
        let (mut bytes, mut slash) = (0, false);
        while let Some(t) = self.toks.get(i) {
            match t.k {
                T::Space => {}
                T::Punct(c) if puncts.contains(&c) => slash |= c == '/' || c == '-',
                _ => break,
            }
            bytes += t.len();
            if bytes > max {
                break;
            }
            i += 1;
        }
        (i, slash)
    }

    /// Whether one of `list` is among the three words before token `i` in the same clause.
    fn word_before(&self, i: usize, list: &[&str]) -> bool {
        let mut words = 0;
        for j in (0..i).rev() {
            match self.toks[j].k {
                T::Word => {
                    if in_list(self.str(j), list) {
                        return true;
                    }
                    words += 1;
                    if words == 3 {
                        return false;
                    }
                }
                T::Space | T::Punct(':' | '-' | '.' | '(' | '/') => {}
                _ => return false,
            }
        }
        false
    }

    // -----------------------------------------------------------------------------------------
    // Digit chains: phone numbers and identity numbers
    // -----------------------------------------------------------------------------------------

    /// Splits the digits into chains of groups joined by short separators, and reads each.
    fn numbers(&self, out: &mut Vec<Span>) {
        let mut groups = Vec::new();
        let mut i = 0;
        while i < self.toks.len() {
            if self.toks[i].k != T::Num {
                i += 1;
                continue;
            }
            groups.clear();
            groups.push(i);
            let mut last = i;
            while let Some(n) = self.next_group(last) {
                groups.push(n);
                last = n;
            }
            self.chain(&groups, out);
            i = last + 1;
        }
    }

    /// The next group after the group at token `g`: separated by at most three bytes of spaces,
    /// dashes, parentheses and dots (a dot not followed by a space, which ends a sentence).
    fn next_group(&self, g: usize) -> Option<usize> {
        let mut bytes = 0;
        let mut j = g + 1;
        while let Some(t) = self.toks.get(j) {
            match t.k {
                T::Num => return Some(j),
                T::Space if self.str(j).bytes().all(|b| b == b' ') => {}
                T::Punct('.') if !self.is(j + 1, T::Space) => {}
                T::Punct('-' | '(' | ')') => {}
                _ => return None,
            }
            bytes += t.len();
            if bytes > 3 {
                return None;
            }
            j += 1;
        }
        None
    }

    fn chain(&self, g: &[usize], out: &mut Vec<Span>) {
        let (Some(&first), Some(&last)) = (g.first(), g.last()) else {
            return;
        };
        let total: usize = g.iter().map(|&t| self.toks[t].len()).sum();
        if total >= 10
            && self.word_before(first, ID_WORD)
            && !self.thousands(g)
            && !self.date_like(g)
        {
            out.push(Span {
                start: self.toks[first].start,
                end: self.toks[last].end,
                kind: Kind::Nik,
            });
            return;
        }
        let mut s = 0;
        while s < g.len() {
            if let Some(e) = self.nik_at(g, s) {
                out.push(Span {
                    start: self.toks[g[s]].start,
                    end: self.toks[g[e]].end,
                    kind: Kind::Nik,
                });
                s = e + 1;
            } else if let Some((start, e)) = self.phone_at(g, s) {
                out.push(Span {
                    start,
                    end: self.toks[g[e]].end,
                    kind: Kind::Phone,
                });
                s = e + 1;
            } else {
                s += 1;
            }
        }
    }

    /// Groups written like an amount: 1 to 3 digits, then groups of exactly 3 after a dot.
    fn thousands(&self, g: &[usize]) -> bool {
        let first = self.toks[g[0]].len();
        (1..=3).contains(&first)
            && g.len() > 1
            && g.windows(2).all(|w| {
                self.toks[w[1]].len() == 3
                    && &self.text[self.toks[w[0]].end..self.toks[w[1]].start] == "."
            })
    }

    /// Starts like a date: `dd-mm-yyyy`, `d.m.yy` or `yyyy-mm-dd`.
    fn date_like(&self, g: &[usize]) -> bool {
        let len = |k: usize| g.get(k).map_or(0, |&t| self.toks[t].len());
        let (a, b, c) = (len(0), len(1), len(2));
        ((1..=2).contains(&a) && (1..=2).contains(&b) && (c == 2 || c == 4))
            || (a == 4 && b == 2 && c == 2)
    }

    /// Groups `s..=e` hold exactly 16 digits starting with a province code, not as an amount.
    fn nik_at(&self, g: &[usize], s: usize) -> Option<usize> {
        let mut total = 0;
        let mut end = None;
        for (k, &t) in g.iter().enumerate().skip(s) {
            total += self.toks[t].len();
            if total >= 16 {
                end = (total == 16).then_some(k);
                break;
            }
        }
        let e = end?;
        let mut digits = g[s..=e].iter().flat_map(|&t| self.str(t).bytes());
        let first = [digits.next()?, digits.next()?];
        let province = PROVINCE.contains(&&first);
        (province && !self.thousands(&g[s..=e])).then_some(e)
    }

    /// A phone number starting at group `s`: its first byte (a `+` or `(` before it included)
    /// and its last group.
    fn phone_at(&self, g: &[usize], s: usize) -> Option<(usize, usize)> {
        let t = self.toks[g[s]];
        let d = self.str(g[s]).as_bytes();
        let bytes = self.text.as_bytes();
        let plus = t.start > 0 && bytes[t.start - 1] == b'+';
        let third = d
            .get(2)
            .or_else(|| g.get(s + 1).and_then(|&n| self.str(n).as_bytes().first()))
            .copied()
            .unwrap_or(0);
        let area = |c: u8| (b'2'..=b'9').contains(&c);
        let local = d[0] == b'0' && d.len() >= 3 && area(d[1]);
        let min = if local || (d.starts_with(b"62") && plus && area(third)) {
            9
        } else if d.starts_with(b"62") && third == b'8' {
            11
        } else {
            return None;
        };
        let mut total = 0;
        let mut best = None;
        for (k, &tk) in g.iter().enumerate().skip(s) {
            total += self.toks[tk].len();
            if total > 14 {
                break;
            }
            if total >= min {
                best = Some(k);
            }
        }
        // A count right after the number ("… 7890 2 kali") is masked with it: better than
        // leaving the last digits of a number written "0812 345 678 90".
        let e = best?;
        let mut start = t.start;
        if plus {
            start -= 1;
        }
        if start > 0 && bytes[start - 1] == b'(' {
            start -= 1;
        }
        Some((start, e))
    }

    // -----------------------------------------------------------------------------------------
    // Addresses
    // -----------------------------------------------------------------------------------------

    /// `Jl. <name> No. <number>`: the span runs from the name to the number.
    fn streets(&self, out: &mut Vec<Span>) {
        for i in 0..self.toks.len() {
            if !self.word_in(i, STREET) {
                continue;
            }
            let mut j = i + 1;
            if self.is(j, T::Punct('.')) {
                j += 1;
            } else if !self.is(j, T::Space) {
                continue;
            }
            if self.is(j, T::Space) {
                j += 1;
            }
            let name = j;
            let mut items = 0;
            while let Some(t) = self.toks.get(j) {
                match t.k {
                    T::Word if items > 0 && self.word_in(j, NUMBER_WORD) => {
                        if let Some(end) = self.house_number(j) {
                            out.push(Span {
                                start: self.toks[name].start,
                                end,
                                kind: Kind::Address,
                            });
                        }
                        break;
                    }
                    T::Word
                        if self.word_in(j, REGULATION)
                            || self.word_in(j, NOT_NAME)
                            || self.word_in(j, STREET) && items == 0 =>
                    {
                        break;
                    }
                    T::Word | T::Num => {
                        items += 1;
                        if items > 5 {
                            break;
                        }
                    }
                    T::Space | T::Punct('-' | '\'') => {}
                    T::Punct('.') if self.is(j - 1, T::Word) => {}
                    // A decimal inside the name, one item: Jl. Kol. H. Burlian KM 6,5 No. 12.
                    T::Punct(',') if self.is(j - 1, T::Num) && self.is(j + 1, T::Num) => {
                        j += 2;
                        continue;
                    }
                    T::Punct(',') => {
                        let (k, _) = self.gap(j + 1, &[], 3);
                        if items == 0 || !self.word_in(k, NUMBER_WORD) {
                            break;
                        }
                        j = k;
                        continue;
                    }
                    _ => break,
                }
                j += 1;
            }
        }
    }

    /// After `No.` at token `j`: the end of the house number (`12`, `7B`, `102/3`, `12-A`), or
    /// `None` when there is none or it is a regulation's (`No. 5 Tahun 2020`).
    fn house_number(&self, j: usize) -> Option<usize> {
        let (k, _) = self.gap(j + 1, &['.', ':'], 3);
        if !self.is(k, T::Num) || self.toks[k].len() > 5 {
            return None;
        }
        let mut end = self.toks[k].end;
        let mut m = k + 1;
        let adjacent = |i: usize| self.toks.get(i).is_some_and(|t| t.start == end);
        let short_word =
            |i: usize| self.is(i, T::Word) && self.toks[i].len() <= 2 && self.str(i).is_ascii();
        if adjacent(m) && short_word(m) {
            end = self.toks[m].end;
            m += 1;
        } else if adjacent(m)
            && matches!(self.kind(m), Some(T::Punct('/' | '-')))
            && (self.is(m + 1, T::Num) || short_word(m + 1))
        {
            end = self.toks[m + 1].end;
            m += 2;
        }
        let (n, _) = self.gap(m, &[','], 3);
        (!self.word_in(n, YEAR_WORD)).then_some(end)
    }

    /// An RT number with an RW number, in any of the usual spellings; one span per number.
    fn rt_rw(&self, out: &mut Vec<Span>) {
        let small = |i: usize| self.is(i, T::Num) && self.toks[i].len() <= 3;
        let mut push = |a: usize, b: usize| {
            for n in [a, b] {
                out.push(Span {
                    start: self.toks[n].start,
                    end: self.toks[n].end,
                    kind: Kind::Address,
                });
            }
        };
        let lead = ['.', ':'];
        let between = ['.', ',', '/', '-'];
        for i in 0..self.toks.len() {
            let rt = self.word_in(i, &["rt"]);
            if !rt && !self.word_in(i, &["rw"]) {
                continue;
            }
            let other: &[&str] = if rt { &["rw"] } else { &["rt"] };
            let (j, _) = self.gap(i + 1, &['.', ':', '/', '-'], 3);
            if rt && self.word_in(j, other) {
                // RT/RW 005/003
                let (k, _) = self.gap(j + 1, &lead, 3);
                let (l, slash) = self.gap(k + 1, &['/', '-'], 3);
                if small(k) && small(l) && slash {
                    push(k, l);
                }
                continue;
            }
            if !small(j) {
                continue;
            }
            let (l, slash) = self.gap(j + 1, &between, 4);
            if self.word_in(l, other) {
                // RT 05 RW 03, RT.05/RW.03, RW 03 RT 05
                let (m, _) = self.gap(l + 1, &lead, 3);
                if small(m) {
                    push(j, m);
                }
            } else if rt && slash && small(l) {
                // RT 05/03
                push(j, l);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Plates
    // -----------------------------------------------------------------------------------------

    fn plates(&self, out: &mut Vec<Span>) {
        for i in 0..self.toks.len() {
            let p = self.str(i);
            if !self.is(i, T::Word) || p.len() > 2 || !in_list(p, REGION) {
                continue;
            }
            // A whole word: not glued to a digit, a dot, a dash, an @, …
            if i > 0
                && !matches!(
                    self.toks[i - 1].k,
                    T::Space | T::Punct('(' | '"' | '\'' | ':' | ',' | '[' | '“')
                )
            {
                continue;
            }
            let upper = p.bytes().all(|b| b.is_ascii_uppercase());
            let lower = p.bytes().all(|b| b.is_ascii_lowercase());
            let vehicle = self.word_before(i, VEHICLE_WORD);
            if !(upper || vehicle && lower) {
                continue;
            }
            let j = self.opt_space(i + 1);
            let digits = self.str(j);
            if !self.is(j, T::Num)
                || digits.len() > 4
                || digits.starts_with('0')
                || (!vehicle && digits.len() < 3)
            {
                continue;
            }
            // Not part of a bigger number: 1.234, 12,5, 12/5, 12%.
            match self.kind(j + 1) {
                Some(T::Punct('.' | ',' | '/' | '-' | ':')) if self.is(j + 2, T::Num) => continue,
                Some(T::Punct('%')) => continue,
                _ => {}
            }
            let mut end = self.toks[j].end;
            let k = self.opt_space(j + 1);
            let w = self.str(k);
            let suffix = self.is(k, T::Word)
                && (1..=3).contains(&w.len())
                && w.is_ascii()
                && !self.is(k + 1, T::Num)
                && !in_list(w, NOT_SUFFIX)
                && (w.bytes().all(|b| b.is_ascii_uppercase())
                    || (lower && w.bytes().all(|b| b.is_ascii_lowercase())));
            if suffix {
                end = self.toks[k].end;
            } else if !vehicle {
                continue;
            }
            out.push(Span {
                start: self.toks[i].start,
                end,
                kind: Kind::Plate,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CORPUS: &str = include_str!("../../tests/fixtures/personal-data/corpus.tsv");

    /// The found parts of `text`, as (kind, text) pairs.
    fn parts(text: &str) -> Vec<(&'static str, &str)> {
        find(text)
            .iter()
            .map(|s| (s.kind.as_str(), &text[s.start..s.end]))
            .collect()
    }

    #[test]
    fn corpus_precision_and_recall() {
        let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
        let mut wrong = Vec::new();
        for (n, line) in CORPUS.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (label, sentence) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("line {}: no tab", n + 1));
            let expected = match label {
                "1" => true,
                "0" => false,
                other => panic!("line {}: label {other:?}", n + 1),
            };
            let got = !find(sentence).is_empty();
            match (expected, got) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => tn += 1,
            }
            if expected != got {
                wrong.push(format!(
                    "  line {} expected {} got {}: {sentence}  {:?}",
                    n + 1,
                    u8::from(expected),
                    u8::from(got),
                    parts(sentence)
                ));
            }
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        println!(
            "personal-data corpus: {} sentences ({} with personal data), tp {tp} fp {fp} fn {fn_} tn {tn}",
            tp + fp + fn_ + tn,
            tp + fn_
        );
        println!("precision {precision:.3}, recall {recall:.3}");
        println!("misclassified: {}", wrong.len());
        for w in &wrong {
            println!("{w}");
        }
        assert!(tp + fn_ >= 75 && fp + tn >= 75, "corpus too small");
        assert!(precision >= 0.95, "precision {precision:.3}");
        assert!(recall >= 0.95, "recall {recall:.3}");
    }

    #[test]
    fn kind_names() {
        let all = [
            (Kind::Phone, "phone"),
            (Kind::Nik, "nik"),
            (Kind::Email, "email"),
            (Kind::Address, "address"),
            (Kind::Plate, "plate"),
        ];
        for (k, s) in all {
            assert_eq!(k.as_str(), s);
        }
    }

    #[test]
    fn phones() {
        for (text, part) in [
            ("hubungi 0812-3456-7890.", "0812-3456-7890"),
            ("WA 081234567890 ya", "081234567890"),
            ("nomor 0812 3456 7890, makasih", "0812 3456 7890"),
            ("kontak 0852.6734.1120.", "0852.6734.1120"),
            ("hubungi +62 812 7788 0193", "+62 812 7788 0193"),
            ("lewat +6285266123409 saja", "+6285266123409"),
            ("HP 62 821 7700 4561", "62 821 7700 4561"),
            ("telp (0711) 412 558 untuk", "(0711) 412 558"),
            ("telepon 0711-354872 ke toko", "0711-354872"),
            ("hubungi 021-5556-7812", "021-5556-7812"),
            ("saya (021) 7884 5521 ya", "(021) 7884 5521"),
            ("+62-813-6677-1209", "+62-813-6677-1209"),
            ("nomor 0812 345 678 90, tolong", "0812 345 678 90"),
            ("hubungi 0812 3456 7890 2 kali", "0812 3456 7890 2"),
        ] {
            assert_eq!(parts(text), vec![("phone", part)], "{text}");
        }
        assert_eq!(
            mask("hubungi 0812-3456-7890."),
            Some("hubungi •••.".to_string())
        );
        assert_eq!(
            mask("telp (0711) 412 558 untuk"),
            Some("telp ••• untuk".to_string())
        );
    }

    #[test]
    fn niks() {
        for (text, part) in [
            ("NIK saya 1671012345678901", "1671012345678901"),
            ("NIK 1671 0412 0389 0002.", "1671 0412 0389 0002"),
            ("NIK-nya 1607.0251.1265.0001, tolong", "1607.0251.1265.0001"),
            ("data saya 167104 150880 0007 salah", "167104 150880 0007"),
            ("anak 1671-0356-0417-0001.", "1671-0356-0417-0001"),
            ("nomor BPJS 0001234567890 mati", "0001234567890"),
            ("no rekening 1234567890 ya", "1234567890"),
        ] {
            assert_eq!(parts(text), vec![("nik", part)], "{text}");
        }
        assert_eq!(
            mask("NIK 1671 0412 0389 0002."),
            Some("NIK •••.".to_string())
        );
        // Not a province code, an amount, or a date after the word.
        assert!(find("kode 2019202020212022 itu").is_empty());
        assert!(find("Rp 1.500.000.000.000.000 untuk").is_empty());
        assert!(find("KTP saya dibuat 12-05-2024 10.30").is_empty());
    }

    #[test]
    fn emails_found_and_masked() {
        for (text, part) in [
            (
                "balas ke rudi.hartono88@gmail.com.",
                "rudi.hartono88@gmail.com",
            ),
            (
                "email saya siti_aminah@yahoo.co.id",
                "siti_aminah@yahoo.co.id",
            ),
            (
                "Email: Andi.Saputra@Contoh.co.id ya",
                "Andi.Saputra@Contoh.co.id",
            ),
            ("<wulan.sari@gmail.com>", "wulan.sari@gmail.com"),
            ("kontak bagus+difabel@proton.me", "bagus+difabel@proton.me"),
        ] {
            assert_eq!(parts(text), vec![("email", part)], "{text}");
        }
        assert_eq!(
            mask("email budi@contoh.id ya"),
            Some("email ••• ya".to_string())
        );
        for text in [
            "@budi",
            "budi@",
            "a@b",
            "a@b.c",
            "harga @ 5.000",
            "x@-a.com",
            "x@a..com",
        ] {
            assert!(find(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn addresses() {
        for (text, want) in [
            ("di Jl. Merdeka No. 12, berlubang", vec!["Merdeka No. 12"]),
            (
                "Got di Jalan Kolonel Atmo Nomor 45 tersumbat",
                vec!["Kolonel Atmo Nomor 45"],
            ),
            (
                "di Jln. Mayor Ruslan No 7B kebanjiran",
                vec!["Mayor Ruslan No 7B"],
            ),
            ("warga Gg. Melati No.3 minta", vec!["Melati No.3"]),
            ("depan jl. sudirman no 115 hampir", vec!["sudirman no 115"]),
            (
                "di Jl. Angkatan 45, Nomor 30 jadi",
                vec!["Angkatan 45, Nomor 30"],
            ),
            (
                "di Jalan Pangeran Ratu No. 102/3?",
                vec!["Pangeran Ratu No. 102/3"],
            ),
            ("di Blok C No. 12 Perumnas", vec!["C No. 12"]),
            (
                "di Jl. Kol. H. Burlian KM 6,5 No. 45.",
                vec!["Kol. H. Burlian KM 6,5 No. 45"],
            ),
            ("warga RT 05 RW 03 Kelurahan Sekip", vec!["05", "03"]),
            ("di RT/RW 005/003 Kel. Lorok Pakjo", vec!["005", "003"]),
            ("rumah RT.07/RW.02 Kecamatan", vec!["07", "02"]),
            ("di RT 02/RW 05 Kelurahan", vec!["02", "05"]),
            ("ke RT 04 / RW 06 Kelurahan", vec!["04", "06"]),
            ("di rt 3 rw 1 kelurahan", vec!["3", "1"]),
            ("di RT 05/03 ya", vec!["05", "03"]),
            ("di RW 03 RT 05 ya", vec!["03", "05"]),
            ("di RT05 RW03 ya", vec!["05", "03"]),
        ] {
            let got: Vec<&str> = parts(text).iter().map(|p| p.1).collect();
            assert_eq!(got, want, "{text}");
            assert!(find(text).iter().all(|s| s.kind == Kind::Address), "{text}");
        }
        assert_eq!(
            mask("Rumah saya Jl. Merdeka No. 12, RT 05 RW 03 Kel. Sekip."),
            Some("Rumah saya Jl. •••, RT ••• RW ••• Kel. Sekip.".to_string())
        );
    }

    #[test]
    fn plates_found() {
        for (text, part) in [
            ("Mobil dinas BG 1234 AB sering", "BG 1234 AB"),
            ("Mobil B 1234 XYZ menabrak", "B 1234 XYZ"),
            ("angkot BG1773AU yang", "BG1773AU"),
            ("boks F1234AB parkir", "F1234AB"),
            ("pelat BG 7021 F ugal-ugalan", "BG 7021 F"),
            ("nopol bg 9088 ae menumpahkan", "bg 9088 ae"),
            ("mobil pejabat BG 1 A diparkir", "BG 1 A"),
            ("plat nomor B 1234 kabur", "B 1234"),
        ] {
            assert_eq!(parts(text), vec![("plate", part)], "{text}");
        }
        assert_eq!(
            mask("Mobil BG 1234 AB parkir."),
            Some("Mobil ••• parkir.".to_string())
        );
    }

    #[test]
    fn hard_negatives() {
        for text in [
            // Rupiah
            "Anggaran Rp 1.500.000.000 tahun ini",
            "Dana Rp1,5 miliar untuk apa?",
            "Sewa 1.500.000 rupiah per tahun",
            "Utang Rp 1.250.000.000.000 itu benar?",
            // dates and times
            "Banjir 12-05-2024 10.30 merendam rumah",
            "Surat tertanggal 12/05/2024",
            "Listrik padam 05-06-2024 dari jam 08.30 sampai 16.00",
            "dibuka pukul 10.30 WIB",
            "tanggal 17 Agustus 2025",
            "ditutup 2024-07-15",
            "Senin-Jumat 08.00-16.00",
            "jam 7 pagi",
            // years
            "tahun 2024",
            "periode 2019-2024 dan 2025-2029",
            "tahun ajaran 2024/2025",
            // percentages and counts
            "stunting 18,5 persen, 70% jalan",
            "ada 3 RT dan 200 KK",
            "Pengurus 15 RT dan 4 RW",
            "sebanyak 1.250 warga",
            // regulations
            "Perda No. 5 Tahun 2020",
            "UU Nomor 23 Tahun 2014",
            "Jalan lingkungan diatur dalam Perda Nomor 2 Tahun 2021",
            // roads without a number, kelurahan alone
            "Jalan Sudirman macet",
            "Lubang di Jalan Angkatan 66 sudah lama",
            "Jalan rusak sudah 2 tahun, nomor 1 prioritas",
            "banjir di Kelurahan Sekip",
            "Warga Kel. 20 Ilir D II",
            // kilometres and capitalised words
            "macet di KM 12",
            "jalan 3 km rusak",
            "SMA N 3 dan SMP N 9",
            "Ruang B 201 di kantor",
            "Lulusan S1 UI dan D3 UGM",
            "TOLONG PAK WALI, JALAN DI KM 5 SUDAH 3 BULAN RUSAK",
            "Mobil pemadam cuma ada 12 unit",
            "Kode pos 30137",
            "Call center 112",
        ] {
            assert_eq!(parts(text), vec![], "{text}");
            assert_eq!(mask(text), None, "{text}");
        }
    }

    #[test]
    fn mask_keeps_everything_else() {
        let text = "Pak, 😀 é hubungi 0812-3456-7890 atau budi@contoh.id — BG 1234 AB.";
        assert_eq!(
            mask(text),
            Some("Pak, 😀 é hubungi ••• atau ••• — •••.".to_string())
        );
        assert_eq!(mask(""), None);
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn speed() {
        let text = "Pak Wali, saya warga RT 05 RW 03 Kelurahan Sekip, Jl. Merdeka No. 12. \
            Jalan Sudirman macet tiap sore, anggaran Rp 1.500.000.000 tahun 2024 ke mana? \
            Banjir 12-05-2024 10.30, mobil BG 1234 AB parkir di trotoar. Hubungi saya di \
            0812-3456-7890 atau budi.santoso@gmail.com, NIK 1671012345678901. Terima kasih!";
        let n = 20_000;
        let t = std::time::Instant::now();
        let mut spans = 0;
        for _ in 0..n {
            spans += std::hint::black_box(find(std::hint::black_box(text))).len();
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!(
            "{} bytes, {} spans: {per:.2} µs per find",
            text.len(),
            spans / n as usize
        );
        // Pathological input stays fast: 10 kB of `@` chains, plate-like words and digits.
        for bad in [
            "a@".repeat(5000),
            "B . ".repeat(2500),
            "RT 1 ".repeat(2000),
            "0 ".repeat(5000),
        ] {
            let t = std::time::Instant::now();
            let found = find(&bad).len();
            println!(
                "{} bytes pathological, {found} spans: {:?}",
                bad.len(),
                t.elapsed()
            );
        }
    }

    fn digits(s: &str) -> String {
        s.chars().filter(char::is_ascii_digit).collect()
    }

    proptest! {
        #[test]
        fn spans_are_sound(text in prop_oneof![
            any::<String>(),
            "[0-9 .+()@/,a-zA-Z:-]{0,80}",
            "((RT|RW|Jl\\.|No\\.|NIK|BG|B|0812|\\+62|62|1671|Rp|@|x\\.id|é|😀)[ ./-]?[0-9]{0,6}[ .-]?){0,12}",
        ]) {
            let spans = find(&text);
            let mut last = 0;
            for s in &spans {
                prop_assert!(s.start >= last && s.start < s.end && s.end <= text.len());
                prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
                last = s.end;
            }
            let masked = mask(&text);
            prop_assert_eq!(masked.is_none(), spans.is_empty());
            if let Some(m) = masked {
                // The digits left are exactly those outside the spans.
                let mut outside = String::new();
                let mut at = 0;
                for s in &spans {
                    outside.push_str(&text[at..s.start]);
                    at = s.end;
                }
                outside.push_str(&text[at..]);
                prop_assert_eq!(digits(&m), digits(&outside));
                prop_assert_eq!(m.matches(MASK).count() >= spans.len(), true);
            }
        }
    }
}
