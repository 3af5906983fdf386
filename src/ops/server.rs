//! The HTTP endpoints of `highwater run` (axum, on the process's tokio runtime):
//!
//! - `GET /healthz`: `200 ok` while the process is alive and serving, nothing more. For a
//!   liveness probe or a container `HEALTHCHECK`.
//! - `GET /readyz`: `200` when every [`Readiness`] check passes, else `503`; the JSON body
//!   lists each check with `ok` and `why`.
//! - `GET /metrics`: the [`Metrics`] registry in the OpenMetrics text format; the gauges that
//!   mirror other state (the outbox, the gateway, stale histories) are read just before.
//!
//! Nothing secret is served: no token, no webhook URL (the metrics' labels are kinds, not
//! addresses). The listener is bound by the caller, so a test can use port 0.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::readiness::{DatabaseUnready, Readiness};
use crate::scheduler::Clock;
use crate::store::Store;
use crate::telemetry::Health;
use crate::telemetry::metrics::{CONTENT_TYPE, Metrics};

/// How long `/readyz` waits for the database to take a write before it reports it as not
/// writable (a database locked by a long write, a hung disk).
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the endpoints read.
#[derive(Clone)]
pub struct OpsState {
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

/// The three routes.
pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Serves the endpoints on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: OpsState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn healthz() -> &'static str {
    "ok"
}

/// The readiness checks now.
pub async fn readiness(state: &OpsState) -> Readiness {
    let database =
        match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, state.store.check_writable()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(DatabaseUnready::NotWritable(error)),
            Err(_) => Err(DatabaseUnready::TimedOut(DATABASE_CHECK_TIMEOUT)),
        };
    Readiness::assess(database, &state.health.snapshot())
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let readiness = readiness(&state).await;
    let status = if readiness.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        readiness.to_json().to_string(),
    )
        .into_response()
}

async fn metrics(State(state): State<OpsState>) -> Response {
    match state.store.outbox_summary().await {
        Ok(outbox) => {
            let age = outbox
                .oldest_pending
                .and_then(|oldest| (state.clock.now() - oldest).to_std().ok());
            state.metrics.set_outbox(outbox.waiting(), age);
        }
        Err(error) => tracing::warn!(%error, "cannot read the outbox for /metrics"),
    }
    let health = state.health.snapshot();
    state.metrics.set_bot(
        health.gateway_connected,
        health.discord_auth_failed.is_some(),
    );
    state.metrics.set_stale_histories(health.stale.len());
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}
