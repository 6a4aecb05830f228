//! Stock adjustments: a signed delta to one level, guarded never below 0,
//! so concurrent adjustments commute and none is lost.

use uuid::Uuid;

use super::error::StoreError;
use super::levels::{self, Written};
use crate::domain::history::Operation;
use crate::domain::ledger::StockKind;
use crate::domain::level::{Amount, Guard, LevelChange, LevelWrite};
use crate::domain::location::MAIN_CODE;
use crate::domain::stock::StockAdjustment;

/// Adds the adjustment's delta at its location (MAIN when it names none).
/// Its expected version is the product's when it names no location, as
/// before there were locations, and the level's when it names one.
pub fn adjust(
    conn: &mut crate::db::DbConnection,
    id: &Uuid,
    adjustment: &StockAdjustment,
    actor: &str,
) -> Result<Written, StoreError> {
    let guard = match (&adjustment.location, adjustment.expected) {
        (_, None) => Guard::None,
        (None, Some(expected)) => Guard::Product(expected),
        (Some(_), Some(expected)) => Guard::Level(expected),
    };
    let change = LevelChange {
        location: adjustment
            .location
            .clone()
            .unwrap_or_else(|| MAIN_CODE.to_owned()),
        amount: Amount::Add(adjustment.delta),
        kind: StockKind::Adjust,
        guard,
    };
    let write = LevelWrite {
        changes: vec![change],
        operation: Operation::StockAdjustment,
        reason: Some(adjustment.reason.clone()),
        reference: adjustment.reference.clone(),
    };
    levels::write(conn, id, &write, actor)
}
