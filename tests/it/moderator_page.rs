//! The moderator page and the domain agree on which action each status allows: the page's
//! `ACTIONS` table (web/moderator/app.js: the buttons of a card, by status) is read and compared
//! with `Transition::allowed_from` (src/domain/question.rs), through the library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use tanya::domain::Status;
use tanya::domain::question::Transition;

const TRANSITIONS: [Transition; 11] = [
    Transition::Approve,
    Transition::Reject,
    Transition::Edit,
    Transition::Live,
    Transition::Answered,
    Transition::Requeue,
    Transition::Move,
    Transition::Assign,
    Transition::MergeFrom,
    Transition::MergeInto,
    Transition::Withdraw,
];

/// The page's actions for each transition of the domain. A moderator does not withdraw (only
/// the asking device does), so the page has no action for it.
fn page_actions(t: Transition) -> &'static [&'static str] {
    match t {
        Transition::Approve => &["approve"],
        Transition::Reject => &["reject"],
        Transition::Edit => &["edit"],
        Transition::Live => &["live"],
        Transition::Answered => &["answered"],
        Transition::Requeue => &["requeue"],
        Transition::Move => &["up", "down"],
        Transition::Assign => &["assign"],
        Transition::MergeFrom => &["merge"],
        Transition::MergeInto => &["merge-into"],
        Transition::Withdraw => &[],
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Punct(char),
}

/// Identifiers, quoted strings and punctuation of a piece of JavaScript (comments skipped).
fn tokens(js: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = js.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if it.peek() == Some(&'/') => {
                for c in it.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if it.peek() == Some(&'*') => {
                let mut last = ' ';
                for c in it.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '\'' | '"' | '`' => {
                let mut w = String::new();
                for d in it.by_ref() {
                    if d == c {
                        break;
                    }
                    w.push(d);
                }
                out.push(Tok::Word(w));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut w = String::from(c);
                while let Some(&d) = it.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '$' {
                        w.push(d);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Word(w));
            }
            c => out.push(Tok::Punct(c)),
        }
    }
    out
}

/// The page's table: status -> actions, in the order of the card's buttons. The table is an
/// object literal `const ACTIONS = { status: [['action', 'class'?], ...], ... };`.
fn page_table() -> BTreeMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/moderator/app.js");
    let js = std::fs::read_to_string(path).unwrap();
    let starts: Vec<_> = js.match_indices("const ACTIONS = {").collect();
    assert_eq!(starts.len(), 1, "one ACTIONS table in {path}");
    let from = starts[0].0 + "const ACTIONS = ".len();
    let len = js[from..]
        .find("\n};")
        .expect("the table ends with `};` on its own line")
        + 2;
    let toks = tokens(&js[from..from + len]);

    let mut table = BTreeMap::new();
    let mut i = 0;
    let expect = |i: &mut usize, c: char| {
        assert_eq!(toks[*i], Tok::Punct(c), "at token {i}: {:?}", &toks[*i..]);
        *i += 1;
    };
    expect(&mut i, '{');
    while toks[i] != Tok::Punct('}') {
        let Tok::Word(status) = toks[i].clone() else {
            panic!("a status name at token {i}: {:?}", &toks[i..]);
        };
        i += 1;
        expect(&mut i, ':');
        expect(&mut i, '[');
        let mut acts = Vec::new();
        while toks[i] != Tok::Punct(']') {
            expect(&mut i, '[');
            let Tok::Word(act) = toks[i].clone() else {
                panic!("an action name at token {i}: {:?}", &toks[i..]);
            };
            acts.push(act);
            i += 1;
            while toks[i] != Tok::Punct(']') {
                i += 1;
            }
            expect(&mut i, ']');
            if toks[i] == Tok::Punct(',') {
                i += 1;
            }
        }
        expect(&mut i, ']');
        if toks[i] == Tok::Punct(',') {
            i += 1;
        }
        assert!(
            table.insert(status.clone(), acts).is_none(),
            "{status} twice in the table"
        );
    }
    table
}

#[test]
fn the_pages_table_lists_every_status_once_and_only_known_actions() {
    let table = page_table();
    let statuses: BTreeSet<&str> = table.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(statuses, want, "the page's table names every status");
    let known: BTreeSet<&str> = TRANSITIONS
        .iter()
        .flat_map(|t| page_actions(*t))
        .copied()
        .collect();
    for (status, acts) in &table {
        let mut seen = BTreeSet::new();
        for a in acts {
            assert!(
                known.contains(a.as_str()),
                "`{a}` ({status}) is no domain transition"
            );
            assert!(seen.insert(a), "`{a}` twice for {status}");
        }
    }
}

#[test]
fn the_moderator_page_allows_what_the_domain_allows() {
    let table = page_table();
    let mut mismatches = Vec::new();
    for t in TRANSITIONS {
        let domain: BTreeSet<&str> = t.allowed_from().iter().map(|s| s.as_str()).collect();
        for s in Status::ALL {
            assert_eq!(t.allows(s), domain.contains(s.as_str()));
        }
        for act in page_actions(t) {
            let page: BTreeSet<&str> = table
                .iter()
                .filter(|(_, acts)| acts.iter().any(|a| a == act))
                .map(|(s, _)| s.as_str())
                .collect();
            if page != domain {
                mismatches.push(format!(
                    "{t:?}: the page offers `{act}` in {page:?}, the domain allows {domain:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
