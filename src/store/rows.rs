//! Rows as the database keeps them, and their conversion to domain values.

use diesel::prelude::*;
use uuid::Uuid;

use super::error::StoreError;
use super::reserved::{OfProduct, Reserved};
use crate::db::schema::{product_history, products};
use crate::domain::changes::Changes;
use crate::domain::history::{HistoryEntry, Operation};
use crate::domain::ledger::{LedgerEntry, StockKind};
use crate::domain::product::{Product, ProductFields};
use crate::domain::timestamp::{from_micros, to_micros};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub stock: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// Summed from the product's holds when read (see `reserved`).
    #[diesel(skip_insertion)]
    #[diesel(select_expression = Reserved::<OfProduct>::now())]
    #[diesel(select_expression_type = Reserved<OfProduct>)]
    pub reserved: i64,
}

impl ProductRow {
    pub fn from_product(product: &Product) -> ProductRow {
        let fields = &product.fields;
        ProductRow {
            id: product.id.to_string(),
            sku: fields.sku.clone(),
            name: fields.name.clone(),
            description: fields.description.clone(),
            price_minor: fields.price_minor,
            currency: fields.currency.clone(),
            stock: fields.stock,
            version: product.version,
            created_at: to_micros(product.created_at),
            updated_at: to_micros(product.updated_at),
            deleted_at: None,
            reserved: product.reserved,
        }
    }

    pub fn into_product(self) -> Result<Product, StoreError> {
        Ok(Product {
            id: parse_id(&self.id)?,
            fields: ProductFields {
                sku: self.sku,
                name: self.name,
                description: self.description,
                price_minor: self.price_minor,
                currency: self.currency,
                stock: self.stock,
            },
            reserved: self.reserved,
            available: self.stock - self.reserved,
            version: self.version,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = product_history)]
// A missing reason is NULL, never DEFAULT, which lets SQLite batch-insert rows.
#[diesel(treat_none_as_default_value = false)]
pub struct HistoryRow {
    pub product_id: String,
    pub version: i64,
    pub at: i64,
    pub actor: String,
    pub operation: String,
    pub reason: Option<String>,
    pub changes: String,
    pub location: Option<String>,
    pub level_version: Option<i64>,
    pub delta: Option<i64>,
    pub on_hand: Option<i64>,
    pub kind: Option<String>,
    pub reference: Option<String>,
}

impl HistoryRow {
    pub fn from_entry(product_id: &Uuid, entry: &HistoryEntry) -> Result<HistoryRow, StoreError> {
        let ledger = entry.ledger.as_ref();
        Ok(HistoryRow {
            product_id: product_id.to_string(),
            version: entry.version,
            at: to_micros(entry.at),
            actor: entry.actor.clone(),
            operation: entry.operation.as_str().to_owned(),
            reason: entry.reason.clone(),
            changes: serde_json::to_string(&entry.changes).map_err(StoreError::internal)?,
            location: ledger.map(|ledger| ledger.location.clone()),
            level_version: ledger.and_then(|ledger| ledger.level_version),
            delta: ledger.map(|ledger| ledger.delta),
            on_hand: ledger.map(|ledger| ledger.on_hand),
            kind: ledger.map(|ledger| ledger.kind.as_str().to_owned()),
            reference: ledger.and_then(|ledger| ledger.reference.clone()),
        })
    }

    pub fn into_entry(self) -> Result<HistoryEntry, StoreError> {
        let operation = Operation::parse(&self.operation).ok_or_else(|| {
            StoreError::internal(format!("unknown operation {:?} in history", self.operation))
        })?;
        let changes: Changes = serde_json::from_str(&self.changes).map_err(StoreError::internal)?;
        let ledger = match (self.location, self.delta, self.on_hand, self.kind) {
            (Some(location), Some(delta), Some(on_hand), Some(kind)) => Some(LedgerEntry {
                location,
                level_version: self.level_version,
                delta,
                on_hand,
                kind: StockKind::parse(&kind).ok_or_else(|| {
                    StoreError::internal(format!("unknown stock kind {kind:?} in history"))
                })?,
                reference: self.reference,
            }),
            _ => None,
        };
        Ok(HistoryEntry {
            version: self.version,
            at: from_micros(self.at),
            actor: self.actor,
            operation,
            reason: self.reason,
            changes,
            ledger,
        })
    }
}

pub(super) fn parse_id(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id)
        .map_err(|error| StoreError::internal(format!("stored product id {id:?}: {error}")))
}
