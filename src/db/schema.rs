// The tables of both migration folders, kept by hand: they use only types
// that PostgreSQL and SQLite share, so one schema serves both backends.

diesel::table! {
    products (id) {
        id -> Text,
        sku -> Text,
        name -> Text,
        description -> Text,
        price_minor -> BigInt,
        currency -> Text,
        stock -> BigInt,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    product_history (product_id, version) {
        product_id -> Text,
        version -> BigInt,
        at -> BigInt,
        actor -> Text,
        operation -> Text,
        reason -> Nullable<Text>,
        changes -> Text,
        location -> Nullable<Text>,
        level_version -> Nullable<BigInt>,
        delta -> Nullable<BigInt>,
        on_hand -> Nullable<BigInt>,
        kind -> Nullable<Text>,
        reference -> Nullable<Text>,
    }
}

diesel::table! {
    locations (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    stock_levels (product_id, location_id) {
        product_id -> Text,
        location_id -> Text,
        on_hand -> BigInt,
        version -> BigInt,
        updated_at -> BigInt,
        last_counted_at -> Nullable<BigInt>,
        reorder_point -> Nullable<BigInt>,
        low -> Bool,
    }
}

diesel::table! {
    product_events (id) {
        id -> BigInt,
        product_id -> Text,
        version -> BigInt,
        number -> Nullable<BigInt>,
        kind -> Nullable<Text>,
        payload -> Nullable<Text>,
        at -> Nullable<BigInt>,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        version -> BigInt,
        product_id -> Text,
        location_id -> Text,
        quantity -> BigInt,
        status -> Text,
        expires_at -> BigInt,
        reference -> Nullable<Text>,
        actor -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        version -> BigInt,
        url -> Text,
        events -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
        delivered_through -> BigInt,
        attempts -> Integer,
        failing_since -> Nullable<BigInt>,
        next_attempt_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> Text,
        event_number -> BigInt,
        event_type -> Text,
        attempt -> Integer,
        at -> BigInt,
        succeeded -> Bool,
        status -> Nullable<Integer>,
        latency_ms -> BigInt,
        response -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(product_history -> products (product_id));
diesel::joinable!(product_events -> products (product_id));
diesel::joinable!(stock_levels -> products (product_id));
diesel::joinable!(stock_levels -> locations (location_id));
diesel::joinable!(holds -> products (product_id));
diesel::joinable!(holds -> locations (location_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(
    products,
    locations,
    stock_levels,
    product_history,
    product_events,
    holds,
    webhooks,
    webhook_deliveries,
    idempotency_keys,
    tokens
);

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        created_at -> BigInt,
        claimed_at -> BigInt,
        status -> Nullable<Integer>,
        headers -> Nullable<Text>,
        body -> Nullable<Text>,
        is_problem -> Bool,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        locations -> Nullable<Text>,
    }
}
