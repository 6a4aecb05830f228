//! OpenAPI links: from every response that carries a product to what can
//! be done with it next, naming the version just read. Generated clients
//! show them as "next steps"; stateful testers chain requests with them.
//!
//! A link names the version for a body only in its description: OpenAPI
//! 3.1 allows a `requestBody` of runtime expressions inside an object, but
//! openapi-generator's validator refuses any that is not one string.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::{OpenApi as OpenApiDocument, RefOr};
use utoipa::Modify;

pub struct ProductLinks;

const PRODUCT_SCHEMA: &str = "#/components/schemas/Product";

struct Next {
    name: &'static str,
    operation_id: &'static str,
    description: &'static str,
    /// A query parameter that carries the product's version, if any.
    version_parameter: Option<&'static str>,
}

const NEXT_STEPS: &[Next] = &[
    Next {
        name: "ReadProduct",
        operation_id: "read_product",
        description: "Read the product again",
        version_parameter: None,
    },
    Next {
        name: "UpdateProduct",
        operation_id: "update_product",
        description: "Update the product, based on this version: send it as the body's `version` ($response.body#/version)",
        version_parameter: None,
    },
    Next {
        name: "AdjustStock",
        operation_id: "adjust_stock",
        description: "Adjust the product's stock, based on this version: send it as the body's `expected_version` ($response.body#/version)",
        version_parameter: None,
    },
    Next {
        name: "DeleteProduct",
        operation_id: "delete_product",
        description: "Delete the product, based on this version",
        version_parameter: Some("version"),
    },
    Next {
        name: "ProductHistory",
        operation_id: "product_history",
        description: "Read the product's versions",
        version_parameter: None,
    },
];

impl Modify for ProductLinks {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !status.starts_with('2') || !carries_a_product(response) {
                        continue;
                    }
                    for next in NEXT_STEPS {
                        response
                            .links
                            .insert(next.name.into(), RefOr::T(link(next)));
                    }
                }
            }
        }
    }
}

fn carries_a_product(response: &utoipa::openapi::Response) -> bool {
    response.content.get("application/json").is_some_and(|content| {
        matches!(&content.schema, Some(RefOr::Ref(schema)) if schema.ref_location == PRODUCT_SCHEMA)
    })
}

fn link(next: &Next) -> utoipa::openapi::link::Link {
    let mut builder = LinkBuilder::new()
        .operation_id(next.operation_id)
        .description(next.description)
        .parameter("id", "$response.body#/id");
    if let Some(name) = next.version_parameter {
        builder = builder.parameter(name, "$response.body#/version");
    }
    builder.build()
}
