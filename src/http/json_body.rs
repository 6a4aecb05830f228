//! The JSON object a write request carries, with its media type and size
//! checked before a byte of it is parsed.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use serde_json::{Map, Value};

use super::body_deadline::{BodyTimeout, BODY_TIMED_OUT};
use super::strict_json::{self, StrictJsonError, MAX_ARRAY_ITEMS};
use crate::http::error::{ApiError, FieldError};

/// Request bodies above this many bytes are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A write body: a JSON object sent as `application/json` (or, for PATCH,
/// `application/merge-patch+json`).
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest for JsonObject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<JsonObject, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media_type = check_media_type(request);
        let body = web::Bytes::from_request(request, payload);
        let timeout = request
            .app_data::<web::Data<BodyTimeout>>()
            .map(|timeout| timeout.0);
        Box::pin(async move {
            media_type?;
            let bytes = body.await.map_err(|error| payload_error(error, timeout))?;
            parse_object(&bytes)
        })
    }
}

fn check_media_type(request: &HttpRequest) -> Result<(), ApiError> {
    let accepted: &[&str] = if request.method() == Method::PATCH {
        &["application/json", "application/merge-patch+json"]
    } else {
        &["application/json"]
    };
    let sent = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    // Parameters such as `; charset=utf-8` are fine; the essence must match.
    let essence = sent.map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match essence {
        Some(essence) if accepted.contains(&essence.as_str()) => Ok(()),
        Some(essence) => Err(ApiError::UnsupportedMediaType(format!(
            "The body was sent as \"{essence}\"; send it as {}.",
            accepted.join(" or ")
        ))),
        None => Err(ApiError::UnsupportedMediaType(format!(
            "The request has no Content-Type; send the body as {}.",
            accepted.join(" or ")
        ))),
    }
}

fn payload_error(error: actix_web::Error, timeout: Option<Duration>) -> ApiError {
    // actix reports an oversized body through several error types; their
    // status is the one thing they share.
    if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    let detail = match error.as_error::<PayloadError>() {
        Some(PayloadError::Io(cause)) if cause.kind() == BODY_TIMED_OUT => {
            return ApiError::BodyTimeout(timeout.unwrap_or_default());
        }
        Some(PayloadError::Overflow) => return ApiError::PayloadTooLarge,
        // A stream that stopped short, or compressed data that does not
        // decode (the decoders report that as an early end too).
        Some(PayloadError::Incomplete(_) | PayloadError::EncodingCorrupted) => {
            "The request body ended early or could not be decoded. Send the whole body, and if \
             it is compressed, name how in Content-Encoding (gzip, deflate, br or zstd)."
        }
        Some(PayloadError::UnknownLength) => {
            "The request body's length is unknown: send Content-Length or Transfer-Encoding: chunked."
        }
        _ => "The request body could not be read. Send it again.",
    };
    ApiError::malformed(detail, Vec::new())
}

fn parse_object(bytes: &[u8]) -> Result<JsonObject, ApiError> {
    match strict_json::from_slice(bytes) {
        Ok(Value::Object(object)) => Ok(JsonObject(object)),
        Ok(_) => Err(ApiError::Validation(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )])),
        Err(StrictJsonError::Syntax(error)) => Err(ApiError::malformed(
            "The body is not valid JSON.",
            vec![FieldError::new("", format!("{error}"))],
        )),
        Err(StrictJsonError::TooLong(pointer)) => Err(ApiError::Validation(vec![FieldError::new(
            pointer,
            format!("must hold at most {MAX_ARRAY_ITEMS} items (it holds more)"),
        )])),
        Err(StrictJsonError::Duplicate(pointer)) => Err(ApiError::malformed(
            format!("The body names the member {pointer} more than once; send each member once."),
            vec![FieldError::new(pointer, "appears more than once")],
        )),
    }
}
