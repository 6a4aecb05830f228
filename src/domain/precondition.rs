/// Where the client named the version its write is based on. It decides
/// the status of a stale write: RFC 9110 requires 412 for a failed
/// `If-Match`, while a stale body or query version is a plain 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    Body,
    Query,
    IfMatch,
}

/// The version a write expects the product to be at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precondition {
    pub version: i64,
    pub source: VersionSource,
}
