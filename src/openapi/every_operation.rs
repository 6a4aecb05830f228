//! What the handlers' annotations would otherwise repeat: headers, errors
//! and security that every operation (or every POST) shares.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, Header, OpenApi as OpenApiDocument, Ref, RefOr, Response, Schema, Type,
};
use utoipa::Modify;

use crate::domain::idempotency::{KEY_MAX_CHARS, RETENTION_HOURS};
use crate::http::request_context::REQUEST_ID_MAX_CHARS;

/// What every operation shares: the optional `X-Request-Id` request header,
/// the `X-Request-Id` response header, the 500 and 503 any operation
/// touching the database can answer, and the 408, 413 and 415 of a body.
pub struct EveryOperation;

impl Modify for EveryOperation {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let bearer =
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(BEARER, bearer);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let authenticated = path.starts_with("/v1/");
            let uses_database = authenticated || path == "/readyz";
            if let Some(post) = item.post.as_mut() {
                add_idempotency(post, &components.schemas);
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
                &mut item.put,
            ];
            for operation in operations.into_iter().flatten() {
                add_request_id(operation);
                if authenticated {
                    add_access_errors(operation);
                } else {
                    // Said outright: these answer without a token.
                    operation.security = Some(Vec::new());
                }
                if uses_database {
                    add_server_errors(operation);
                }
                add_body_errors(operation);
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response
                            .headers
                            .insert("X-Request-Id".into(), request_id_header());
                    }
                }
            }
        }
    }
}

fn request_id_header() -> Header {
    let mut header = string_header();
    header.description = Some(format!(
        "The client's X-Request-Id when it sent a sane one (1-{REQUEST_ID_MAX_CHARS} visible \
         ASCII), otherwise a fresh UUID"
    ));
    header
}

fn add_request_id(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name("X-Request-Id")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        // Any value is accepted: one that is not sane is replaced by a
        // fresh id rather than refused, so the schema says string.
        .description(Some(format!(
            "Your id for this request, echoed in the response and in problems when it is \
             1-{REQUEST_ID_MAX_CHARS} visible ASCII characters; any other value is replaced by \
             a fresh UUID"
        )))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new().schema_type(Type::String),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter);
}

const BEARER: &str = "bearer";

/// Every /v1 operation needs a bearer token, and answers 401, 403 and 429.
fn add_access_errors(operation: &mut Operation) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let problem = |description: &str, header: Option<(&str, &str)>| {
        let mut response = Response::builder().description(description).content(
            "application/problem+json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
        if let Some((name, text)) = header {
            let mut header = string_header();
            header.description = Some(text.into());
            response = response.header(name, header);
        }
        RefOr::T(response.build())
    };
    let responses = &mut operation.responses.responses;
    responses.entry("401".into()).or_insert_with(|| {
        problem(
            "unauthorized: no token, or an unknown or revoked one",
            Some(("WWW-Authenticate", "Bearer")),
        )
    });
    responses
        .entry("403".into())
        .or_insert_with(|| problem("forbidden: the token's role may not do this", None));
    responses.entry("429".into()).or_insert_with(|| {
        problem(
            "rate-limited: too many requests from this token, or failed authentications from this address; too-many-connections: this address holds more connections than one may (the connection is closed); idempotency-quota-exceeded: the token holds as many idempotency keys as it may",
            Some(("Retry-After", "Seconds to wait before retrying")),
        )
    });
}

/// Every operation that takes a body answers 408, 413 and 415 the same way.
fn add_body_errors(operation: &mut Operation) {
    let Some(body) = operation.request_body.as_ref() else {
        return;
    };
    let media_types: Vec<&str> = body.content.keys().map(String::as_str).collect();
    let unsupported = format!("The body is not sent as {}", media_types.join(" or "));
    let responses = &mut operation.responses.responses;
    for (status, description) in [
        (
            "408",
            "request-timeout: the body did not arrive whole within the server's body timeout; the connection is closed",
        ),
        ("413", "The body is larger than 1 MiB"),
        ("415", unsupported.as_str()),
    ] {
        responses.entry(status.into()).or_insert_with(|| {
            RefOr::T(
                Response::builder()
                    .description(description)
                    .content(
                        "application/problem+json",
                        Content::new(Some(Ref::from_schema_name("Problem"))),
                    )
                    .build(),
            )
        });
    }
}

fn add_server_errors(operation: &mut Operation) {
    let problem = || Content::new(Some(Ref::from_schema_name("Problem")));
    let responses = &mut operation.responses.responses;
    responses.entry("500".into()).or_insert_with(|| {
        RefOr::T(
            Response::builder()
                .description("An unexpected failure; the body carries only the request_id")
                .content("application/problem+json", problem())
                .build(),
        )
    });
    responses.entry("503".into()).or_insert_with(|| {
        let mut retry_after = string_header();
        retry_after.description = Some("Seconds to wait before retrying".into());
        RefOr::T(
            Response::builder()
                .description("The database is unreachable or busy; nothing was applied")
                .content("application/problem+json", problem())
                .header("Retry-After", retry_after)
                .build(),
        )
    });
}

/// Every POST takes `Idempotency-Key`: its success responses may be
/// replays, and it may answer the key's own 409 and 422.
fn add_idempotency(operation: &mut Operation, schemas: &Schemas) {
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(format!(
            "Makes retries safe: the first request with this key (for this caller) is applied once \
             and its response recorded; the same request sent again with the key gets that response \
             again, with Idempotent-Replayed: true. Kept at least {RETENTION_HOURS} hours."
        )))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(KEY_MAX_CHARS))
                .pattern(Some(format!("^[!-~]{{1,{KEY_MAX_CHARS}}}$"))),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter);
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        match status.as_str() {
            "409" => add_alternative(response, "IdempotencyKeyInUseProblem", schemas),
            "422" => add_alternative(response, "IdempotencyKeyReusedProblem", schemas),
            _ => {}
        }
        // The answers the write itself gives are recorded, refusals too;
        // the others come before the key is looked at.
        let recorded =
            status.starts_with('2') || ["404", "409", "412", "422"].contains(&status.as_str());
        if recorded {
            let mut replayed = Header::new(Schema::Object(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["true"]))
                    .build(),
            ));
            replayed.description = Some("\"true\" when this is the recorded answer to an earlier request with the same Idempotency-Key".into());
            response
                .headers
                .insert("Idempotent-Replayed".into(), replayed);
        }
    }
    for (status, problem) in [
        ("409", "IdempotencyKeyInUseProblem"),
        ("422", "IdempotencyKeyReusedProblem"),
    ] {
        operation
            .responses
            .responses
            .entry(status.into())
            .or_insert_with(|| {
                RefOr::T(
                    Response::builder()
                        .description("A problem with the Idempotency-Key")
                        .content(
                            "application/problem+json",
                            Content::new(Some(Ref::from_schema_name(problem))),
                        )
                        .build(),
                )
            });
    }
}

type Schemas = BTreeMap<String, RefOr<Schema>>;

/// Widens a problem response's body to one of its schema or `problem`.
fn add_alternative(response: &mut Response, problem: &str, schemas: &Schemas) {
    let Some(content) = response.content.get_mut("application/problem+json") else {
        return;
    };
    let only = format!("#/components/schemas/{problem}");
    if matches!(&content.schema, Some(RefOr::Ref(reference)) if reference.ref_location == only) {
        // The operation's own answer is already this problem.
        return;
    }
    let mut one_of = utoipa::openapi::schema::OneOfBuilder::new();
    for alternative in content
        .schema
        .take()
        .map(|existing| alternatives(existing, schemas))
        .into_iter()
        .flatten()
    {
        one_of = one_of.item(alternative);
    }
    content.schema = Some(RefOr::T(Schema::OneOf(
        one_of.item(Ref::from_schema_name(problem)).build(),
    )));
}

/// A body's schema as the alternatives it stands for: the members of a
/// `oneOf`, or of the `oneOf` component it refers to, listed in place.
/// A `oneOf` nested in another is valid, but openapi-generator's
/// typescript-fetch then writes a client that does not compile.
fn alternatives(schema: RefOr<Schema>, schemas: &Schemas) -> Vec<RefOr<Schema>> {
    let one_of = match &schema {
        RefOr::T(Schema::OneOf(one_of)) => Some(one_of),
        RefOr::Ref(reference) => reference
            .ref_location
            .strip_prefix("#/components/schemas/")
            .and_then(|name| match schemas.get(name) {
                Some(RefOr::T(Schema::OneOf(one_of))) => Some(one_of),
                _ => None,
            }),
        RefOr::T(_) => None,
    };
    match one_of {
        Some(one_of) => one_of.items.clone(),
        None => vec![schema],
    }
}

fn string_header() -> Header {
    Header::new(Schema::Object(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::String)
            .build(),
    ))
}
