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
    }
}

diesel::table! {
    product_events (id) {
        id -> BigInt,
        product_id -> Text,
        version -> BigInt,
        number -> Nullable<BigInt>,
    }
}

diesel::joinable!(product_history -> products (product_id));
diesel::joinable!(product_events -> products (product_id));
diesel::allow_tables_to_appear_in_same_query!(
    products,
    product_history,
    product_events,
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
    }
}
