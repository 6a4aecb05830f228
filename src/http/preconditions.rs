//! The version a write is based on, from the body (or query) and the
//! `If-Match` header, and the `If-None-Match` check of reads.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::domain::precondition::{Precondition, VersionSource};
use crate::http::error::{ApiError, FieldError};

/// The write's precondition, if it names one. `sent` is the version from
/// the body or the query, if any, and `field` the pointer that names it. A write that names
/// none is refused by the store, after it has checked that the product
/// exists (a deleted product answers 404 to every write).
pub fn resolve(
    request: &HttpRequest,
    sent: Option<(i64, VersionSource)>,
    field: &str,
) -> Result<Option<Precondition>, ApiError> {
    let if_match = if_match_version(request)?;
    match (sent, if_match) {
        (Some((body, source)), Some(header)) if body != header => Err(ApiError::malformed(
            format!("The request names two versions: {body} in the {} and {header} in If-Match. Send one, or make them agree.", source_name(source)),
            vec![
                FieldError::new(field, format!("is {body}")),
                FieldError::new("If-Match", format!("is \"{header}\"")),
            ],
        )),
        // RFC 9110: a failed If-Match is a 412, so If-Match decides the
        // source whenever it is sent.
        (_, Some(version)) => Ok(Some(Precondition { version, source: VersionSource::IfMatch })),
        (Some((version, source)), None) => Ok(Some(Precondition { version, source })),
        (None, None) => Ok(None),
    }
}

/// The version in `If-Match`, if it names one. `*` names none.
fn if_match_version(request: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(combined) = combined(request, header::IF_MATCH) else {
        return Ok(None);
    };
    let text = combined.trim();
    if text == "*" {
        return Ok(None);
    }
    match strong_etag_version(text) {
        Some(version) => Ok(Some(version)),
        None => Err(ApiError::malformed(
            "If-Match must be one strong ETag as this API sends it, such as \"3\" (with the quotes).",
            vec![FieldError::new("If-Match", format!("{text:?} is not a product ETag"))],
        )),
    }
}

/// Whether `If-None-Match` names the current version (weak comparison, as
/// RFC 9110 asks for this header; `*` matches any version).
pub fn if_none_match_matches(request: &HttpRequest, version: i64) -> bool {
    let Some(text) = combined(request, header::IF_NONE_MATCH) else {
        return false;
    };
    text.split(',').map(str::trim).any(|tag| {
        tag == "*" || strong_etag_version(tag.strip_prefix("W/").unwrap_or(tag)) == Some(version)
    })
}

/// Every line of the header, joined as one comma-separated list (RFC 9110,
/// 5.3), so that a second `If-Match` line is read, not ignored.
fn combined(request: &HttpRequest, name: header::HeaderName) -> Option<String> {
    let lines: Vec<&str> = request
        .headers()
        .get_all(name)
        .map(|value| value.to_str().unwrap_or(""))
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
}

/// `"N"` with N a positive version.
fn strong_etag_version(tag: &str) -> Option<i64> {
    let digits = tag.strip_prefix('"')?.strip_suffix('"')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|version| *version >= 1)
}

fn source_name(source: VersionSource) -> &'static str {
    match source {
        VersionSource::Body => "body",
        VersionSource::Query => "query",
        VersionSource::IfMatch => "If-Match header",
    }
}
