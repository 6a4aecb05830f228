use utoipa::ToSchema;

use super::product::{ProductFields, FIELD_NAMES};

/// The fields a PATCH sets; absent fields keep their value. Values are
/// already validated by the rules in `fields`.
#[derive(Debug, Clone, Default, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    pub sku: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(nullable = false, max_length = 2000)]
    pub description: Option<String>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub price_minor: Option<i64>,
    #[schema(nullable = false, pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
}

impl ProductPatch {
    /// The product's fields with this patch applied.
    pub fn apply_to(&self, current: &ProductFields) -> ProductFields {
        ProductFields {
            sku: self.sku.clone().unwrap_or_else(|| current.sku.clone()),
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            description: self
                .description
                .clone()
                .unwrap_or_else(|| current.description.clone()),
            price_minor: self.price_minor.unwrap_or(current.price_minor),
            currency: self
                .currency
                .clone()
                .unwrap_or_else(|| current.currency.clone()),
            stock: self.stock.unwrap_or(current.stock),
        }
    }

    /// The names of the fields this patch sends.
    pub fn sent_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        let sent = [
            self.sku.is_some(),
            self.name.is_some(),
            self.description.is_some(),
            self.price_minor.is_some(),
            self.currency.is_some(),
            self.stock.is_some(),
        ];
        FIELD_NAMES
            .into_iter()
            .zip(sent)
            .filter(|(_, sent)| *sent)
            .map(|(name, _)| name)
    }
}
