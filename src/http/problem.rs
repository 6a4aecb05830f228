//! The catalogue of problem types: every `type` an error body can carry,
//! with the title, status and explanation that `GET /problems/<slug>` serves.

use actix_web::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: StatusCode,
    pub explanation: &'static str,
}

impl ProblemType {
    /// The relative URI that goes into a problem's `type`.
    pub fn uri(&self) -> String {
        format!("/problems/{}", self.slug)
    }

    pub fn by_slug(slug: &str) -> Option<&'static ProblemType> {
        ALL.iter().copied().find(|problem| problem.slug == slug)
    }

    /// The type used for an error response that did not come from this
    /// service's own errors (a framework error), chosen by its status.
    pub fn for_status(status: StatusCode) -> &'static ProblemType {
        match status {
            StatusCode::NOT_FOUND => &NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED => &METHOD_NOT_ALLOWED,
            StatusCode::PAYLOAD_TOO_LARGE => &PAYLOAD_TOO_LARGE,
            StatusCode::REQUEST_TIMEOUT => &REQUEST_TIMEOUT,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => &UNSUPPORTED_MEDIA_TYPE,
            StatusCode::SERVICE_UNAVAILABLE => &UNAVAILABLE,
            status if status.is_server_error() => &INTERNAL,
            _ => &MALFORMED_REQUEST,
        }
    }
}

pub const MALFORMED_REQUEST: ProblemType = ProblemType {
    slug: "malformed-request",
    title: "The request could not be understood",
    status: StatusCode::BAD_REQUEST,
    explanation: "The request is not well-formed: its JSON does not parse, a path id is not a UUID, \
        a query parameter or cursor is invalid, or the version in the body disagrees with If-Match. \
        `errors` lists each problem; fix the request before sending it again.",
};

pub const NOT_FOUND: ProblemType = ProblemType {
    slug: "not-found",
    title: "Not found",
    status: StatusCode::NOT_FOUND,
    explanation:
        "There is no such resource: the product does not exist or was deleted, or the path \
        names no route. A deleted product's history stays readable.",
};

pub const UNAUTHORIZED: ProblemType = ProblemType {
    slug: "unauthorized",
    title: "Authentication required",
    status: StatusCode::UNAUTHORIZED,
    explanation: "Every /v1 request needs `Authorization: Bearer <token>` with a live token. The \
        token was missing, unknown or revoked. An administrator makes tokens with \
        `inventory-api token create --role ROLE --name NAME`.",
};

pub const FORBIDDEN: ProblemType = ProblemType {
    slug: "forbidden",
    title: "Your token's role may not do this",
    status: StatusCode::FORBIDDEN,
    explanation: "Roles, each including the ones below it: admin > manager > sync > viewer. A \
        viewer reads; sync also adjusts and syncs stock and may PATCH `stock` alone; a manager also \
        creates, updates and deletes products. Ask for a token with the role this request needs.",
};

pub const RATE_LIMITED: ProblemType = ProblemType {
    slug: "rate-limited",
    title: "Too many requests",
    status: StatusCode::TOO_MANY_REQUESTS,
    explanation:
        "This token sent more requests than its rate limit allows, or this address failed \
        to authenticate too often. Nothing was applied; retry after the seconds in `Retry-After`.",
};

pub const METHOD_NOT_ALLOWED: ProblemType = ProblemType {
    slug: "method-not-allowed",
    title: "Method not allowed",
    status: StatusCode::METHOD_NOT_ALLOWED,
    explanation: "The path exists but does not accept this method. The `Allow` header lists the \
        methods it accepts.",
};

pub const STALE_VERSION: ProblemType = ProblemType {
    slug: "stale-version",
    title: "The product was changed by someone else",
    status: StatusCode::CONFLICT,
    explanation:
        "The write named a version that is no longer the product's current version, so it \
        was not applied. The body carries the current product (`current`, `current_version`), what \
        changed since your version (`changes_since`), which of your fields someone else changed \
        (`conflicting_fields`) and whether re-sending your change with `current_version` would \
        overwrite nobody's work (`rebase_safe`). The status is 412 when the stale version came in \
        `If-Match`, 409 when it came in the body or the `version` query parameter.",
};

pub const DUPLICATE_SKU: ProblemType = ProblemType {
    slug: "duplicate-sku",
    title: "Another product has this SKU",
    status: StatusCode::CONFLICT,
    explanation: "SKUs are unique among live products, ignoring case. `existing_id` names the \
        product that holds the SKU; choose another SKU or change that product first.",
};

pub const INSUFFICIENT_STOCK: ProblemType = ProblemType {
    slug: "insufficient-stock",
    title: "Not enough stock",
    status: StatusCode::CONFLICT,
    explanation: "The change would take the stock at a location below 0, so nothing was \
        applied. `level` is the level as it is now, `current_stock` and `current` the product's \
        total and the product.",
};

pub const INSUFFICIENT_AVAILABLE: ProblemType = ProblemType {
    slug: "insufficient-available",
    title: "Not enough stock available to hold",
    status: StatusCode::CONFLICT,
    explanation: "The hold would take more than the level has available (`on_hand` less what \
        active holds reserve), so nothing was held; for several lines, none was. `requested` is \
        what the request's lines on this product and location asked in all, `level` the level as \
        it is now, with `on_hand`, `reserved` and `available`.",
};

pub const HOLD_NOT_ACTIVE: ProblemType = ProblemType {
    slug: "hold-not-active",
    title: "The hold has ended",
    status: StatusCode::CONFLICT,
    explanation: "The hold was committed, released, or has expired, so it can no longer be \
        changed, committed or released. `hold` is the hold as it is now; for an expired one, \
        `expired_at` says when. An expired hold's stock is available again: hold anew if it is \
        still wanted.",
};

pub const DUPLICATE_LOCATION: ProblemType = ProblemType {
    slug: "duplicate-location",
    title: "Another location has this code",
    status: StatusCode::CONFLICT,
    explanation: "Location codes are unique ignoring case among all locations ever made,         deleted ones included, so that a code in the ledger always names one place. Choose         another code.",
};

pub const LOCATION_NOT_EMPTY: ProblemType = ProblemType {
    slug: "location-not-empty",
    title: "The location still holds stock",
    status: StatusCode::CONFLICT,
    explanation: "A location is deleted only once it holds no stock of any live product.         `products_held` says how many products it still holds; transfer their stock elsewhere         (`POST /v1/transfers`) or count it to 0, then delete the location again.",
};

pub const DEFAULT_LOCATION: ProblemType = ProblemType {
    slug: "default-location",
    title: "MAIN cannot be deleted",
    status: StatusCode::CONFLICT,
    explanation: "MAIN is where every stock write that names no location acts, so it always         exists. It can be renamed.",
};

pub const STOCK_AT_SEVERAL_LOCATIONS: ProblemType = ProblemType {
    slug: "stock-at-several-locations",
    title: "Write the level, not the product's stock",
    status: StatusCode::CONFLICT,
    explanation: "A product's `stock` is the sum of its levels. Setting it is allowed only while         the product has stock at MAIN alone, since it sets MAIN's level. This product has stock         elsewhere too (`levels` lists them): write the level instead, with         `PATCH /v1/products/{id}/levels/{code}`, or move stock with `POST /v1/transfers`.",
};

pub const STOCK_SYNC_CONFLICT: ProblemType = ProblemType {
    slug: "stock-sync-conflict",
    title: "The atomic stock sync was not applied",
    status: StatusCode::CONFLICT,
    explanation: "An item of an atomic stock sync could not be applied (a stale \
        `expected_version`, or no product with its SKU), so no item was. `results` marks each \
        failing item (`conflict` with the current product, or `not_found`); the others are \
        `not_applied`. Fix the failing items and send the batch again.",
};

pub const IDEMPOTENCY_KEY_IN_USE: ProblemType = ProblemType {
    slug: "idempotency-key-in-use",
    title: "A request with this Idempotency-Key is still running",
    status: StatusCode::CONFLICT,
    explanation: "The first request sent with this `Idempotency-Key` has not finished. Retry \
        after the seconds in `Retry-After`: you will get its response, and it will have been \
        applied once.",
};

pub const IDEMPOTENCY_KEY_REUSED: ProblemType = ProblemType {
    slug: "idempotency-key-reused",
    title: "This Idempotency-Key was used for another request",
    status: StatusCode::UNPROCESSABLE_ENTITY,
    explanation: "An `Idempotency-Key` names one request: the same method, path and body. This \
        key was first sent with a different request, so this one was not applied. Use a new key \
        for a new request.",
};

pub const PAYLOAD_TOO_LARGE: ProblemType = ProblemType {
    slug: "payload-too-large",
    title: "Request body too large",
    status: StatusCode::PAYLOAD_TOO_LARGE,
    explanation: "Request bodies are limited to 1 MiB.",
};

pub const IDEMPOTENCY_QUOTA_EXCEEDED: ProblemType = ProblemType {
    slug: "idempotency-quota-exceeded",
    title: "Too many idempotency keys",
    status: StatusCode::TOO_MANY_REQUESTS,
    explanation: "Each token may hold a limited number of idempotency keys at once \
        (`--idempotency-keys-per-token`); each is kept 24 hours with the response recorded \
        under it. A request with a new key beyond that is refused and nothing is applied. \
        Retries of requests already answered are still replayed. Use one key per logical \
        operation, not per attempt.",
};

pub const TOO_MANY_STREAMS: ProblemType = ProblemType {
    slug: "too-many-streams",
    title: "Too many open event streams",
    status: StatusCode::TOO_MANY_REQUESTS,
    explanation: "A token may hold a limited number of `GET /v1/events` streams open at once \
        (`--max-streams-per-token`). Close one you no longer read, or retry after Retry-After \
        seconds. One stream per client is enough: every change reaches every stream.",
};

pub const TOO_MANY_CONNECTIONS: ProblemType = ProblemType {
    slug: "too-many-connections",
    title: "Too many connections from this address",
    status: StatusCode::TOO_MANY_REQUESTS,
    explanation: "One client address may hold a limited number of connections open at once \
        (`--max-connections-per-address`). A request on a further one is answered with this \
        and the connection closed; nothing was applied. Reuse keep-alive connections, or retry \
        after Retry-After seconds.",
};

pub const REQUEST_TIMEOUT: ProblemType = ProblemType {
    slug: "request-timeout",
    title: "The request body did not arrive in time",
    status: StatusCode::REQUEST_TIMEOUT,
    explanation: "A request's whole body must arrive within the server's body timeout \
        (`--body-timeout`, 30 s by default) from its headers on. The server answers 408 and \
        closes the connection; nothing was applied. Send the body whole, then retry.",
};

pub const UNSUPPORTED_MEDIA_TYPE: ProblemType = ProblemType {
    slug: "unsupported-media-type",
    title: "Unsupported media type",
    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
    explanation: "Write bodies must be sent with `Content-Type: application/json` \
        (or `application/merge-patch+json` for PATCH).",
};

pub const VALIDATION: ProblemType = ProblemType {
    slug: "validation",
    title: "The request breaks a rule",
    status: StatusCode::UNPROCESSABLE_ENTITY,
    explanation: "The body is well-formed JSON but breaks one or more rules of the contract. \
        `errors` lists every broken rule, each with a JSON pointer to the offending field.",
};

pub const VERSION_REQUIRED: ProblemType = ProblemType {
    slug: "version-required",
    title: "A version is required",
    status: StatusCode::PRECONDITION_REQUIRED,
    explanation: "Writes to an existing product must name the version they are based on: \
        `\"version\": N` in the body (`?version=N` for DELETE) or `If-Match: \"N\"` with the ETag \
        you read. `If-Match: *` is not enough. A write without a version is never applied.",
};

pub const EVENTS_PURGED: ProblemType = ProblemType {
    slug: "events-purged",
    title: "Resume point no longer kept",
    status: StatusCode::GONE,
    explanation: "The stream was asked to resume after a change older than the feed keeps \
        (`--feed-retention-days`), so changes since it can no longer be sent. Read the products \
        again (`GET /v1/products`), then open the stream without `Last-Event-ID`.",
};

pub const UNAVAILABLE: ProblemType = ProblemType {
    slug: "unavailable",
    title: "Service temporarily unavailable",
    status: StatusCode::SERVICE_UNAVAILABLE,
    explanation: "The database is unreachable or busy. Nothing was applied; retry after the \
        number of seconds in `Retry-After`. The service recovers by itself when the database is back.",
};

pub const INTERNAL: ProblemType = ProblemType {
    slug: "internal",
    title: "Internal server error",
    status: StatusCode::INTERNAL_SERVER_ERROR,
    explanation: "Something failed inside the service. The response carries no details; quote its \
        `request_id` when reporting it, so the operators can find the cause in the logs.",
};

pub const ALL: &[&ProblemType] = &[
    &MALFORMED_REQUEST,
    &NOT_FOUND,
    &UNAUTHORIZED,
    &FORBIDDEN,
    &RATE_LIMITED,
    &TOO_MANY_STREAMS,
    &TOO_MANY_CONNECTIONS,
    &METHOD_NOT_ALLOWED,
    &STALE_VERSION,
    &DUPLICATE_SKU,
    &INSUFFICIENT_STOCK,
    &INSUFFICIENT_AVAILABLE,
    &HOLD_NOT_ACTIVE,
    &DUPLICATE_LOCATION,
    &LOCATION_NOT_EMPTY,
    &DEFAULT_LOCATION,
    &STOCK_AT_SEVERAL_LOCATIONS,
    &STOCK_SYNC_CONFLICT,
    &IDEMPOTENCY_KEY_IN_USE,
    &IDEMPOTENCY_KEY_REUSED,
    &IDEMPOTENCY_QUOTA_EXCEEDED,
    &PAYLOAD_TOO_LARGE,
    &REQUEST_TIMEOUT,
    &UNSUPPORTED_MEDIA_TYPE,
    &VALIDATION,
    &VERSION_REQUIRED,
    &EVENTS_PURGED,
    &UNAVAILABLE,
    &INTERNAL,
];
