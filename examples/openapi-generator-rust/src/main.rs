//! The scenario of examples/README.md, through the client that
//! openapi-generator's `rust` generator (reqwest, async) writes from
//! openapi.yaml.
//!
//!     INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... scenario

use std::fmt::{Debug, Display};
use std::process::exit;
use std::time::Duration;

use inventory_api_client::apis::configuration::{Client, Configuration};
use inventory_api_client::apis::{products_api, stock_api, Error, ResponseContent};
use inventory_api_client::models::{
    AdjustStock409Response, CreateProductRequest, CurrencyCode, ForcedStockCount, Operation,
    Product, StaleVersionProblem, StockAdjustmentRequest, StockSyncItemRequest, StockSyncRequest,
    SyncStatus, UpdateConflictProblem, UpdateProductRequest, VersionedStockCount,
};

const NAME: &str = "openapi-generator-rust";

fn fail(step: &str, message: impl Display) -> ! {
    eprintln!("{NAME}: {step}: {message}");
    exit(1)
}

fn expect(step: &str, condition: bool, message: impl FnOnce() -> String) {
    if !condition {
        fail(step, message());
    }
}

/// What came back instead of a success, for a person to read.
fn describe<E: Debug>(error: &Error<E>) -> String {
    match error {
        Error::ResponseError(ResponseContent {
            status, content, ..
        }) => {
            format!("{status}: {content}")
        }
        other => other.to_string(),
    }
}

fn ok<T, E: Debug>(step: &str, result: Result<T, Error<E>>) -> T {
    result.unwrap_or_else(|error| fail(step, format!("expected success, got {}", describe(&error))))
}

/// The body of an error answer with this status; anything else fails the step.
fn error_body<T: Debug, E: Debug>(step: &str, result: Result<T, Error<E>>, want: u16) -> String {
    match result {
        Err(Error::ResponseError(ResponseContent {
            status, content, ..
        })) if status.as_u16() == want => content,
        Err(error) => fail(step, format!("expected {want}, got {}", describe(&error))),
        Ok(value) => fail(step, format!("expected {want}, got success: {value:?}")),
    }
}

/// Decodes a problem body into a generated model.
fn decode<T: serde::de::DeserializeOwned>(step: &str, content: &str, model: &str) -> T {
    serde_json::from_str(content)
        .unwrap_or_else(|e| fail(step, format!("not a {model} ({e}): {content}")))
}

async fn read(config: &Configuration, step: &str, id: &str) -> Product {
    ok(
        step,
        products_api::read_product(config, id, None, None).await,
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = std::env::var("INVENTORY_URL")
        .unwrap_or_else(|_| fail("setup", "set INVENTORY_URL, e.g. http://127.0.0.1:8080"));
    let token = std::env::var("INVENTORY_TOKEN")
        .unwrap_or_else(|_| fail("setup", "set INVENTORY_TOKEN to a manager token"));
    // A timeout so that a stuck server fails the run instead of hanging it.
    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| fail("setup", e));
    let config = Configuration {
        base_path: base.trim_end_matches('/').to_owned(),
        bearer_access_token: Some(token),
        client,
        ..Configuration::default()
    };
    let config = &config;

    // SKUs are unique among live products: a random part keeps runs apart,
    // and step 8 finds this run's products by it.
    let random = uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase();
    let sku = format!("EX-RS-{random}-1");
    let sku2 = format!("EX-RS-{random}-2");

    // 1. Create, read back: version 1.
    let step = "step 1 (create)";
    let mut body =
        CreateProductRequest::new(sku.clone(), "Blue mug".into(), 1250, CurrencyCode::Eur);
    body.stock = Some(40);
    let created = ok(
        step,
        products_api::create_product(config, body, None, None).await,
    );
    expect(
        step,
        created.sku == sku && created.version == 1 && created.stock == 40,
        || format!("created {created:?}"),
    );
    let id = created.id.to_string();
    let id = id.as_str();
    let read_back = read(config, step, id).await;
    expect(step, read_back == created, || {
        format!("read back {read_back:?}, created {created:?}")
    });

    // 2. Update with the version just read: version 2.
    let step = "step 2 (update)";
    let change = UpdateProductRequest {
        version: Some(read_back.version),
        price_minor: Some(1300),
        ..Default::default()
    };
    let updated = ok(
        step,
        products_api::update_product(config, id, change, None, None).await,
    );
    expect(
        step,
        updated.version == 2 && updated.price_minor == 1300,
        || format!("updated {updated:?}"),
    );

    // 3. A stale write (still version 1): 409, retried with its current_version.
    // The generated error enum is untagged and chosen by shape, not by status:
    // its 401 variant (a plain Problem) takes any problem body first, so the
    // `entity` of a 409 is `Status401`. The body is decoded instead into the
    // 409's own generated schema, UpdateConflictProblem.
    let step = "step 3 (stale write)";
    let rename = |version| UpdateProductRequest {
        version: Some(version),
        name: Some("Blue mug, large".into()),
        ..Default::default()
    };
    let result = products_api::update_product(config, id, rename(1), None, None).await;
    let content = error_body(step, result, 409);
    let stale: StaleVersionProblem =
        match decode::<UpdateConflictProblem>(step, &content, "UpdateConflictProblem") {
            UpdateConflictProblem::StaleVersionProblem(problem) => *problem,
            other => fail(
                step,
                format!("expected a stale-version problem, got {other:?}"),
            ),
        };
    expect(
        step,
        stale.your_version == 1 && stale.current_version == 2,
        || {
            format!(
                "409 versions: yours {}, current {}",
                stale.your_version, stale.current_version
            )
        },
    );
    expect(step, *stale.current == updated, || {
        format!("409 current {:?}", stale.current)
    });
    let since: Vec<i64> = stale.changes_since.iter().map(|e| e.version).collect();
    expect(step, since == [2] && stale.rebase_safe, || {
        format!(
            "409 changes_since {since:?}, rebase_safe {}",
            stale.rebase_safe
        )
    });
    let retried = ok(
        step,
        products_api::update_product(config, id, rename(stale.current_version), None, None).await,
    );
    expect(
        step,
        retried.version == 3 && retried.name == "Blue mug, large" && retried.price_minor == 1300,
        || format!("retried {retried:?}"),
    );

    // 4. A stale If-Match and no version in the body: 412, same problem as a 409.
    let step = "step 4 (stale If-Match)";
    let change = UpdateProductRequest {
        price_minor: Some(1400),
        ..Default::default()
    };
    let result = products_api::update_product(config, id, change, Some("\"1\""), None).await;
    let content = error_body(step, result, 412);
    let stale: StaleVersionProblem = decode(step, &content, "StaleVersionProblem");
    expect(step, stale.current_version == 3, || {
        format!("412 current_version {}", stale.current_version)
    });

    // 5. One sale of 3, sent twice with the same Idempotency-Key. The generated
    // adjust_stock returns only the body, not the Idempotent-Replayed header:
    // the replay shows as the same body and a stock that moved once.
    let step = "step 5 (idempotent adjustment)";
    let key = format!("ex-rs-sale-{}", uuid::Uuid::new_v4());
    let sale = StockAdjustmentRequest::new(-3, "sale #1042".into());
    let first = ok(
        step,
        stock_api::adjust_stock(config, id, sale.clone(), None, Some(&key), None).await,
    );
    expect(step, first.stock == 37 && first.version == 4, || {
        format!("adjusted {first:?}")
    });
    let replay = ok(
        step,
        stock_api::adjust_stock(config, id, sale, None, Some(&key), None).await,
    );
    expect(step, replay == first, || {
        format!("replay {replay:?} differs from {first:?}")
    });
    let now = read(config, step, id).await;
    expect(step, now.stock == 37 && now.version == 4, || {
        format!("after the replay the product is {now:?}: applied twice?")
    });

    // 6. More than the stock: 409 insufficient-stock, nothing applied. As in
    // step 3, the body is decoded into the 409's generated schema.
    let step = "step 6 (insufficient stock)";
    let result = stock_api::adjust_stock(
        config,
        id,
        StockAdjustmentRequest::new(-1000, "sale #1043".into()),
        None,
        None,
        None,
    )
    .await;
    let content = error_body(step, result, 409);
    match decode::<AdjustStock409Response>(step, &content, "AdjustStock409Response") {
        AdjustStock409Response::InsufficientStockProblem(problem) => {
            expect(step, problem.current_stock == 37, || {
                format!("409 current_stock {}", problem.current_stock)
            })
        }
        other => fail(step, format!("expected insufficient-stock, got {other:?}")),
    }
    let now = read(config, step, id).await;
    expect(step, now.stock == 37 && now.version == 4, || {
        format!("after the refusal {now:?}")
    });

    // 7. A second product, then one sync: a versioned count for the first and
    // a forced one for the second.
    let step = "step 7 (stock sync)";
    let mut body =
        CreateProductRequest::new(sku2.clone(), "Red mug".into(), 1250, CurrencyCode::Eur);
    body.stock = Some(5);
    let second = ok(
        step,
        products_api::create_product(config, body, None, None).await,
    );
    let id2 = second.id.to_string();
    let id2 = id2.as_str();
    // Built with `new` and then its optional fields, so that fields the
    // API adds later need no change here.
    let mut sync = StockSyncRequest::new(vec![
        StockSyncItemRequest::VersionedStockCount(Box::new(VersionedStockCount::new(
            sku.clone(),
            30,
            4,
        ))),
        StockSyncItemRequest::ForcedStockCount(Box::new(ForcedStockCount::new(
            sku2.clone(),
            9,
            true,
        ))),
    ]);
    sync.reason = Some("nightly count".into());
    let outcome = ok(step, stock_api::sync_stock(config, sync, None, None).await);
    let results: Vec<_> = outcome
        .results
        .iter()
        .map(|r| (r.sku.as_str(), r.status, r.version, r.stock))
        .collect();
    expect(
        step,
        results
            == [
                (sku.as_str(), SyncStatus::Updated, Some(5), Some(30)),
                (sku2.as_str(), SyncStatus::Updated, Some(2), Some(9)),
            ]
            && (outcome.summary.updated, outcome.summary.conflict) == (2, 0),
        || format!("sync outcome {outcome:?}"),
    );
    let now = read(config, step, id).await;
    expect(step, now.stock == 30 && now.version == 5, || {
        format!("first after the sync {now:?}")
    });
    let now2 = read(config, step, id2).await;
    expect(step, now2.stock == 9 && now2.version == 2, || {
        format!("second after the sync {now2:?}")
    });

    // 8. This run's products, one per page, following next_cursor.
    let step = "step 8 (list)";
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page = ok(
            step,
            products_api::list_products(
                config,
                Some(1),
                cursor.as_deref(),
                None,
                Some(&random),
                None,
                None,
            )
            .await,
        );
        expect(step, page.items.len() <= 1, || {
            format!("page of {} with limit 1", page.items.len())
        });
        found.extend(page.items.iter().map(|p| p.sku.clone()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    expect(step, cursor.is_none(), || {
        format!("still a next_cursor after 10 pages: {found:?}")
    });
    expect(step, found == [sku.clone(), sku2.clone()], || {
        format!("listed {found:?}")
    });

    // 9. History, newest first: versions 5 down to 1.
    let step = "step 9 (history)";
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page = ok(
            step,
            products_api::product_history(config, id, None, cursor.as_deref(), None).await,
        );
        entries.extend(page.items.into_iter().map(|e| (e.version, e.operation)));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    use Operation::*;
    let want = [
        (5, StockSync),
        (4, StockAdjustment),
        (3, Update),
        (2, Update),
        (1, Create),
    ];
    expect(step, entries == want, || format!("history {entries:?}"));

    // 10. Delete with the version, then the product is gone.
    let step = "step 10 (delete)";
    ok(
        step,
        products_api::delete_product(config, id, Some(5), None, None).await,
    );
    error_body(
        step,
        products_api::read_product(config, id, None, None).await,
        404,
    );

    println!("{NAME}: ok ({sku} and {sku2}: steps 1-10)");
}
