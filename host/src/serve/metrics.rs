//! The server's metrics, and their Prometheus text exposition (format 0.0.4) for `GET /metrics`.
//!
//! Written by hand rather than with `prometheus-client`: a dozen series, one histogram, and the format is
//! a few lines of text; the crate would add its own derive macro and registry types for no gain.
//!
//! Owns the counters (runs by snapshot/workflow/status, fuel, busy refusals, HTTP answers), the run-latency
//! histogram and the gauges (queue depth, in flight), plus the engine's compiled-component cache counters at
//! scrape time. It must never record anything from a request beyond these numbers (no payloads, no ids).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds (seconds) of the run-latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Histogram {
    /// Cumulative counts are computed at exposition; these are per bucket (+Inf last).
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Series {
    /// (snapshot, workflow, status) → runs.
    runs: BTreeMap<(String, String, String), u64>,
    /// (snapshot, workflow) → latency.
    latency: BTreeMap<(String, String), Histogram>,
    /// (snapshot, workflow) → fuel.
    fuel: BTreeMap<(String, String), u64>,
    /// HTTP status → answers.
    responses: BTreeMap<u16, u64>,
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<Series>,
    /// Requests answered 503 because every worker was busy and the queue full.
    pub rejected_busy: AtomicU64,
    /// Accepted runs never started because their requester went away while they were queued.
    pub abandoned: AtomicU64,
    pub queue_depth: AtomicI64,
    pub in_flight: AtomicI64,
}

impl Metrics {
    fn series(&self) -> std::sync::MutexGuard<'_, Series> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One finished run (or a run that could not even leave a trace: `status` is then its error code).
    pub fn record_run(&self, snapshot: &str, workflow: &str, status: &str, fuel: u64, elapsed: Duration) {
        let mut s = self.series();
        *s.runs
            .entry((snapshot.to_string(), workflow.to_string(), status.to_string()))
            .or_default() += 1;
        let key = (snapshot.to_string(), workflow.to_string());
        *s.fuel.entry(key.clone()).or_default() += fuel;
        let h = s.latency.entry(key).or_default();
        let secs = elapsed.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        h.buckets[i] += 1;
        h.sum += secs;
        h.count += 1;
    }

    /// One HTTP answer.
    pub fn record_response(&self, status: u16) {
        *self.series().responses.entry(status).or_default() += 1;
    }

    /// The text exposition, with the engine's cache counters as of now.
    pub fn render(&self, cache: &sealed_engine::CacheStats) -> String {
        let s = self.series();
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };

        head(
            &mut out,
            "sealed_runs_total",
            "counter",
            "Runs executed, by snapshot, workflow and final status.",
        );
        for ((snap, wf, status), n) in &s.runs {
            let _ = writeln!(
                out,
                "sealed_runs_total{{snapshot=\"{}\",workflow=\"{}\",status=\"{}\"}} {n}",
                esc(snap),
                esc(wf),
                esc(status)
            );
        }
        head(
            &mut out,
            "sealed_run_duration_seconds",
            "histogram",
            "Wall-clock time of a run on its worker, from taking it off the queue to its evidence written.",
        );
        for ((snap, wf), h) in &s.latency {
            let labels = format!("snapshot=\"{}\",workflow=\"{}\"", esc(snap), esc(wf));
            let mut cumulative = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "sealed_run_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(out, "sealed_run_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "sealed_run_duration_seconds_count{{{labels}}} {}", h.count);
        }
        head(
            &mut out,
            "sealed_fuel_used_total",
            "counter",
            "Fuel burnt by the nodes of runs.",
        );
        for ((snap, wf), n) in &s.fuel {
            let _ = writeln!(
                out,
                "sealed_fuel_used_total{{snapshot=\"{}\",workflow=\"{}\"}} {n}",
                esc(snap),
                esc(wf)
            );
        }
        head(
            &mut out,
            "sealed_component_cache_hits_total",
            "counter",
            "Compiled components found in the engine's caches, by tier.",
        );
        let _ = writeln!(
            out,
            "sealed_component_cache_hits_total{{tier=\"memory\"}} {}",
            cache.memory_hits
        );
        let _ = writeln!(
            out,
            "sealed_component_cache_hits_total{{tier=\"disk\"}} {}",
            cache.disk_hits
        );
        head(
            &mut out,
            "sealed_component_cache_misses_total",
            "counter",
            "Components compiled by Cranelift because no cache held them.",
        );
        let _ = writeln!(out, "sealed_component_cache_misses_total {}", cache.misses);
        head(
            &mut out,
            "sealed_component_cache_invalid_total",
            "counter",
            "Disk-cache entries refused by their checks (and recompiled).",
        );
        let _ = writeln!(out, "sealed_component_cache_invalid_total {}", cache.invalid);
        head(
            &mut out,
            "sealed_queue_depth",
            "gauge",
            "Runs accepted and waiting for a worker.",
        );
        let _ = writeln!(out, "sealed_queue_depth {}", self.queue_depth.load(Ordering::SeqCst));
        head(
            &mut out,
            "sealed_runs_in_flight",
            "gauge",
            "Runs executing on a worker now.",
        );
        let _ = writeln!(out, "sealed_runs_in_flight {}", self.in_flight.load(Ordering::SeqCst));
        head(
            &mut out,
            "sealed_rejected_busy_total",
            "counter",
            "Run requests answered 503 because every worker was busy and the queue was full.",
        );
        let _ = writeln!(
            out,
            "sealed_rejected_busy_total {}",
            self.rejected_busy.load(Ordering::SeqCst)
        );
        head(
            &mut out,
            "sealed_runs_abandoned_total",
            "counter",
            "Accepted runs not started because their client went away while they were queued.",
        );
        let _ = writeln!(
            out,
            "sealed_runs_abandoned_total {}",
            self.abandoned.load(Ordering::SeqCst)
        );
        head(
            &mut out,
            "sealed_http_responses_total",
            "counter",
            "HTTP answers, by status code.",
        );
        for (code, n) in &s.responses {
            let _ = writeln!(out, "sealed_http_responses_total{{code=\"{code}\"}} {n}");
        }
        out
    }
}

/// A label value escaped for the text format (backslash, double quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.record_run("snap", "wf", "DONE", 10, Duration::from_millis(20));
        m.record_run("snap", "wf", "DONE", 5, Duration::from_secs(100));
        m.record_run("sn\"ap", "wf", "FAILED", 0, Duration::from_millis(1));
        m.record_response(200);
        m.rejected_busy.fetch_add(2, Ordering::SeqCst);
        let text = m.render(&sealed_engine::CacheStats::default());
        for line in [
            "sealed_runs_total{snapshot=\"snap\",workflow=\"wf\",status=\"DONE\"} 2",
            "sealed_runs_total{snapshot=\"sn\\\"ap\",workflow=\"wf\",status=\"FAILED\"} 1",
            "sealed_run_duration_seconds_bucket{snapshot=\"snap\",workflow=\"wf\",le=\"0.01\"} 0",
            "sealed_run_duration_seconds_bucket{snapshot=\"snap\",workflow=\"wf\",le=\"0.025\"} 1",
            "sealed_run_duration_seconds_bucket{snapshot=\"snap\",workflow=\"wf\",le=\"+Inf\"} 2",
            "sealed_run_duration_seconds_count{snapshot=\"snap\",workflow=\"wf\"} 2",
            "sealed_fuel_used_total{snapshot=\"snap\",workflow=\"wf\"} 15",
            "sealed_rejected_busy_total 2",
            "sealed_queue_depth 0",
            "sealed_http_responses_total{code=\"200\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
