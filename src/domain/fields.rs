//! The rule of each product field. Each check returns the value to store or
//! a message a person can act on; callers attach the JSON pointer.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::currency::is_iso_4217;

pub const SKU_MAX_CHARS: usize = 64;
pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const PRICE_MINOR_MIN: i64 = 0;
pub const PRICE_MINOR_MAX: i64 = 1_000_000_000_000;
pub const STOCK_MIN: i64 = 0;
pub const STOCK_MAX: i64 = 1_000_000_000;
pub const REASON_MAX_CHARS: usize = 200;
pub const REFERENCE_MAX_CHARS: usize = 200;
/// ISO 4217 codes are three letters.
pub const CURRENCY_CODE_CHARS: usize = 3;
/// Versions start at 1; nothing but i64 bounds them above.
pub const VERSION_MIN: i64 = 1;
pub const VERSION_MAX: i64 = i64::MAX;

/// 1-64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit;
/// kept as written (uniqueness ignores case).
pub fn sku(value: &str) -> Result<String, String> {
    let mut chars = value.chars();
    match chars.next() {
        None => return Err("must not be empty".into()),
        Some(first) if !first.is_ascii_alphanumeric() => {
            return Err("must start with a letter or digit (A-Z, a-z, 0-9)".into())
        }
        Some(_) => {}
    }
    if value.chars().count() > SKU_MAX_CHARS {
        return Err(format!("must be at most {SKU_MAX_CHARS} characters"));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err("may contain only letters, digits, '.', '_' and '-'".into());
    }
    Ok(value.to_owned())
}

/// A location's code follows a SKU's rules.
pub fn location_code(value: &str) -> Result<String, String> {
    sku(value)
}

/// A receipt, delivery note or order a change of stock answers to:
/// 1-200 characters after trimming, no control characters.
pub fn reference(value: &str) -> Result<String, String> {
    short_text(value, REFERENCE_MAX_CHARS)
}

/// 1-200 characters after trimming, with no control characters.
pub fn name(value: &str) -> Result<String, String> {
    short_text(value, NAME_MAX_CHARS)
}

/// Why stock changed: 1-200 characters after trimming, no control characters.
pub fn reason(value: &str) -> Result<String, String> {
    short_text(value, REASON_MAX_CHARS)
}

/// 1-`max_chars` characters after trimming, with no control characters.
pub fn short_text(value: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty or only whitespace".into());
    }
    if trimmed.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if trimmed.chars().any(is_hidden_format) {
        return Err(
            "must not contain invisible format characters, such as direction overrides (U+202E)"
                .into(),
        );
    }
    Ok(trimmed.to_owned())
}

/// An invisible character that changes how the text around it shows
/// (Unicode's format characters, Cf, of the Basic Multilingual Plane),
/// such as a direction override that shows "gpj.exe" as "exe.jpg". The
/// joiners U+200C and U+200D are allowed: some scripts and emoji need them.
pub fn is_hidden_format(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        && c <= '\u{FFFF}'
        && !matches!(c, '\u{200C}' | '\u{200D}')
}

/// 0-2000 characters; line breaks and tabs are allowed, other control
/// characters are not (they corrupt terminals and CSV exports).
pub fn description(value: &str) -> Result<String, String> {
    if value.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(format!(
            "must be at most {DESCRIPTION_MAX_CHARS} characters"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters other than line breaks and tabs".into());
    }
    Ok(value.to_owned())
}

/// Integer minor units (cents, yen), `PRICE_MINOR_MIN ..= PRICE_MINOR_MAX`.
pub fn price_minor(value: i64) -> Result<i64, String> {
    in_range(value, PRICE_MINOR_MIN, PRICE_MINOR_MAX)
}

/// An ISO 4217 code in upper case.
pub fn currency(value: &str) -> Result<String, String> {
    if is_iso_4217(value) {
        return Ok(value.to_owned());
    }
    if is_iso_4217(&value.to_ascii_uppercase()) {
        return Err(format!(
            "must be upper case: \"{}\"",
            value.to_ascii_uppercase()
        ));
    }
    Err("must be an ISO 4217 currency code such as \"EUR\", \"USD\" or \"JPY\"".into())
}

/// On-hand quantity, `STOCK_MIN ..= STOCK_MAX`.
pub fn stock(value: i64) -> Result<i64, String> {
    in_range(value, STOCK_MIN, STOCK_MAX)
}

/// A stock change: non-zero, at most 1,000,000,000 either way.
pub fn delta(value: i64) -> Result<i64, String> {
    if value == 0 {
        return Err("must not be 0".into());
    }
    // unsigned_abs: i64::MIN has no positive twin.
    if value.unsigned_abs() > STOCK_MAX.unsigned_abs() {
        return Err(format!("must be between -{STOCK_MAX} and {STOCK_MAX}"));
    }
    Ok(value)
}

/// A version a client names: 1 or more.
/// A quantity moved: 1 to the most stock a product may hold.
pub fn quantity(value: i64) -> Result<i64, String> {
    in_range(value, 1, STOCK_MAX)
}

/// A level's version: 0 names a level never written.
pub fn level_version(value: i64) -> Result<i64, String> {
    if value < 0 {
        return Err("must be at least 0".into());
    }
    Ok(value)
}

pub fn version(value: i64) -> Result<i64, String> {
    if value < VERSION_MIN {
        return Err(format!("must be at least {VERSION_MIN}"));
    }
    Ok(value)
}

fn in_range(value: i64, min: i64, max: i64) -> Result<i64, String> {
    if value < min {
        Err(format!("must be at least {min}"))
    } else if value > max {
        Err(format!("must be at most {max}"))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_rules() {
        assert!(sku("MUG-BLUE_01.a").is_ok());
        assert!(sku("").is_err());
        assert!(sku("-MUG").is_err());
        assert!(sku("MUG BLUE").is_err());
        assert!(sku(&"A".repeat(64)).is_ok());
        assert!(sku(&"A".repeat(65)).is_err());
    }

    #[test]
    fn name_is_trimmed_and_free_of_control_characters() {
        assert_eq!(name("  Blue mug ").as_deref(), Ok("Blue mug"));
        assert!(name("   ").is_err());
        assert!(name("Blue\u{7}mug").is_err());
    }

    #[test]
    fn currency_must_be_upper_case_iso_4217() {
        assert!(currency("EUR").is_ok());
        assert!(currency("eur").unwrap_err().contains("upper case"));
        assert!(currency("EURO").is_err());
    }
}
