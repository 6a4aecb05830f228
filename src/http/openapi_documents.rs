use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;

/// The OpenAPI document, rendered once at start-up (Bytes: shared, not
/// copied, by each response).
pub struct OpenApiDocuments {
    pub json: Bytes,
    pub yaml: Bytes,
}

/// The OpenAPI document as JSON
///
/// This API's OpenAPI 3.1 document, the same as `openapi.yaml`, for tools
/// and generated clients. `/docs` shows it to people.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses(
    (status = 200, description = "This API's OpenAPI document", body = std::collections::HashMap<String, serde_json::Value>, content_type = "application/json"),
))]
pub async fn openapi_json(documents: web::Data<OpenApiDocuments>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(documents.json.clone())
}

/// The OpenAPI document as YAML
///
/// The committed `openapi.yaml`, byte for byte.
#[utoipa::path(get, path = "/openapi.yaml", tag = "operations", responses(
    (status = 200, description = "This API's OpenAPI document (the committed openapi.yaml)", body = std::collections::HashMap<String, serde_json::Value>, content_type = "application/yaml"),
))]
pub async fn openapi_yaml(documents: web::Data<OpenApiDocuments>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(documents.yaml.clone())
}
