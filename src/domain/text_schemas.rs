//! The server's text rules as JSON Schema patterns, so that a string the
//! document accepts is one the server accepts: names and reasons are
//! trimmed (Rust's `str::trim`) and may hold no control character
//! (`char::is_control`); descriptions may hold line breaks and tabs.

use utoipa::openapi::{Object, ObjectBuilder, Type};

use crate::domain::fields::{
    DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, REASON_MAX_CHARS, REFERENCE_MAX_CHARS, SKU_MAX_CHARS,
};

/// A letter or digit, then letters, digits, `.`, `_` and `-`.
pub const SKU_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]*$";

/// Unicode's control characters (general category Cc).
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";

/// The format characters names may not hold (`fields::is_hidden_format`):
/// Unicode's Cf of the Basic Multilingual Plane but the two joiners.
const HIDDEN_FORMAT: &str = r"\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB";

/// Unicode's white space that is not also a control character.
const SPACE: &str = r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// White space that trimming removes, control characters included.
const TRIMMED: &str = r"\t-\r\u0085";

/// 1-`max` characters after trimming, none of them a control character
/// or a hidden format character.
fn trimmed_text(max: usize) -> String {
    let edge = format!("[^{CONTROL}{HIDDEN_FORMAT}{SPACE}]");
    let trimmed = format!("[{TRIMMED}{SPACE}]*");
    let inner = max.saturating_sub(2);
    format!("^{trimmed}{edge}(?:[^{CONTROL}{HIDDEN_FORMAT}]{{0,{inner}}}{edge})?{trimmed}$")
}

/// A string of `min` to `max` characters (no lower bound stated for 0).
pub fn chars(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min > 0).then_some(min))
        .max_length(Some(max))
}

fn text(pattern: String, description: String, example: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .examples([example])
        .build()
}

/// A letter or digit, then letters, digits, `.`, `_` and `-`: ASCII only,
/// so that SKUs compare alike ignoring case on both databases.
pub fn sku() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(SKU_MAX_CHARS))
        .pattern(Some(SKU_PATTERN))
        .examples(["MUG-BLUE-01"])
        .build()
}

pub fn location_code() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(SKU_MAX_CHARS))
        .pattern(Some(SKU_PATTERN))
        .description(Some(
            "A location's code (ignoring case); the same rules as a SKU",
        ))
        .examples(["SHOP-1"])
        .build()
}

pub fn reference() -> Object {
    text(
        trimmed_text(REFERENCE_MAX_CHARS),
        format!(
            "A receipt, delivery note or order the change answers to, kept in the ledger: 1-{REFERENCE_MAX_CHARS} characters after trimming, no control characters and no invisible format characters (such as U+202E)"
        ),
        "DN-2041",
    )
}

pub fn location_name() -> Object {
    text(
        trimmed_text(NAME_MAX_CHARS),
        format!("1-{NAME_MAX_CHARS} characters after trimming, no control characters and no invisible format characters (such as U+202E)"),
        "High Street shop",
    )
}

pub fn name() -> Object {
    text(
        trimmed_text(NAME_MAX_CHARS),
        format!("1-{NAME_MAX_CHARS} characters after trimming, no control characters and no invisible format characters (such as U+202E)"),
        "Blue mug",
    )
}

pub fn reason() -> Object {
    text(
        trimmed_text(REASON_MAX_CHARS),
        format!(
            "Why, recorded in history: 1-{REASON_MAX_CHARS} characters after trimming, no control characters and no invisible format characters (such as U+202E)"
        ),
        "sale #1042",
    )
}

pub fn description() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "0-{DESCRIPTION_MAX_CHARS} characters; line breaks and tabs are allowed, other control characters are not"
        )))
        .max_length(Some(DESCRIPTION_MAX_CHARS))
        .pattern(Some(format!(r"^(?:[^{CONTROL}]|[\t\n\r])*$")))
        .examples(["Stoneware, 350 ml"])
        .build()
}

/// A pattern for query texts, which may hold no control character.
pub fn without_control_characters() -> String {
    format!("^[^{CONTROL}]*$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fields;

    fn pattern(schema: Object) -> regex::Regex {
        regex::Regex::new(schema.pattern.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn the_hidden_format_class_is_exactly_the_servers() {
        let class = regex::Regex::new(&format!("^[{HIDDEN_FORMAT}]$")).unwrap();
        for c in ('\0'..='\u{FFFF}').chain(['\u{E0041}', '\u{1D173}']) {
            assert_eq!(
                class.is_match(&c.to_string()),
                fields::is_hidden_format(c),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn the_patterns_accept_exactly_what_the_server_accepts() {
        let long = "x".repeat(200);
        let samples = [
            "Blue mug".to_owned(),
            " padded\t\n".to_owned(),
            "\u{a0}no-break spaces\u{3000}".to_owned(),
            "\u{85}next line".to_owned(),
            "line\nbreak".to_owned(),
            "nul\u{0}inside".to_owned(),
            "\u{1c}separator".to_owned(),
            "\u{feff}".to_owned(),
            "gpj\u{202e}.exe".to_owned(),
            "\u{200b}zero width".to_owned(),
            "joined\u{200d}emoji".to_owned(),
            String::new(),
            "   ".to_owned(),
            "é".to_owned(),
            long.clone(),
            format!("  {long}\t"),
            format!("{long}x"),
            "x".repeat(2001),
            "MUG-BLUE_01.v2".to_owned(),
            "-dash-first".to_owned(),
            "x".repeat(SKU_MAX_CHARS),
            "x".repeat(SKU_MAX_CHARS + 1),
        ];
        let (name, reason, description) =
            (pattern(name()), pattern(reason()), pattern(description()));
        let sku = pattern(sku());
        for sample in &samples {
            assert_eq!(
                sku.is_match(sample) && sample.chars().count() <= SKU_MAX_CHARS,
                fields::sku(sample).is_ok(),
                "sku {sample:?}"
            );
            assert_eq!(
                name.is_match(sample),
                fields::name(sample).is_ok(),
                "name {sample:?}"
            );
            assert_eq!(
                reason.is_match(sample),
                fields::reason(sample).is_ok(),
                "reason {sample:?}"
            );
            assert_eq!(
                description.is_match(sample) && sample.chars().count() <= DESCRIPTION_MAX_CHARS,
                fields::description(sample).is_ok(),
                "description {sample:?}"
            );
        }
    }

    #[test]
    fn the_listing_filters_state_the_query_text_pattern() {
        let document = crate::openapi::document().unwrap();
        let parameters = document["paths"]["/v1/products"]["get"]["parameters"]
            .as_array()
            .unwrap();
        for name in ["sku", "q"] {
            let parameter = parameters.iter().find(|p| p["name"] == name).unwrap();
            assert_eq!(
                parameter["schema"]["pattern"],
                without_control_characters(),
                "{name}"
            );
        }
    }
}
