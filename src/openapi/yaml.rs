//! The document as YAML that reads the same under YAML 1.1.
//!
//! serde_norway writes YAML 1.2, where a plain `2026-11-02T10:41:07.512Z`
//! or `on` is a string. YAML 1.1 loaders (PyYAML, and the tools built on
//! it) read the first as a date and the second as a boolean, so to them
//! the document would not be the one `/openapi.json` serves. Every string
//! such a loader would read as something else is written quoted.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// YAML 1.1's implicit types other than strings, as PyYAML resolves
/// them (bool, float, int, merge, null, timestamp, value).
static NOT_A_STRING_IN_YAML_1_1: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| {
    Regex::new(concat!(
        "^(?:",
        "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        r"|<<|~|null|Null|NULL|=",
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?",
        r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?",
        ")$",
    ))
});

/// `document` in YAML, with every string YAML 1.1 would misread quoted.
pub fn to_yaml(document: &Value) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let text = serde_norway::to_string(document)?;
    let not_a_string = NOT_A_STRING_IN_YAML_1_1.as_ref().map_err(Clone::clone)?;
    let mut misread = HashSet::new();
    collect_misread(document, not_a_string, &mut misread);
    let mut quoted = String::with_capacity(text.len());
    // The indent of a line that opened a block scalar (`|-`): lines below
    // it, indented further, are its text and are left as they are.
    let mut block_at: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(opened_at) = block_at {
            if indent > opened_at || line.trim().is_empty() {
                quoted.push_str(line);
                continue;
            }
            block_at = None;
        }
        let rewritten = quote_line(line.trim_end_matches('\n'), &misread);
        if opens_block_scalar(&rewritten) {
            block_at = Some(indent);
        }
        quoted.push_str(&rewritten);
        if line.ends_with('\n') {
            quoted.push('\n');
        }
    }
    Ok(quoted)
}

/// Every key and string value of `value` that serde_norway writes plain
/// (YAML 1.2 reads it as a string) but YAML 1.1 reads as no string. The
/// rest, such as `'409'`, it quotes already; written plain, they are the
/// numbers and booleans of the document, which stay as they are.
fn collect_misread<'a>(value: &'a Value, not_a_string: &Regex, misread: &mut HashSet<&'a str>) {
    let misread_text = |text: &str| not_a_string.is_match(text) && read_as_string_in_yaml_1_2(text);
    match value {
        Value::String(text) if misread_text(text) => {
            misread.insert(text);
        }
        Value::Array(items) => {
            for item in items {
                collect_misread(item, not_a_string, misread);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                if misread_text(key) {
                    misread.insert(key);
                }
                collect_misread(member, not_a_string, misread);
            }
        }
        _ => {}
    }
}

fn read_as_string_in_yaml_1_2(plain: &str) -> bool {
    matches!(serde_norway::from_str::<Value>(plain), Ok(Value::String(_)))
}

/// One line of block-style YAML (`- ` markers, then `key: value`, `key:`
/// or a value), with a plain key or value from `misread` single-quoted.
fn quote_line(line: &str, misread: &HashSet<&str>) -> String {
    let mut start = line.len() - line.trim_start_matches(' ').len();
    while line[start..].starts_with("- ") {
        start += 2;
    }
    let (prefix, rest) = line.split_at(start);
    let (key, value) = split_key(rest);
    let quote_if_misread = |scalar: &str| {
        if misread.contains(scalar) {
            format!("'{}'", scalar.replace('\'', "''"))
        } else {
            scalar.to_owned()
        }
    };
    match key {
        Some(key) if value.is_empty() => format!("{prefix}{}:", quote_if_misread(key)),
        Some(key) => format!(
            "{prefix}{}: {}",
            quote_if_misread(key),
            quote_if_misread(value)
        ),
        None => format!("{prefix}{}", quote_if_misread(value)),
    }
}

/// `key: value`, `key:` or a lone value, for a plain or quoted key.
fn split_key(rest: &str) -> (Option<&str>, &str) {
    let key_end = match rest.chars().next() {
        Some(quote @ ('\'' | '"')) => closing_quote(rest, quote).map(|end| end + 1),
        _ => rest
            .find(": ")
            .or_else(|| rest.ends_with(':').then(|| rest.len() - 1)),
    };
    match key_end {
        Some(end) if rest[end..].starts_with(": ") => (Some(&rest[..end]), &rest[end + 2..]),
        Some(end) if &rest[end..] == ":" => (Some(&rest[..end]), ""),
        _ => (None, rest),
    }
}

/// Where the quoted scalar that opens `text` closes.
fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if quote == '"' => at += 2,
            b'\'' if quote == '\'' && bytes.get(at + 1) == Some(&b'\'') => at += 2,
            byte if byte == quote as u8 => return Some(at),
            _ => at += 1,
        }
    }
    None
}

fn opens_block_scalar(line: &str) -> bool {
    let last = line.rsplit(' ').next().unwrap_or("");
    matches!(last, "|" | "|-" | "|+" | ">" | ">-" | ">+")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings_yaml_1_1_reads_as_dates_booleans_or_numbers_are_quoted() {
        let document = json!({
            "at": "2026-11-02T10:41:07.512Z",
            "day": "2026-11-02",
            "switch": "on",
            "thousand": "1_000",
            "minutes": "1:20",
            "on": "a key YAML 1.1 reads as true",
            "list": ["off", "plain"],
            "number": 12,
            "number as text": "12",
            "yes": true,
            "text": "2026-11-02 is a Monday",
        });
        let yaml = to_yaml(&document).unwrap();
        for quoted in [
            "at: '2026-11-02T10:41:07.512Z'",
            "day: '2026-11-02'",
            "switch: 'on'",
            "thousand: '1_000'",
            "minutes: '1:20'",
            "'on': a key YAML 1.1 reads as true",
            "- 'off'",
        ] {
            assert!(yaml.contains(&format!("{quoted}\n")), "{quoted} in\n{yaml}");
        }
        for plain in [
            "- plain",
            "number: 12",
            "number as text: '12'",
            "'yes': true",
            "text: 2026-11-02 is a Monday",
        ] {
            assert!(yaml.contains(&format!("{plain}\n")), "{plain} in\n{yaml}");
        }
        assert_eq!(serde_norway::from_str::<Value>(&yaml).unwrap(), document);
    }

    #[test]
    fn text_of_a_block_scalar_is_left_as_it_is() {
        let document = json!({ "description": "first line\n2026-11-02\non", "next": "on" });
        let yaml = to_yaml(&document).unwrap();
        assert!(yaml.contains("\n  2026-11-02\n  on\n"), "{yaml}");
        assert!(yaml.ends_with("next: 'on'\n"), "{yaml}");
        assert_eq!(serde_norway::from_str::<Value>(&yaml).unwrap(), document);
    }
}
