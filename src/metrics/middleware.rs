//! Every request counted, by method, route template and status, with its latency: the layer
//! sits outside the panic catcher, so a panic is counted as the 500 it becomes, and a request
//! that ends in an `Err` is counted with the status of its error.

use std::collections::HashSet;
use std::sync::{LazyLock, RwLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use super::Method;
use crate::web::state::AppState;

/// The route of a request that matched none.
pub const UNMATCHED: &str = "unmatched";

/// Counts the request and its time.
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = Method::of(req.method());
    // The template the router matches, read before the call: a request that ends in an
    // error has no response to ask afterwards.
    let route = route_label(req.request().match_pattern());
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &result {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        metrics.observe(
            method,
            route,
            status.as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    result
}

/// The route template as a label that lives as long as the process. Templates come from the
/// route table alone, so the set is as small as the table, whatever the requests.
fn route_label(pattern: Option<String>) -> &'static str {
    static KNOWN: LazyLock<RwLock<HashSet<&'static str>>> =
        LazyLock::new(|| RwLock::new(HashSet::new()));
    let Some(pattern) = pattern else {
        return UNMATCHED;
    };
    if let Some(known) = KNOWN
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(pattern.as_str())
    {
        return known;
    }
    let mut known = KNOWN
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = known.get(pattern.as_str()) {
        return found;
    }
    let leaked: &'static str = Box::leak(pattern.into_boxed_str());
    known.insert(leaked);
    leaked
}
