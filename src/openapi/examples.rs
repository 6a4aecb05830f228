//! Example values for the document: what each request looks like, and the
//! 409s a client must act on, shaped as the server writes them (a test
//! compares the stale-version example with a real 409).

use serde_json::{json, Map, Value};

use crate::domain::product::{ProductFields, FIELD_NAMES};

const PRODUCT_ID: &str = "0193a1f2-7c3d-7e4f-8a5b-6c7d8e9f0a1b";

/// The example product (`ProductFields::example`) as a response shows it.
fn product(version: i64, price_minor: i64, stock: i64, updated_at: &str) -> Value {
    let fields = ProductFields {
        price_minor,
        stock,
        ..ProductFields::example()
    };
    let mut product = Map::new();
    product.insert("id".into(), PRODUCT_ID.into());
    product.extend(as_json(&fields));
    product.insert("reserved".into(), 0.into());
    product.insert("available".into(), stock.into());
    product.insert("version".into(), version.into());
    product.insert("created_at".into(), "2026-11-02T09:15:00.000Z".into());
    product.insert("updated_at".into(), updated_at.into());
    Value::Object(product)
}

fn as_json(fields: &ProductFields) -> Map<String, Value> {
    FIELD_NAMES
        .into_iter()
        .map(|name| (name.to_owned(), fields.get(name)))
        .collect()
}

fn problem(slug: &str, title: &str, detail: &str, instance: &str) -> Value {
    json!({
        "type": format!("/problems/{slug}"),
        "title": title,
        "status": 409,
        "detail": detail,
        "instance": instance,
        "request_id": "0193a1f9-0b1c-7d2e-9f30-4a5b6c7d8e9f",
    })
}

fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

pub fn create_product_request() -> Value {
    Value::Object(as_json(&ProductFields::example()))
}

pub fn update_product_request() -> Value {
    json!({ "version": 1, "price_minor": 1400 })
}

pub fn adjust_stock_request() -> Value {
    json!({ "delta": -3, "reason": "sale #1042" })
}

pub fn sync_stock_request() -> Value {
    json!({
        "mode": "best_effort",
        "reason": "nightly count",
        "items": [
            { "sku": "MUG-BLUE-01", "stock": 35, "expected_version": 2 },
            { "sku": "MUG-RED-01", "stock": 12, "force": true },
            { "sku": "MUG-RED-01", "location": "SHOP-1", "stock": 7, "counted_at": "2026-11-02T09:30:00Z" },
        ],
    })
}

/// A level as responses show it.
fn level(location: &str, on_hand: i64, version: i64) -> Value {
    held_level(location, on_hand, 0, version)
}

fn held_level(location: &str, on_hand: i64, reserved: i64, version: i64) -> Value {
    json!({
        "location": location,
        "on_hand": on_hand,
        "reserved": reserved,
        "available": on_hand - reserved,
        "version": version,
        "updated_at": "2026-11-02T10:41:07.512Z",
        "last_counted_at": null,
        "reorder_point": null,
    })
}

/// A colleague counted the shelf (level version 5) while you set version 4.
pub fn stale_level() -> Value {
    merged(
        problem(
            "stale-version",
            "The product was changed by someone else",
            "You sent version 4 of the level at SHOP-1, but it is at version 5. Refresh it and apply your change again.",
            &format!("/v1/products/{PRODUCT_ID}/levels/SHOP-1"),
        ),
        json!({
            "your_version": 4,
            "current_version": 5,
            "current": level("SHOP-1", 9, 5),
            "changes_since": [{
                "version": 8,
                "operation": "stock_adjustment",
                "actor": "till-2",
                "at": "2026-11-02T10:41:07.512Z",
                "reason": "sale #1042",
                "changes": { "stock": { "from": 41, "to": 40 } },
                "ledger": { "location": "SHOP-1", "level_version": 5, "delta": -1, "on_hand": 9, "kind": "adjust", "reference": null },
            }],
            "conflicting_fields": ["on_hand"],
            "rebase_safe": false,
        }),
    )
}

pub fn stale_location() -> Value {
    merged(
        problem(
            "stale-version",
            "The product was changed by someone else",
            "You sent version 1, but location SHOP-1 is at version 2. Refresh it and apply your change again.",
            "/v1/locations/SHOP-1",
        ),
        json!({
            "your_version": 1,
            "current_version": 2,
            "current": {
                "id": "0193a1f5-2a3b-7c4d-8e5f-6a7b8c9d0e1f",
                "code": "SHOP-1",
                "name": "High Street shop",
                "version": 2,
                "created_at": "2026-11-02T09:15:00.000Z",
                "updated_at": "2026-11-02T10:41:07.512Z",
            },
            "conflicting_fields": ["name"],
            "rebase_safe": false,
        }),
    )
}

pub fn duplicate_location() -> Value {
    problem(
        "duplicate-location",
        "Another location has this code",
        "Another location already has code SHOP-1 (codes are compared ignoring case, and a deleted location's code stays taken). Choose another code.",
        "/v1/locations",
    )
}

pub fn location_not_empty() -> Value {
    merged(
        problem(
            "location-not-empty",
            "The location still holds stock",
            "Location SHOP-1 still holds stock of 3 live product(s). Transfer or count it to 0, then delete the location.",
            "/v1/locations/SHOP-1",
        ),
        json!({ "products_held": 3 }),
    )
}

pub fn stock_at_several_locations() -> Value {
    merged(
        problem(
            "stock-at-several-locations",
            "Write the level, not the product's stock",
            "This product has stock at several locations, so its stock cannot be set as one number. Write the level instead: PATCH /v1/products/{id}/levels/{code}.",
            &format!("/v1/products/{PRODUCT_ID}"),
        ),
        json!({ "levels": [level("MAIN", 31, 6), level("SHOP-1", 9, 5)] }),
    )
}

pub fn insufficient_at_origin() -> Value {
    merged(
        problem(
            "insufficient-stock",
            "Not enough stock",
            "The product has 3 in stock at SHOP-1; adding -5 would take it below 0. Nothing was applied.",
            "/v1/transfers",
        ),
        json!({
            "current_stock": 40,
            "current": product(6, 1300, 40, "2026-11-02T10:41:07.512Z"),
            "level": level("SHOP-1", 3, 5),
        }),
    )
}

/// A colleague changed the price (version 2) while you edited version 1.
pub fn stale_version() -> Value {
    merged(
        problem(
            "stale-version",
            "The product was changed by someone else",
            "You sent version 1, but the product is now at version 2. Refresh it and apply your change again.",
            &format!("/v1/products/{PRODUCT_ID}"),
        ),
        json!({
            "your_version": 1,
            "current_version": 2,
            "current": product(2, 1300, 40, "2026-11-02T10:41:07.512Z"),
            "changes_since": [{
                "version": 2,
                "operation": "update",
                "actor": "store-ui",
                "at": "2026-11-02T10:41:07.512Z",
                "reason": null,
                "changes": { "price_minor": { "from": 1250, "to": 1300 } },
                "ledger": null,
            }],
            "conflicting_fields": ["price_minor"],
            "rebase_safe": false,
        }),
    )
}

pub fn duplicate_sku() -> Value {
    merged(
        problem(
            "duplicate-sku",
            "Another product has this SKU",
            "Another live product already has SKU \"MUG-RED-01\" (SKUs are compared ignoring case). Choose another SKU.",
            &format!("/v1/products/{PRODUCT_ID}"),
        ),
        json!({ "existing_id": "0193a1f4-1d2e-7f3a-8b4c-5d6e7f8a9b0c" }),
    )
}

pub fn insufficient_stock() -> Value {
    merged(
        problem(
            "insufficient-stock",
            "Not enough stock",
            "The product has 40 in stock at MAIN; adding -50 would take it below 0. Nothing was applied.",
            &format!("/v1/products/{PRODUCT_ID}/stock-adjustments"),
        ),
        json!({
            "current_stock": 40,
            "current": product(2, 1300, 40, "2026-11-02T10:41:07.512Z"),
            "level": level("MAIN", 40, 2),
        }),
    )
}

pub fn stock_sync_conflict() -> Value {
    merged(
        problem(
            "stock-sync-conflict",
            "The atomic stock sync was not applied",
            "1 item(s) conflicted and 1 were not found, so the atomic batch applied nothing. `results` marks each item.",
            "/v1/stock-sync",
        ),
        json!({
            "results": [
                {
                    "sku": "MUG-BLUE-01",
                    "status": "conflict",
                    "product_id": PRODUCT_ID,
                    "current_version": 2,
                    "current": product(2, 1300, 40, "2026-11-02T10:41:07.512Z"),
                },
                { "sku": "MUG-RED-01", "status": "not_found" },
            ],
            "summary": { "updated": 0, "rebased": 0, "unchanged": 0, "superseded": 0, "conflict": 1, "not_found": 1 },
        }),
    )
}

/// A hold of the example product, as a response shows it.
fn hold(version: i64, status: &str, expires_at: &str) -> Value {
    json!({
        "id": "0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f1a",
        "version": version,
        "product_id": PRODUCT_ID,
        "sku": ProductFields::example().sku,
        "location": "MAIN",
        "quantity": 2,
        "status": status,
        "expires_at": expires_at,
        "reference": "cart-8841",
        "actor": "shop",
        "created_at": "2026-11-02T10:30:00.000Z",
        "updated_at": "2026-11-02T10:30:00.000Z",
    })
}

/// Two more asked for while 40 are on hand and 39 held.
pub fn insufficient_available() -> Value {
    merged(
        problem(
            "insufficient-available",
            "Not enough stock available to hold",
            "2 of MUG-BLUE-01 at MAIN cannot be held: 1 are available (40 on hand, 39 held). Nothing was held.",
            "/v1/holds",
        ),
        json!({
            "product_id": PRODUCT_ID,
            "sku": ProductFields::example().sku,
            "location": "MAIN",
            "requested": 2,
            "level": held_level("MAIN", 40, 39, 6),
        }),
    )
}

/// The checkout extended the hold (version 2) while you changed version 1.
pub fn stale_hold() -> Value {
    merged(
        problem(
            "stale-version",
            "The product was changed by someone else",
            "You sent version 1 of hold 0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f1a, but it is at version 2. Read it again and decide whether your change still applies.",
            "/v1/holds/0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f1a",
        ),
        json!({
            "your_version": 1,
            "current_version": 2,
            "current": hold(2, "active", "2026-11-02T11:00:00.000Z"),
        }),
    )
}

/// A retry sent while the first request with its key is still running.
pub fn idempotency_key_in_use() -> Value {
    problem(
        "idempotency-key-in-use",
        "A request with this Idempotency-Key is still running",
        "The first request with this Idempotency-Key has not finished. Retry after a moment: you will get its answer.",
        "/v1/webhooks",
    )
}

/// An admin disabled the webhook since you read it.
pub fn stale_webhook() -> Value {
    merged(
        problem(
            "stale-version",
            "The product was changed by someone else",
            "You sent version 1 of webhook 0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f2b, but it is at version 2. Read it again and decide whether your change still applies.",
            "/v1/webhooks/0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f2b",
        ),
        json!({
            "your_version": 1,
            "current_version": 2,
            "current": {
                "id": "0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f2b",
                "version": 2,
                "url": "https://erp.example.com/hooks/inventory",
                "events": ["product", "stock.low"],
                "enabled": false,
                "disabled_reason": null,
                "delivered_through": 1234,
                "failing_since": null,
                "next_attempt_at": null,
                "previous_secret_expires_at": null,
                "created_at": "2026-11-02T10:00:00.000Z",
                "updated_at": "2026-11-02T10:30:00.000Z",
            },
        }),
    )
}

/// The customer paid after the hold ran out.
pub fn hold_expired() -> Value {
    merged(
        problem(
            "hold-not-active",
            "The hold has ended",
            "Hold 0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f1a expired at 2026-11-02T10:45:00.000Z; its stock is available again. Hold anew if it is still wanted.",
            "/v1/holds/0193a1f4-2b3c-7d4e-8f5a-6b7c8d9e0f1a/commit",
        ),
        json!({
            "hold": hold(1, "expired", "2026-11-02T10:45:00.000Z"),
            "expired_at": "2026-11-02T10:45:00.000Z",
        }),
    )
}
