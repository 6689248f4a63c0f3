//! Counting cases for the public board and the report: pure functions over the case table's
//! documents (docs/followup.md, "The board, the report, the export").

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::followup::{CaseDoc, CaseStatus};
use super::question::Status;

/// The counts of a set of questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Answered on air (answered, or live now).
    pub answered_on_air: usize,
    /// Declined by the office or an agency.
    pub declined: usize,
    /// Forwarded to an agency at least once.
    pub forwarded: usize,
    /// Neither answered on air, nor forwarded, nor closed: left without an answer.
    pub left: usize,
    /// With an agency past the due date.
    pub overdue: usize,
    /// Questions received (not withdrawn or merged away; a rejected one only once its case
    /// moved on).
    pub received: usize,
    /// Resolved.
    pub resolved: usize,
}

/// Whether a question counts as a received complaint: not withdrawn by its author, not a
/// duplicate merged away, not rejected unless its case was taken up all the same.
pub fn counts_as_received(d: &CaseDoc) -> bool {
    match d.question.status {
        Status::Withdrawn | Status::Merged => false,
        Status::Rejected => d.case.status != CaseStatus::Received || d.case.forwarded_at.is_some(),
        _ => true,
    }
}

impl Counts {
    /// Adds one question.
    pub fn add(&mut self, d: &CaseDoc, today: NaiveDate) {
        if !counts_as_received(d) {
            return;
        }
        self.received += 1;
        let on_air = matches!(d.question.status, Status::Answered | Status::Live);
        let forwarded = d.case.forwarded_at.is_some();
        if on_air {
            self.answered_on_air += 1;
        }
        if forwarded {
            self.forwarded += 1;
        }
        match d.case.status {
            CaseStatus::Resolved => self.resolved += 1,
            CaseStatus::Declined => self.declined += 1,
            _ => {}
        }
        if d.case.overdue(today) {
            self.overdue += 1;
        }
        if !on_air && !forwarded && !d.case.status.is_closed() {
            self.left += 1;
        }
    }

    /// The counts of these documents.
    pub fn of<'a>(docs: impl IntoIterator<Item = &'a CaseDoc>, today: NaiveDate) -> Self {
        let mut c = Self::default();
        for d in docs {
            c.add(d, today);
        }
        c
    }
}

/// One agency's cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgencyCounts {
    /// Declined by it (or by the office while with it).
    pub declined: usize,
    /// Forwarded to it (now or last).
    pub forwarded: usize,
    /// The median days from forwarding to resolution, `null` before the first.
    pub median_days: Option<f64>,
    /// With it and not closed.
    pub open: usize,
    /// With it past the due date.
    pub overdue: usize,
    /// Resolved.
    pub resolved: usize,
}

/// The counts per agency id of these documents (cases never forwarded are not in it).
pub fn per_agency<'a>(
    docs: impl IntoIterator<Item = &'a CaseDoc>,
    today: NaiveDate,
) -> BTreeMap<String, AgencyCounts> {
    let mut out: BTreeMap<String, (AgencyCounts, Vec<f64>)> = BTreeMap::new();
    for d in docs {
        let Some(a) = &d.case.agency else { continue };
        let (c, days) = out.entry(a.clone()).or_default();
        c.forwarded += 1;
        match d.case.status {
            CaseStatus::Resolved => c.resolved += 1,
            CaseStatus::Declined => c.declined += 1,
            s if s.is_with_agency() => c.open += 1,
            _ => {}
        }
        if d.case.overdue(today) {
            c.overdue += 1;
        }
        if let Some(n) = d.case.days_to_resolve() {
            days.push(n);
        }
    }
    out.into_iter()
        .map(|(k, (mut c, days))| {
            c.median_days = median(days);
            (k, c)
        })
        .collect()
}

/// The median, rounded to a tenth; `None` for no values.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((m * 10.0).round() / 10.0)
}

/// How many questions per key (channel, source, status, topic, place), keys sorted.
pub fn by<'a, F>(docs: impl IntoIterator<Item = &'a CaseDoc>, key: F) -> BTreeMap<String, usize>
where
    F: Fn(&CaseDoc) -> Option<String>,
{
    let mut out = BTreeMap::new();
    for d in docs {
        if let Some(k) = key(d) {
            *out.entry(k).or_insert(0) += 1;
        }
    }
    out
}
