//! Query parameters, read one by one so that every bad one is reported.
//! A malformed query is a 400 (the resource is named wrongly), unlike a
//! body that breaks a rule (422).

use actix_web::{web, HttpRequest};

use super::cursor;
use crate::domain::listing::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::http::error::{ApiError, FieldError};

/// For endpoints that take no query parameters: any sent is a 400.
pub fn reject_parameters(request: &HttpRequest) -> Result<(), ApiError> {
    QueryReader::new(request)?.finish()
}

pub struct QueryReader {
    pairs: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

impl QueryReader {
    pub fn new(request: &HttpRequest) -> Result<QueryReader, ApiError> {
        let pairs = web::Query::<Vec<(String, String)>>::from_query(request.query_string())
            .map_err(|error| {
                ApiError::malformed(
                    format!("The query string could not be parsed: {error}."),
                    Vec::new(),
                )
            })?
            .into_inner();
        Ok(QueryReader {
            pairs,
            errors: Vec::new(),
        })
    }

    /// The parameter's value, if sent; sending it twice is an error.
    pub fn text(&mut self, name: &str) -> Option<String> {
        let (matching, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(key, _)| key == name);
        self.pairs = rest;
        let mut values = matching.into_iter().map(|(_, value)| value);
        let first = values.next();
        if values.next().is_some() {
            self.error(name, "must be sent at most once");
            return None;
        }
        first
    }

    /// A whole number in `min..=max`.
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        let text = self.text(name)?;
        match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => Some(value),
            _ => {
                self.error(name, &format!("must be a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// `limit` (1-`MAX_PAGE_SIZE`, default `DEFAULT_PAGE_SIZE`).
    pub fn page_size(&mut self) -> i64 {
        self.integer("limit", 1, MAX_PAGE_SIZE)
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// The position inside `cursor`, which must be a cursor of this kind
    /// of listing.
    pub fn cursor<P: cursor::Position>(&mut self) -> Option<P> {
        let text = self.text("cursor")?;
        let position = cursor::decode(&text);
        if position.is_none() {
            self.error(
                "cursor",
                "is not a cursor this listing gave out; start again without one",
            );
        }
        position
    }

    pub fn error(&mut self, name: &str, detail: &str) {
        self.errors
            .push(FieldError::new(format!("?{name}"), detail));
    }

    /// Fails with every bad parameter, including unknown ones (a typo
    /// silently ignored would return the wrong data).
    pub fn finish(mut self) -> Result<(), ApiError> {
        for (name, _) in std::mem::take(&mut self.pairs) {
            self.error(&name, "is not a parameter of this request");
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::malformed(
                "The query has invalid parameters; `errors` lists each.",
                self.errors,
            ))
        }
    }
}
