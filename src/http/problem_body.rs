//! The body of an error response, an RFC 9457 problem. `ApiError` (or the
//! request-context middleware, for a framework error) fills in what the
//! error knows; the middleware adds what only the request knows
//! (`instance`, `request_id`) and serializes it once, as the response is
//! written.

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::problem::ProblemType;

/// A problem's members, in the order they are written: the standard ones,
/// the problem's own, then the request's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `/problems/<slug>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The members this type of problem adds (`errors`, `current`, ...).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
    /// The path of the request that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    /// A problem of type `problem` with no members of its own yet.
    pub fn new(problem: &ProblemType, status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: problem.uri(),
            title: problem.title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            extensions: Map::new(),
            instance: None,
            request_id: None,
        }
    }

    pub fn with_extensions(mut self, extensions: Map<String, Value>) -> Problem {
        self.extensions = extensions;
        self
    }

    /// The catalogue entry its `type` names; `None` for a type this
    /// service does not know (a problem recorded by another version).
    pub fn problem_type(&self) -> Option<&'static ProblemType> {
        ProblemType::by_slug(self.type_uri.strip_prefix("/problems/")?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::http::problem::{NOT_FOUND, STALE_VERSION};

    fn extensions(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn sent(mut problem: Problem) -> Map<String, Value> {
        problem.instance = Some("/v1/products/x".to_owned());
        problem.request_id = Some("id-1".to_owned());
        serde_json::from_slice(&serde_json::to_vec(&problem).unwrap()).unwrap()
    }

    #[test]
    fn the_body_holds_the_standard_members_the_extensions_and_the_request_in_order() {
        let problem = Problem::new(
            &STALE_VERSION,
            StatusCode::CONFLICT,
            "changed \"meanwhile\"",
        )
        .with_extensions(extensions(
            json!({ "your_version": 1, "current_version": 3 }),
        ));
        let body = sent(problem);
        let keys: Vec<&str> = body.keys().map(String::as_str).collect();
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
        assert_eq!(body["type"], "/problems/stale-version");
        assert_eq!(body["status"], 409);
        assert_eq!(body["detail"], "changed \"meanwhile\"");
        assert_eq!(body["current_version"], 3);
        assert_eq!(body["instance"], "/v1/products/x");
        assert_eq!(body["request_id"], "id-1");
    }

    #[test]
    fn a_problem_without_extensions_has_only_the_standard_members_and_the_request() {
        let body = sent(Problem::new(&NOT_FOUND, StatusCode::NOT_FOUND, "gone"));
        assert_eq!(body.len(), 6);
        assert_eq!(body["title"], NOT_FOUND.title);
    }

    #[test]
    fn a_recorded_problem_reads_back_as_it_was_written() {
        let problem = Problem::new(&STALE_VERSION, StatusCode::CONFLICT, "d")
            .with_extensions(extensions(json!({ "rebase_safe": true })));
        let recorded = serde_json::to_string(&problem).unwrap();
        assert!(!recorded.contains("instance"), "{recorded}");
        let read: Problem = serde_json::from_str(&recorded).unwrap();
        assert_eq!(read, problem);
        assert_eq!(read.problem_type(), Some(&STALE_VERSION));
        let unknown = Problem {
            type_uri: "/problems/nope".to_owned(),
            ..problem
        };
        assert_eq!(unknown.problem_type(), None);
    }
}
