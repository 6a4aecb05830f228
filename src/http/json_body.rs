//! The JSON object a write request carries, with its media type and size
//! checked before a byte of it is parsed.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use serde_json::{Map, Value};

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
        Box::pin(async move {
            media_type?;
            let bytes = body.await.map_err(payload_error)?;
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

fn payload_error(error: actix_web::Error) -> ApiError {
    // actix reports an oversized body through several error types; their
    // status is the one thing they share.
    match error.as_response_error().status_code() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::malformed(
            format!("The request body could not be read: {error}."),
            Vec::new(),
        ),
    }
}

fn parse_object(bytes: &[u8]) -> Result<JsonObject, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(JsonObject(object)),
        Ok(_) => Err(ApiError::Validation(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )])),
        Err(error) => Err(ApiError::malformed(
            "The body is not valid JSON.",
            vec![FieldError::new("", format!("{error}"))],
        )),
    }
}
