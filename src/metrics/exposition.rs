//! Prometheus's text exposition format (version 0.0.4): one `# HELP` and
//! `# TYPE` line per metric family, then one line per sample.

use std::fmt::{Display, Write};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (n, (label, label_value)) in labels.iter().enumerate() {
                if n > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escaped(label_value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

/// A label value with `\`, `"` and line feeds escaped, as the format asks.
fn escaped(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_samples_and_escaped_labels() {
        let mut exposition = Exposition::default();
        exposition.family("requests_total", "counter", "Requests.");
        exposition.sample(
            "requests_total",
            &[("route", "/a/{id}"), ("odd", "x\"y\\z")],
            3,
        );
        exposition.sample("up", &[], 1);
        assert_eq!(
            exposition.into_text(),
            "# HELP requests_total Requests.\n# TYPE requests_total counter\n\
             requests_total{route=\"/a/{id}\",odd=\"x\\\"y\\\\z\"} 3\nup 1\n"
        );
    }
}
