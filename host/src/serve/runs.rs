//! `POST /v1/runs/{snapshot}/{workflow}`: one run of a preloaded plan on the request body, answered with
//! the envelope of `host run --json` once the run is durable.
//!
//! Order: the snapshot and workflow must be served (404 otherwise, before anything is written), the body is
//! read under its cap, the run is queued (503 `SERVE_BUSY` with `Retry-After: 1` when every worker is busy and
//! the queue is full), a worker executes it, and only then is it answered — after `execute` returned, so a 200
//! run is committed, its trace fsynced and its attestation written.
//!
//! It must never answer a run before `execute` returned, nor execute anything on the I/O runtime.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::config::BODY_READ_TIMEOUT;
use super::pool::{InFlight, Refused};
use super::reply::Reply;
use super::{State, body, status};
use crate::Failure;
use crate::output::Envelope;
use crate::run::{Job, PayloadSource, Plan, StoreAccess};

/// Handles one run request for `snapshot`/`workflow`.
pub async fn post(state: &Arc<State>, snapshot: &str, workflow: &str, req: Request<Incoming>) -> Reply {
    let Some(plan) = state.catalog.get(snapshot) else {
        return Reply::failure(
            404,
            &state.catalog.unknown(snapshot),
            json!({ "snapshots": state.catalog.names() }),
        );
    };
    // An unknown workflow is a routing miss like an unknown snapshot: answered without a run (no run id
    // consumed, no trace), so junk requests cannot fill the data root with evidence.
    if plan.workflow(workflow).is_none() {
        return Reply::failure(
            404,
            &crate::run::plan::unknown_workflow(plan, workflow),
            json!({ "snapshot": plan.name(), "workflows": plan.workflow_names().collect::<Vec<_>>() }),
        );
    }
    let cap = state.config.options.max_body_bytes;
    let (parts, body) = req.into_parts();
    if let Err(f) = body::check_declared(&parts.headers, cap) {
        // The body is left unread, so the connection cannot be reused.
        return Reply::failure(413, &f, Value::Null).with_header("connection", "close");
    }
    let payload = match body::read(body, cap, BODY_READ_TIMEOUT).await {
        Ok(bytes) => bytes,
        Err(f) => {
            let status = match f.code.as_str() {
                "BODY_TOO_LARGE" => 413,
                "REQUEST_TIMEOUT" => 408,
                _ => 400,
            };
            return Reply::failure(status, &f, Value::Null).with_header("connection", "close");
        }
    };
    let job = Job {
        workflow: workflow.to_string(),
        payload: PayloadSource::Text(payload),
        data_root: state.config.options.data_root.clone(),
        trace_dir: state.config.options.trace_dir.clone(),
        run_id: None,
        run_key: state.run_key.clone(),
    };

    let (answer, answered) = tokio::sync::oneshot::channel::<Reply>();
    let worker_state = state.clone();
    let plan = plan.clone();
    let work = Box::new(move |in_flight: InFlight| {
        if answer.is_closed() {
            // The client left while the run was queued: nothing has happened yet, so nothing is done.
            worker_state.metrics.abandoned.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let reply = execute(&worker_state, &plan, &job);
        // No longer in flight once its answer can reach the client (a client reading /metrics right after
        // its answer must not see its own run counted).
        drop(in_flight);
        // The client may have gone away meanwhile; the run is durable either way.
        let _ = answer.send(reply);
    });
    match state.pool.submit(work) {
        Ok(()) => {}
        Err(Refused::Full) => {
            state.metrics.rejected_busy.fetch_add(1, Ordering::SeqCst);
            return Reply::busy(&Failure::new(
                "SERVE_BUSY",
                format!(
                    "all {} workers are busy and the queue of {} runs is full; retry after a second",
                    state.pool.workers(),
                    state.pool.queue_len()
                ),
            ));
        }
        Err(Refused::Closed) => {
            return Reply::busy(&Failure::new(
                "SERVE_BUSY",
                "the server is shutting down and accepts no new runs",
            ));
        }
    }
    match answered.await {
        Ok(reply) => reply,
        Err(_) => Reply::failure(
            500,
            &Failure::new(
                "INTERNAL",
                "the run ended without an answer (a host bug: see the server's log)",
            ),
            Value::Null,
        ),
    }
}

/// Executes `job` on this (worker) thread and builds its answer; records the run's metrics.
fn execute(state: &State, plan: &Plan, job: &Job) -> Reply {
    let started = Instant::now();
    let result = crate::run::execute(plan, job, StoreAccess::Shared(&*state.store));
    let elapsed = started.elapsed();
    match result {
        Ok(report) => {
            let fuel = report.steps.iter().map(|s| s.fuel_used).sum();
            state
                .metrics
                .record_run(plan.name(), &job.workflow, &report.status, fuel, elapsed);
            let status = status::of_run(&report);
            let envelope = Envelope::of_run(&report);
            if let Some(problem) = report.evidence_errors.first() {
                // The run's own result stands (it is committed or not), but a 200 promises its evidence is on
                // disk: say what is missing instead.
                tracing::error!(run_id = %report.run_id, "run evidence incomplete: {problem}");
                let code = problem.split(':').next().unwrap_or("INTERNAL").trim();
                let message = format!(
                    "the run ended {} (committed: {}) but its evidence is incomplete: {problem}",
                    report.status, report.committed
                );
                return Reply::envelope(500, &Envelope::failure(envelope.data, code, message, None));
            }
            let reply = Reply::envelope(status, &envelope);
            if status == 503 {
                reply.with_header("retry-after", "1")
            } else {
                reply
            }
        }
        Err(f) => {
            // Not even a trace could be written (or the run id was unusable).
            state
                .metrics
                .record_run(plan.name(), &job.workflow, &f.code, 0, elapsed);
            tracing::error!(code = %f.code, "run could not be recorded: {}", f.message);
            let reply = Reply::failure(status::of_failure(&f), &f, Value::Null);
            if status::retryable(&f.code) {
                reply.with_header("retry-after", "1")
            } else {
                reply
            }
        }
    }
}
