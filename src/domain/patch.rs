//! A PATCH's fields. `ProductPatch` is declared with the product's fields,
//! by the list in `product.rs`.

pub use super::product::ProductPatch;
