//! The few requests the scenarios send, over one keep-alive client.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    authorization: String,
}

/// An answer: its status and its JSON body (Null when it had none).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Result<Api, String> {
        let client = Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1024)
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Api {
            client,
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {token}"),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let response = request
            .header("Authorization", &self.authorization)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| error.to_string())?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    pub async fn create(&self, sku: &str, stock: i64) -> Result<Answer, String> {
        let body =
            json!({"sku": sku, "name": sku, "price_minor": 100, "currency": "EUR", "stock": stock});
        self.send(
            self.client
                .post(format!("{}/v1/products", self.base))
                .json(&body),
        )
        .await
    }

    pub async fn read(&self, id: &str) -> Result<Answer, String> {
        self.send(self.client.get(format!("{}/v1/products/{id}", self.base)))
            .await
    }

    pub async fn set_stock(&self, id: &str, version: i64, stock: i64) -> Result<Answer, String> {
        let body = json!({"version": version, "stock": stock});
        self.send(
            self.client
                .patch(format!("{}/v1/products/{id}", self.base))
                .json(&body),
        )
        .await
    }

    pub async fn adjust(&self, id: &str, delta: i64) -> Result<Answer, String> {
        let body = json!({"delta": delta, "reason": "load"});
        let url = format!("{}/v1/products/{id}/stock-adjustments", self.base);
        self.send(self.client.post(url).json(&body)).await
    }

    pub async fn sync(&self, items: Vec<Value>) -> Result<Answer, String> {
        let body = json!({"items": items, "reason": "load"});
        self.send(
            self.client
                .post(format!("{}/v1/stock-sync", self.base))
                .json(&body),
        )
        .await
    }
}
