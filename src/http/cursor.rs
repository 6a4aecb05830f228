//! Opaque pagination cursors: a listing's position as base64url bytes of a
//! fixed length. Every string matching a listing's `pattern` decodes to a
//! position (so the OpenAPI document can say exactly which cursors are
//! accepted), and a cursor of another listing has the wrong length.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

/// A position a listing pages by, written as a fixed number of bytes.
pub trait Position: Sized {
    /// The regular expression every cursor of this position matches:
    /// base64url without padding, whose last character carries no stray bits.
    const PATTERN: &'static str;

    fn to_bytes(&self) -> Vec<u8>;
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

/// Products page by id: 16 bytes, 22 characters.
impl Position for Uuid {
    const PATTERN: &'static str = "^[A-Za-z0-9_-]{21}[AQgw]$";

    fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    fn from_bytes(bytes: &[u8]) -> Option<Uuid> {
        Uuid::from_slice(bytes).ok()
    }
}

/// History pages by version: 8 bytes big-endian, 11 characters.
impl Position for i64 {
    const PATTERN: &'static str = "^[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]$";

    fn to_bytes(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }

    fn from_bytes(bytes: &[u8]) -> Option<i64> {
        Some(i64::from_be_bytes(bytes.try_into().ok()?))
    }
}

pub fn encode<P: Position>(position: &P) -> String {
    URL_SAFE_NO_PAD.encode(position.to_bytes())
}

/// The position inside a cursor, or `None` when it is not one of this kind.
pub fn decode<P: Position>(cursor: &str) -> Option<P> {
    P::from_bytes(&URL_SAFE_NO_PAD.decode(cursor).ok()?)
}

/// Cuts a listing fetched with one row more than `limit` down to the page,
/// with the cursor of the next page when that extra row shows there is one.
pub fn page<T, P: Position>(
    mut rows: Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> P,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| encode(&position(last)));
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_have_their_listing_length() {
        let id = Uuid::now_v7();
        let products = encode(&id);
        assert_eq!(products.len(), 22);
        assert_eq!(decode::<Uuid>(&products), Some(id));
        let history = encode(&42_i64);
        assert_eq!(history.len(), 11);
        assert_eq!(decode::<i64>(&history), Some(42));
        assert_eq!(decode::<i64>(&products), None);
        assert_eq!(decode::<Uuid>(&history), None);
        // A last character with stray bits is not canonical base64.
        assert_eq!(decode::<i64>("AAAAAAAAAAB"), None);
    }

    #[test]
    fn the_document_states_each_listings_cursor_pattern() {
        let document = crate::openapi::document().unwrap();
        for (path, pattern) in [
            ("/v1/products", Uuid::PATTERN),
            ("/v1/products/{id}/history", i64::PATTERN),
        ] {
            let parameters = document["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap();
            let cursor = parameters.iter().find(|p| p["name"] == "cursor").unwrap();
            assert_eq!(cursor["schema"]["pattern"], pattern, "{path}");
        }
    }
}
