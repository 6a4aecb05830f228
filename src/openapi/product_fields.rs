//! The product's fields in the document: the `ProductFields` schema that
//! responses carry, and the bodies of a create and a PATCH. All are built
//! from the list of fields in `domain/product.rs`.

use serde_json::Value;
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::{Object, ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::field_source::OnCreate;
use crate::domain::number_schemas::{self, with_example};
use crate::domain::product::ProductFields;

impl PartialSchema for ProductFields {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("The fields a client writes."));
        for field in ProductFields::schemas() {
            let mut shown = field.shown_as.description(Some(field.about)).build();
            if !has_example(&shown) {
                set_example(&mut shown, field.example);
            }
            object = object.property(field.name, shown).required(field.name);
        }
        object.into()
    }
}

impl ToSchema for ProductFields {}

/// The body of a create. `id`, `version` and the timestamps are the
/// server's to set and are refused here.
pub struct CreateProductRequest;

impl PartialSchema for CreateProductRequest {
    fn schema() -> RefOr<Schema> {
        let mut object = body(
            "The body of a create. `id`, `version` and the timestamps are the\n\
             server's to set and are refused here.",
        );
        for field in ProductFields::schemas() {
            let mut accepted = field.accepted_as;
            // Stated here where the field's own schema does not say them.
            if let RefOr::T(Schema::Object(schema)) = &mut accepted {
                if !has_example(schema) {
                    set_example(schema, field.example);
                }
                if field.on_create == OnCreate::Defaults && schema.description.is_none() {
                    schema.description = Some(format!("Defaults to {}.", field.default));
                }
            }
            if field.on_create == OnCreate::Required {
                object = object.required(field.name);
            }
            object = object.property(field.name, accepted);
        }
        object.into()
    }
}

impl ToSchema for CreateProductRequest {}

/// The body of a PATCH: the fields to change (absent ones keep their
/// value), and the version they are based on (here or in `If-Match`).
pub struct UpdateProductRequest;

impl PartialSchema for UpdateProductRequest {
    fn schema() -> RefOr<Schema> {
        let version = with_example(number_schemas::version(), 3).description(Some(
            "The version your change is based on. Required unless sent as `If-Match`.",
        ));
        let mut object = body(
            "The body of a PATCH: the fields to change (absent ones keep their\n\
             value), and the version they are based on (here or in `If-Match`).",
        )
        .property("version", version);
        for field in ProductFields::schemas() {
            object = object.property(field.name, field.accepted_as);
        }
        object.into()
    }
}

impl ToSchema for UpdateProductRequest {}

/// A request body: an object that refuses fields it does not name.
fn body(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

// `example` is what derived schemas write; the document keeps to it.
#[allow(deprecated)]
fn has_example(schema: &Object) -> bool {
    schema.example.is_some() || !schema.examples.is_empty()
}

#[allow(deprecated)]
fn set_example(schema: &mut Object, example: Value) {
    schema.example = Some(example);
}
