use actix_web::{web, HttpResponse};

use crate::http::error::ApiError;
use crate::http::problem::ProblemType;

/// Explain a problem type
///
/// The human explanation behind an error's `type`.
#[utoipa::path(get, path = "/problems/{slug}", tag = "operations",
    params(("slug" = crate::openapi::schemas::ProblemSlug, Path, description = "The last part of a problem's `type`, e.g. stale-version")),
    responses(
        (status = 200, description = "The explanation, as plain text", body = String, content_type = "text/plain"),
        (status = 404, description = "No such problem type", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn explain_problem(slug: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let problem = ProblemType::by_slug(&slug)
        .ok_or_else(|| ApiError::NotFound(format!("There is no problem type named {slug:?}.")))?;
    let text = format!(
        "{} {}\n\n{}\n",
        problem.status.as_u16(),
        problem.title,
        problem.explanation
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}
