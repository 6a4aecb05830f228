//! `Idempotency-Key` on POST: the first request with a key runs and its
//! response is recorded in the same transaction as its write; a retry with
//! the same key and request gets that response again, marked
//! `Idempotent-Replayed: true`, and nothing is applied twice.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::db::{Database, DbConnection};
use crate::domain::access::Caller;
use crate::domain::idempotency::{self, RecordedResponse};
use crate::http::error::{ApiError, FieldError};
use crate::http::problem_body::Problem;
use crate::store;
use crate::store::idempotency::Key;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The key and fingerprint of a request sent with `Idempotency-Key`.
pub struct Retryable {
    key: String,
    fingerprint: String,
    quota: i64,
}

/// Most idempotency keys one token may hold (`--idempotency-keys-per-token`).
#[derive(Clone, Copy)]
pub struct KeyQuota(pub u64);

impl Retryable {
    /// Reads the key, if sent (1-255 visible ASCII), and fingerprints the
    /// request with it. Call it before the body is taken apart.
    pub fn of(
        request: &HttpRequest,
        body: &Map<String, Value>,
    ) -> Result<Option<Retryable>, ApiError> {
        let Some(key) = idempotency_key(request)? else {
            return Ok(None);
        };
        let path = request
            .uri()
            .path_and_query()
            .map_or(request.path(), |p| p.as_str());
        let fingerprint = idempotency::fingerprint(request.method().as_str(), path, body);
        let quota = request
            .app_data::<web::Data<KeyQuota>>()
            .map_or(i64::MAX, |quota| i64::try_from(quota.0).unwrap_or(i64::MAX));
        Ok(Some(Retryable {
            key,
            fingerprint,
            quota,
        }))
    }
}

/// Runs `write` (one unit of work producing the response) once per
/// idempotency key (see `store::idempotency::run_once`), or simply once
/// when the request carries no key.
pub async fn respond<W>(
    db: &Database,
    caller: &Caller,
    retryable: Option<Retryable>,
    write: W,
) -> Result<HttpResponse, ApiError>
where
    W: FnMut(&mut DbConnection) -> Result<RecordedResponse, ApiError> + Send + 'static,
{
    let Some(Retryable {
        key,
        fingerprint,
        quota,
    }) = retryable
    else {
        return db.write(write).await.map(into_response);
    };
    let scope = caller.token_id.to_string();
    let (recorded, replayed) = db
        .write(move |conn| {
            let key = Key {
                scope: &scope,
                key: &key,
                fingerprint: &fingerprint,
                quota,
            };
            store::idempotency::run_once(conn, &key, write, recorded_refusal)
        })
        .await?;
    let mut response = into_response(recorded);
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The response to record for a refusal (a 4xx applied nothing); `None`
/// for a failure, after which a retry runs the request again.
fn recorded_refusal(error: &ApiError) -> Option<RecordedResponse> {
    let refusal =
        error.status_code().is_client_error() && !matches!(error, ApiError::IdempotencyKeyInUse);
    refusal.then(|| recorded_problem(error))
}

/// The `Idempotency-Key` header, if sent; 1-255 visible ASCII.
fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .map_err(|_| "must be visible ASCII".to_owned())
        .and_then(idempotency::key)
        .map(Some)
        .map_err(|detail| {
            ApiError::malformed(
                "The Idempotency-Key header is invalid.",
                vec![FieldError::new("Idempotency-Key", detail)],
            )
        })
}

/// A JSON response to record, with the headers worth replaying.
pub fn recorded_json<T: Serialize>(
    status: StatusCode,
    body: &T,
    headers: Vec<(String, String)>,
) -> Result<RecordedResponse, ApiError> {
    Ok(RecordedResponse {
        status: status.as_u16(),
        headers,
        body: serde_json::to_string(body).map_err(ApiError::internal)?,
        is_problem: false,
    })
}

/// A refusal to record: its status, headers and problem document.
fn recorded_problem(error: &ApiError) -> RecordedResponse {
    let response = error.error_response();
    // Every header the error sets (Allow, ETag, Retry-After, ...), so that
    // error_response stays the one place that decides them.
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    // Without `instance` and `request_id`: the replaying request has its own.
    let problem = response
        .extensions()
        .get::<Problem>()
        .and_then(|problem| serde_json::to_string(problem).ok());
    RecordedResponse {
        status: response.status().as_u16(),
        headers,
        body: problem.unwrap_or_default(),
        is_problem: true,
    }
}

fn into_response(recorded: RecordedResponse) -> HttpResponse {
    let status = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in &recorded.headers {
        response.append_header((name.as_str(), value.as_str()));
    }
    if recorded.is_problem {
        // The request-context middleware writes the body, with this
        // request's instance and id.
        let mut response = response.finish();
        if let Ok(problem) = serde_json::from_str::<Problem>(&recorded.body) {
            response.extensions_mut().insert(problem);
        }
        return response;
    }
    response
        .content_type("application/json")
        .body(recorded.body)
}
