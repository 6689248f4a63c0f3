//! Percentiles over latencies in nanoseconds, reported in milliseconds.

use serde_json::{Value, json};

/// Latencies in nanoseconds.
#[derive(Debug, Default, Clone)]
pub struct Lat(pub Vec<u64>);

impl Lat {
    pub fn push(&mut self, ns: u64) {
        self.0.push(ns);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn sorted(&self) -> Vec<u64> {
        let mut v = self.0.clone();
        v.sort_unstable();
        v
    }

    /// Nearest-rank percentile, milliseconds (NaN when empty).
    pub fn pct(&self, p: f64) -> f64 {
        pct_sorted(&self.sorted(), p)
    }

    pub fn max(&self) -> f64 {
        self.0.iter().max().map_or(f64::NAN, |m| ms(*m))
    }

    /// `{n, p50, p99, max}` in milliseconds.
    pub fn json(&self) -> Value {
        let s = self.sorted();
        json!({
            "n": s.len(),
            "p50_ms": round(pct_sorted(&s, 50.0)),
            "p99_ms": round(pct_sorted(&s, 99.0)),
            "max_ms": round(s.last().map_or(f64::NAN, |m| ms(*m))),
        })
    }

    /// `p50 / p99 / max ms (n)` for people.
    pub fn human(&self) -> String {
        let s = self.sorted();
        format!(
            "p50 {:.1} / p99 {:.1} / max {:.1} ms (n={})",
            pct_sorted(&s, 50.0),
            pct_sorted(&s, 99.0),
            s.last().map_or(f64::NAN, |m| ms(*m)),
            s.len()
        )
    }
}

/// `n` events over `span_ns` nanoseconds, per second (NaN for an empty span).
pub fn per_second(n: f64, span_ns: u64) -> f64 {
    if span_ns > 0 {
        n / (span_ns as f64 / 1e9)
    } else {
        f64::NAN
    }
}

/// Nanoseconds to milliseconds.
pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Nearest-rank percentile of sorted nanoseconds, in milliseconds.
pub fn pct_sorted(s: &[u64], p: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    ms(s[rank.clamp(1, s.len()) - 1])
}

/// Two decimals; NaN becomes JSON null.
pub fn round(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 100.0).round() / 100.0)
    } else {
        Value::Null
    }
}
