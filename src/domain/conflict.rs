use serde::Serialize;
use utoipa::ToSchema;

use super::history::HistoryEntry;
use super::patch::ProductPatch;
use super::precondition::{Precondition, VersionSource};
use super::product::{Product, FIELD_NAMES};

/// The write a stale request tried to make.
#[derive(Clone, Copy)]
pub enum Intent<'a> {
    Update(&'a ProductPatch),
    /// A stock adjustment: it conflicts with changes to the stock only.
    AdjustStock,
    Delete,
}

/// A refused write based on an old version, with everything the client
/// needs to refresh without another round trip.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaleVersion {
    /// The version the request named.
    pub your_version: i64,
    /// The product's version now.
    pub current_version: i64,
    /// The whole current product.
    pub current: Product,
    /// Every version after `your_version`, oldest first.
    pub changes_since: Vec<HistoryEntry>,
    /// Fields this request would set that someone else changed since
    /// `your_version` and that now hold another value than the one sent.
    /// For a DELETE: every field changed since `your_version`.
    pub conflicting_fields: Vec<String>,
    /// True when `conflicting_fields` is empty: re-sending the same change
    /// with `current_version` would overwrite nobody's work.
    pub rebase_safe: bool,
    #[serde(skip)]
    pub source: VersionSource,
}

impl StaleVersion {
    pub fn new(
        precondition: Precondition,
        current: Product,
        changes_since: Vec<HistoryEntry>,
        intent: Intent<'_>,
    ) -> StaleVersion {
        let changed_since = |field: &str| {
            changes_since
                .iter()
                .any(|entry| entry.changes.contains_key(field))
        };
        let conflicting_fields: Vec<String> = match intent {
            Intent::Update(patch) => {
                let wanted = patch.apply_to(&current.fields);
                patch
                    .sent_fields()
                    .filter(|field| {
                        changed_since(field) && wanted.get(field) != current.fields.get(field)
                    })
                    .map(str::to_owned)
                    .collect()
            }
            Intent::AdjustStock => ["stock"]
                .into_iter()
                .filter(|field| changed_since(field))
                .map(str::to_owned)
                .collect(),
            Intent::Delete => FIELD_NAMES
                .into_iter()
                .filter(|field| changed_since(field))
                .map(str::to_owned)
                .collect(),
        };
        StaleVersion {
            your_version: precondition.version,
            current_version: current.version,
            rebase_safe: conflicting_fields.is_empty(),
            conflicting_fields,
            changes_since,
            current,
            source: precondition.source,
        }
    }

    /// The sentence that goes into the problem's `detail`.
    pub fn detail(&self) -> String {
        let now = if self.your_version > self.current_version {
            "only"
        } else {
            "now"
        };
        format!(
            "You sent version {}, but the product is {now} at version {}. Refresh it and apply your change again.",
            self.your_version, self.current_version
        )
    }
}
