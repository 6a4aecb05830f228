//! Webhooks: the feed's events pushed to the URLs subscriptions name,
//! signed, in order, at least once (see `delivery`), and only where the
//! operator allows (see `outbound`).

pub mod delivery;
pub mod outbound;
