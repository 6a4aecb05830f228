//! The middleware every request passes through: it gives the request an id,
//! runs it inside a tracing span, writes problem bodies, stamps
//! `X-Request-Id` on the response, and logs and counts the answer.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tracing::Instrument;
use uuid::Uuid;

use crate::http::problem::ProblemType;
use crate::http::problem_body::Problem;
use crate::metrics::{Metrics, UNMATCHED_ROUTE};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const PROBLEM_JSON: &str = "application/problem+json";

/// The longest `X-Request-Id` a client may choose.
pub const REQUEST_ID_MAX_CHARS: usize = 128;

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    /// The client's id when it is sane (1 to `REQUEST_ID_MAX_CHARS` visible
    /// ASCII characters),
    /// otherwise a fresh UUID.
    fn for_request(request: &ServiceRequest) -> RequestId {
        let sent = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|value| {
                (1..=REQUEST_ID_MAX_CHARS).contains(&value.len())
                    && value.bytes().all(|b| b.is_ascii_graphic())
            });
        RequestId(sent.map_or_else(|| Uuid::now_v7().to_string(), str::to_owned))
    }
}

pub async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let arrived = Instant::now();
    let request_id = RequestId::for_request(&request);
    request.extensions_mut().insert(request_id.clone());
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = request.method().clone();
    // `actor` is filled in by `Authorized` once the token is known.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id.0,
        method = %method,
        path = %request.path(),
        actor = tracing::field::Empty,
    );
    // Handlers' and extractors' errors arrive as responses; an `Err` here
    // would come from actix itself and is passed on as it is.
    let response = next
        .call(request)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let (mut response, problem) = with_problem_body(response, &request_id);
    let status = response.status();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let latency = arrived.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route = %route,
            // To the microsecond: digits beyond it are the clock's noise.
            latency_ms = latency.as_micros() as f64 / 1000.0,
            "answered"
        )
    });
    if let Some(metrics) = metrics {
        if let Some(slug) = problem {
            metrics.record_problem(slug, status);
        }
        metrics.record_request(route, &method, status, latency);
    }
    // The API's answers are state that any write changes: never stored.
    // Pages and streams say otherwise for themselves.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Writes the problem body of an error response: the problem the error
/// left in the response's extensions, or, for an error raised outside this
/// service's own code, a problem chosen by status. `instance` and
/// `request_id` are filled in here because only the request knows them.
/// Returns the problem type's slug too, for the metrics.
fn with_problem_body(
    mut response: ServiceResponse<BoxBody>,
    request_id: &RequestId,
) -> (ServiceResponse<BoxBody>, Option<&'static str>) {
    let status = response.status();
    let problem = response.response_mut().extensions_mut().remove::<Problem>();
    let mut problem = match problem {
        Some(problem) => problem,
        None if status.is_client_error() || status.is_server_error() => {
            let problem = ProblemType::for_status(status);
            let detail = match response.response().error() {
                Some(error) if status.is_client_error() => error.to_string(),
                _ => problem.explanation.to_owned(),
            };
            Problem::new(problem, status, detail)
        }
        None => return (response, None),
    };
    problem.instance = Some(response.request().path().to_owned());
    problem.request_id = Some(request_id.0.clone());
    let slug = problem.problem_type().map(|problem| problem.slug);
    // A problem is strings, numbers and JSON values: it always serializes.
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = response.map_body(|_, _| BoxBody::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.remove(header::CONTENT_LENGTH);
    (response, slug)
}
