//! A problem document on its way to the client: written as JSON once, by
//! `ApiError::error_response` (or the middleware, for a framework error),
//! and finished by the request-context middleware with what only the
//! request knows (`instance`, `request_id`).
//!
//! It is carried as JSON text rather than as a `serde_json::Value`: a 409
//! carries the whole product and every version since the client's, and
//! building that as a tree of maps (hashing every key) only to write it
//! out was a sixth of what a GET and a 409 cost the server
//! (`bench/instructions.sh`).

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::problem::ProblemType;

/// An error response's problem, minus `instance` and `request_id`.
#[derive(Debug, Clone)]
pub struct ProblemDocument {
    pub problem: &'static ProblemType,
    /// One JSON object: `type`, `title`, `status` and `detail`, then the
    /// problem's own members.
    pub json: String,
}

/// The standard members of a problem, followed by its extensions (any
/// value that serializes as a map or a struct, its members in order).
pub fn problem_document<E: Serialize>(
    problem: &'static ProblemType,
    status: StatusCode,
    detail: &str,
    extensions: &E,
) -> ProblemDocument {
    let members = |extensions| {
        serde_json::to_string(&Members {
            type_uri: problem.uri(),
            title: problem.title,
            status: status.as_u16(),
            detail,
            extensions,
        })
    };
    // Only the extensions can fail to serialize (none of ours do); the
    // client then still gets the standard members.
    let json = members(Extensions::Some(extensions))
        .or_else(|_| members(Extensions::None))
        .unwrap_or_default();
    ProblemDocument { problem, json }
}

#[derive(Serialize)]
struct Members<'a, E: Serialize> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(flatten)]
    extensions: Extensions<'a, E>,
}

/// Flattened into the members: `None` adds nothing.
#[derive(Serialize)]
#[serde(untagged)]
enum Extensions<'a, E: Serialize> {
    Some(&'a E),
    None,
}

impl ProblemDocument {
    /// The body sent: the document's members, then `instance` and
    /// `request_id`.
    pub fn body(self, instance: &str, request_id: &str) -> Vec<u8> {
        let mut body = self.json.into_bytes();
        // The members are one JSON object: reopen it before its `}`.
        if body.pop() != Some(b'}') {
            body = b"{".to_vec();
        }
        if body.len() > 1 {
            body.push(b',');
        }
        body.extend_from_slice(b"\"instance\":");
        // Strings always serialize.
        let _ = serde_json::to_writer(&mut body, instance);
        body.extend_from_slice(b",\"request_id\":");
        let _ = serde_json::to_writer(&mut body, request_id);
        body.push(b'}');
        body
    }

    /// A document recorded for an idempotent replay, from its JSON text;
    /// `None` if the text is not a problem of a known type.
    pub fn recorded(json: String) -> Option<ProblemDocument> {
        #[derive(Deserialize)]
        struct Recorded {
            #[serde(rename = "type")]
            type_uri: String,
        }
        let recorded: Recorded = serde_json::from_str(&json).ok()?;
        let problem = ProblemType::by_slug(recorded.type_uri.strip_prefix("/problems/")?)?;
        Some(ProblemDocument { problem, json })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::problem::{NOT_FOUND, STALE_VERSION};

    fn sent(document: ProblemDocument) -> Value {
        serde_json::from_slice(&document.body("/v1/products/x", "id-1")).unwrap()
    }

    #[test]
    fn the_body_holds_the_standard_members_the_extensions_and_the_request_in_order() {
        let extensions = json!({ "your_version": 1, "current_version": 3 });
        let document = problem_document(
            &STALE_VERSION,
            StatusCode::CONFLICT,
            "changed \"meanwhile\"",
            &extensions,
        );
        let body = String::from_utf8(document.body("/v1/products/x", "id-1")).unwrap();
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&body)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "type",
                "title",
                "status",
                "detail",
                "your_version",
                "current_version",
                "instance",
                "request_id"
            ]
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["type"], "/problems/stale-version");
        assert_eq!(body["status"], 409);
        assert_eq!(body["detail"], "changed \"meanwhile\"");
        assert_eq!(body["current_version"], 3);
        assert_eq!(body["instance"], "/v1/products/x");
        assert_eq!(body["request_id"], "id-1");
    }

    #[test]
    fn a_problem_without_extensions_has_only_the_standard_members_and_the_request() {
        let document = problem_document(
            &NOT_FOUND,
            StatusCode::NOT_FOUND,
            "gone",
            &serde_json::Map::new(),
        );
        let body = sent(document);
        assert_eq!(body.as_object().unwrap().len(), 6);
        assert_eq!(body["title"], NOT_FOUND.title);
    }

    #[test]
    fn a_recorded_document_keeps_its_type_and_text() {
        let document = problem_document(&STALE_VERSION, StatusCode::CONFLICT, "d", &json!({}));
        let recorded = ProblemDocument::recorded(document.json.clone()).unwrap();
        assert_eq!(recorded.problem.slug, STALE_VERSION.slug);
        assert_eq!(recorded.json, document.json);
        assert!(ProblemDocument::recorded("null".into()).is_none());
        assert!(ProblemDocument::recorded(r#"{"type":"/problems/nope"}"#.into()).is_none());
    }
}
