use diesel::sql_types::Text;

diesel::define_sql_function! {
    /// SQL `lower()`, as both backends spell it. SQLite folds ASCII letters
    /// only; PostgreSQL folds all of Unicode. SKUs are ASCII, so their
    /// uniqueness is the same on both.
    fn lower(value: Text) -> Text;
}

/// A `LIKE` pattern matching `needle` anywhere, with `\` as the escape
/// character so that `%` and `_` in the needle match themselves. Its case is
/// left alone: the query folds pattern and column with the same SQL
/// `lower()`, so both sides fold alike on either backend.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
