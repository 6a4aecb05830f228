use super::product::{ProductFields, FIELD_NAMES};

/// The fields a PATCH sets; absent fields keep their value. Values are
/// already validated by the rules in `fields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
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
