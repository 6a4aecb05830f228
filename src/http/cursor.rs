//! Opaque pagination cursors: a position, tagged with the kind of listing
//! it belongs to so that one listing's cursor is refused by another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub fn encode(kind: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// The position inside a cursor of this kind, or `None` for anything else.
pub fn decode(kind: &str, cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let position = text.strip_prefix(kind)?.strip_prefix(':')?;
    Some(position.to_owned())
}

/// Cuts a listing fetched with one row more than `limit` down to the page,
/// with the cursor of the next page when that extra row shows there is one.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    kind: &str,
    position: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| encode(kind, &position(last)));
    (rows, next)
}
