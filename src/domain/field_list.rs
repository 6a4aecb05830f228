//! Turns the list of a product's fields (`product_fields!` in `product.rs`)
//! into what every field needs: its place in `ProductFields`,
//! `ProductPatch` and `FIELD_NAMES`, its reading from a create or a PATCH,
//! and what the OpenAPI document says of it. Nothing here names a field:
//! a new field is an entry in the list, not a change here.

use serde_json::Value;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};

use super::field_source::OnCreate;

/// What the document says of one field.
pub struct FieldSchemas {
    pub name: &'static str,
    /// What the field holds, for a person: its doc comment.
    pub about: String,
    pub on_create: OnCreate,
    pub example: Value,
    /// What a create that leaves the field out stores.
    pub default: Value,
    /// The field in a product the server sends.
    pub shown_as: ObjectBuilder,
    /// The field in a body the server accepts.
    pub accepted_as: RefOr<Schema>,
}

macro_rules! product_fields {
    (
        $(
            $(#[doc = $doc:literal])*
            $name:ident: $type:ty {
                rule: $rule:expr,
                on_create: $on_create:ident,
                example: $example:expr,
                shown_as: $shown_as:expr,
                accepted_as: $accepted_as:expr $(,)?
            }
        ),* $(,)?
    ) => {
        /// The fields a client writes.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        pub struct ProductFields {
            $( $(#[doc = $doc])* pub $name: $type, )*
        }

        /// The names of the writable fields, in the order the API shows them.
        pub const FIELD_NAMES: [&str; FIELD_COUNT] = [$(stringify!($name)),*];

        const FIELD_COUNT: usize = [$(stringify!($name)),*].len();

        /// The fields a PATCH sets; absent fields keep their value. Values
        /// are already checked by their rules.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct ProductPatch {
            $( pub $name: Option<$type>, )*
        }

        impl ProductFields {
            /// The field's value as JSON, by its API name.
            pub fn get(&self, field: &str) -> serde_json::Value {
                use $crate::domain::field_source::FieldValue;
                match field {
                    $( stringify!($name) => self.$name.to_json(), )*
                    _ => serde_json::Value::Null,
                }
            }

            /// The product the document's examples show.
            pub fn example() -> ProductFields {
                ProductFields {
                    $( $name: <$type>::from($example), )*
                }
            }

            /// What the OpenAPI document says of each field, in order.
            pub fn schemas() -> [$crate::domain::field_list::FieldSchemas; FIELD_COUNT] {
                use $crate::domain::field_source::{FieldValue, OnCreate};
                [$(
                    $crate::domain::field_list::FieldSchemas {
                        name: stringify!($name),
                        about: concat!($($doc, "\n"),*)
                            .lines()
                            .map(str::trim)
                            .collect::<Vec<_>>()
                            .join("\n"),
                        on_create: OnCreate::$on_create,
                        example: <$type>::from($example).to_json(),
                        default: <$type>::default().to_json(),
                        shown_as: $shown_as,
                        accepted_as: $accepted_as.into(),
                    },
                )*]
            }
        }

        impl ProductPatch {
            /// Reads every field from `source`, in the list's order, each
            /// checked by its rule. A create must send its required fields.
            pub fn read(
                source: &mut impl $crate::domain::field_source::FieldSource,
                writing: $crate::domain::field_source::Writing,
            ) -> ProductPatch {
                use $crate::domain::field_source::{FieldValue, OnCreate};
                ProductPatch {
                    $(
                        $name: <$type as FieldValue>::read(
                            source,
                            stringify!($name),
                            writing.presence(OnCreate::$on_create),
                            $rule,
                        ),
                    )*
                }
            }

            /// A new product's fields, with the defaults of those left out;
            /// None when a field a create must send is missing.
            pub fn into_new(self) -> Option<ProductFields> {
                use $crate::domain::field_source::OnCreate;
                Some(ProductFields {
                    $(
                        $name: match self.$name {
                            Some(value) => value,
                            None if OnCreate::$on_create == OnCreate::Required => return None,
                            None => Default::default(),
                        },
                    )*
                })
            }

            /// The product's fields with this patch applied.
            // One expansion serves text and integer fields alike.
            #[allow(clippy::clone_on_copy)]
            pub fn apply_to(&self, current: &ProductFields) -> ProductFields {
                ProductFields {
                    $( $name: self.$name.as_ref().unwrap_or(&current.$name).clone(), )*
                }
            }

            /// The names of the fields this patch sends.
            pub fn sent_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
                let sent = [$(self.$name.is_some()),*];
                FIELD_NAMES
                    .into_iter()
                    .zip(sent)
                    .filter(|(_, sent)| *sent)
                    .map(|(name, _)| name)
            }
        }
    };
}

pub(crate) use product_fields;
