//! The few requests the scenarios send. Each `Api` value keeps its own
//! keep-alive connection, opened on first use; a clone starts without one,
//! so every client task that clones it has a connection of its own.

use http::StatusCode;
use serde_json::{json, Value};

use crate::http1::{Connection, Origin};

pub struct Api {
    origin: Origin,
    authorization: String,
    connection: Option<Connection>,
}

impl Clone for Api {
    fn clone(&self) -> Api {
        Api {
            origin: self.origin.clone(),
            authorization: self.authorization.clone(),
            connection: None,
        }
    }
}

/// An answer: its status and its JSON body (Null when it had none).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Result<Api, String> {
        Ok(Api {
            origin: Origin::parse(base)?,
            authorization: format!("Bearer {token}"),
            connection: None,
        })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, String> {
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        let mut request = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n",
            self.origin.base_path, self.origin.authority, self.authorization
        );
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(
                Connection::open(&self.origin)
                    .await
                    .map_err(|error| format!("connecting to {}: {error}", self.origin.authority))?,
            ),
        };
        let response = match connection.exchange(request.as_bytes()).await {
            Ok(response) => response,
            Err(error) => {
                // The next request opens a fresh connection.
                self.connection = None;
                return Err(error.to_string());
            }
        };
        if response.closes {
            self.connection = None;
        }
        Ok(Answer {
            status: response.status,
            body: serde_json::from_slice(&response.body).unwrap_or(Value::Null),
        })
    }

    pub async fn create(&mut self, sku: &str, stock: i64) -> Result<Answer, String> {
        let body =
            json!({"sku": sku, "name": sku, "price_minor": 100, "currency": "EUR", "stock": stock});
        self.send("POST", "/v1/products", Some(body)).await
    }

    pub async fn read(&mut self, id: &str) -> Result<Answer, String> {
        self.send("GET", &format!("/v1/products/{id}"), None).await
    }

    pub async fn healthz(&mut self) -> Result<Answer, String> {
        self.send("GET", "/healthz", None).await
    }

    pub async fn set_stock(
        &mut self,
        id: &str,
        version: i64,
        stock: i64,
    ) -> Result<Answer, String> {
        let body = json!({"version": version, "stock": stock});
        self.send("PATCH", &format!("/v1/products/{id}"), Some(body))
            .await
    }

    pub async fn adjust(&mut self, id: &str, delta: i64) -> Result<Answer, String> {
        let body = json!({"delta": delta, "reason": "load"});
        let path = format!("/v1/products/{id}/stock-adjustments");
        self.send("POST", &path, Some(body)).await
    }

    pub async fn sync(&mut self, items: Vec<Value>) -> Result<Answer, String> {
        let body = json!({"items": items, "reason": "load"});
        self.send("POST", "/v1/stock-sync", Some(body)).await
    }
}
