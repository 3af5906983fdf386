//! The charts alerts carry: [`HistoryCharts`] draws the chart an outbox message asks for
//! ([`ChartRequest`]) when the deliverer sends it, from the same histories the tick and the
//! bot's answers read, with [`crate::chart::render`] (the picture `highwater chart` and `/chart`
//! draw).
//!
//! The chart ends on the alert's session, whatever came after it, so a message sent late (after
//! quiet hours, a retry, a restart) still shows the day it is about. When the history has no
//! bar for that session (a provider that lost it), no chart is drawn rather than one that ends
//! on another day. One alert fanned out to many channels is drawn once: the last few pictures
//! are kept.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::chart;
use crate::notify::{Attachment, ChartRequest, ChartSource, ChartUnavailable};
use crate::providers::histories::Histories;
use crate::scheduler::Clock;
use crate::store::Store;

/// Pictures kept for re-use: a tick's alerts are for a handful of symbols and sessions.
const KEPT: usize = 8;

/// Draws alert charts from [`Histories`] (the store is their bar cache).
pub struct HistoryCharts {
    histories: Arc<Histories>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    drawn: Mutex<VecDeque<(ChartRequest, Attachment)>>,
}

impl HistoryCharts {
    pub fn new(histories: Arc<Histories>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            histories,
            store,
            clock,
            drawn: Mutex::new(VecDeque::new()),
        }
    }

    async fn render(&self, request: &ChartRequest) -> Result<Attachment, ChartUnavailable> {
        let unavailable = |reason: String| ChartUnavailable {
            symbol: request.symbol.clone(),
            session: request.session,
            reason,
        };
        let symbol = self
            .histories
            .resolve(&request.symbol)
            .map_err(|error| unavailable(error.to_string()))?;
        let loaded = self
            .histories
            .recent(&*self.store, symbol, self.clock.now())
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let (range, session) = (request.range, request.session);
        let drawn = tokio::task::spawn_blocking(move || {
            chart::render(&loaded.series, range, Some(session))
        })
        .await
        .map_err(|error| unavailable(format!("the drawing stopped: {error}")))?
        .map_err(|error| unavailable(error.to_string()))?;
        if drawn.layout.last_date != request.session {
            return Err(unavailable(format!(
                "the history has no close for that session (its latest before it is {})",
                drawn.layout.last_date
            )));
        }
        Ok(Attachment {
            file_name: request.file_name(),
            bytes: drawn.png.into(),
        })
    }
}

#[async_trait]
impl ChartSource for HistoryCharts {
    async fn draw(&self, request: &ChartRequest) -> Result<Attachment, ChartUnavailable> {
        // Held across the drawing, so a fan-out's concurrent sends draw it once.
        let mut drawn = self.drawn.lock().await;
        if let Some((_, file)) = drawn.iter().find(|(kept, _)| kept == request) {
            return Ok(file.clone());
        }
        let file = self.render(request).await?;
        if drawn.len() == KEPT {
            drawn.pop_front();
        }
        drawn.push_back((request.clone(), file.clone()));
        Ok(file)
    }
}
