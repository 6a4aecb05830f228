//! The limits of a listing: how much one page holds, and how long a filter
//! may be.

use super::fields::{NAME_MAX_CHARS, SKU_MAX_CHARS};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;

/// Longest `sku` or `q` filter worth running: no SKU or name is longer.
pub const MAX_FILTER_CHARS: usize = if NAME_MAX_CHARS > SKU_MAX_CHARS {
    NAME_MAX_CHARS
} else {
    SKU_MAX_CHARS
};
