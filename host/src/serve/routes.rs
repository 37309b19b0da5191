//! Method and path → handler, the bearer-token check, and turning a [`Reply`] into an HTTP response.
//!
//! | method, path | handler |
//! |---|---|
//! | `GET /healthz` | `ok` (never needs the token) |
//! | `GET /metrics` | [`super::metrics`] |
//! | `POST /v1/runs/{snapshot}/{workflow}` | [`super::runs::post`] |
//! | `GET /v1/runs/{run-id}`, `.../trace`, `.../attestation`, `.../report.md`, `.../report.png` | [`super::evidence`] |
//!
//! Owns routing and authorisation only. It must never read a body or the file system itself, and never
//! run blocking work on the I/O runtime (evidence is read on its blocking pool).

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use super::evidence::{self, Item};
use super::reply::{self, Reply};
use super::{State, runs};
use crate::Failure;

/// Answers one request.
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = route(&state, req).await;
    state.metrics.record_response(reply.status);
    into_response(reply)
}

fn method_not_allowed(allow: &'static str) -> Reply {
    Reply::failure(
        405,
        &Failure::new("METHOD_NOT_ALLOWED", format!("this path answers {allow} only")),
        Value::Null,
    )
    .with_header("allow", allow)
}

async fn route(state: &Arc<State>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(&path).split('/').collect();
    let method = req.method().clone();
    if segments == ["healthz"] {
        return if method == Method::GET {
            Reply::bytes(200, reply::TEXT, b"ok".to_vec())
        } else {
            method_not_allowed("GET")
        };
    }
    if let Some(token) = &state.config.token {
        let presented = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        if !token.admits(presented) {
            return Reply::failure(
                401,
                &Failure::new(
                    "AUTH_FAILED",
                    "this server requires `Authorization: Bearer <token>` (the token in its --token-file)",
                ),
                Value::Null,
            )
            .with_header("www-authenticate", "Bearer");
        }
    }
    match segments.as_slice() {
        ["metrics"] if method == Method::GET => Reply::bytes(
            200,
            reply::PROMETHEUS,
            state.metrics.render(&state.engine.cache_stats()).into_bytes(),
        ),
        ["metrics"] => method_not_allowed("GET"),
        ["v1", "runs", snapshot, workflow] if method == Method::POST => {
            let (snapshot, workflow) = (snapshot.to_string(), workflow.to_string());
            runs::post(state, &snapshot, &workflow, req).await
        }
        ["v1", "runs", run_id] if method == Method::GET => evidence_of(state, run_id, None).await,
        ["v1", "runs", _] => method_not_allowed("GET"),
        ["v1", "runs", run_id, item] if method == Method::GET => evidence_of(state, run_id, Some(item)).await,
        ["v1", "runs", _, _] => method_not_allowed("GET, POST"),
        _ => Reply::failure(
            404,
            &Failure::new(
                "NOT_FOUND",
                format!("no such endpoint: {method} {path} (see `host serve --help`)"),
            ),
            Value::Null,
        ),
    }
}

async fn evidence_of(state: &Arc<State>, run_id: &str, item: Option<&str>) -> Reply {
    let Some(item) = Item::parse(item) else {
        return Reply::failure(
            404,
            &Failure::new(
                "NOT_FOUND",
                "a run has /trace, /attestation, /report.md and /report.png",
            ),
            Value::Null,
        );
    };
    let state = state.clone();
    let run_id = run_id.to_string();
    match tokio::task::spawn_blocking(move || evidence::get(&state, &run_id, item)).await {
        Ok(reply) => reply,
        Err(e) => Reply::failure(
            500,
            &Failure::new("INTERNAL", format!("reading the run's evidence failed: {e}")),
            Value::Null,
        ),
    }
}

fn into_response(r: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(r.body)));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    for (name, value) in r.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}
