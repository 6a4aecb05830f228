//! The text log line, byte for byte as tracing-subscriber's default format
//! writes it without colour, but written directly. The default format
//! styles every name, `=` and `:` even when colour is off, and that
//! styling was nearly a third of what logging a request cost; the
//! timestamp, a `write!` per part, was over a third of what was left of
//! writing its line. When stderr is a terminal, the default format (with
//! colour) is used instead.

use std::fmt::{self, Debug, Write};

use chrono::Utc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::domain::timestamp::{rfc3339, Fraction};

/// `timestamp LEVEL span{fields}:span{fields}: target: fields`, one line.
pub struct PlainLine<T> {
    pub timer: T,
}

impl<S, N, T> FormatEvent<S, N> for PlainLine<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // A line from the `log` crate (actix's own) names its real target
        // in its fields; this finds it.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_char(' ')?;
        writer.write_str(level_column(metadata.level()))?;
        writer.write_char(' ')?;
        if let Some(scope) = context.event_scope() {
            let mut any = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    if !fields.is_empty() {
                        write!(writer, "{{{fields}}}")?;
                    }
                }
                writer.write_char(':')?;
                any = true;
            }
            if any {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(metadata.target())?;
        writer.write_str(": ")?;
        context.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// The time as tracing-subscriber's `SystemTime` writes it
/// (`2026-11-27T13:00:00.123456Z`), digit by digit rather than through a
/// `write!` for each part.
pub struct UtcMicros;

impl FormatTime for UtcMicros {
    fn format_time(&self, writer: &mut Writer<'_>) -> fmt::Result {
        match rfc3339(&Utc::now(), Fraction::Micros) {
            Some(text) => writer.write_str(text.as_str()),
            // A clock before year 0 or after 9999: written as
            // tracing-subscriber writes those.
            None => SystemTime.format_time(writer),
        }
    }
}

/// The level, right-aligned in five columns.
fn level_column(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// Fields as `name=value`, separated by spaces; the message bare.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainFields;

impl<'a> MakeVisitor<Writer<'a>> for PlainFields {
    type Visitor = PlainVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> PlainVisitor<'a> {
        PlainVisitor {
            writer,
            first: true,
            result: Ok(()),
        }
    }
}

pub struct PlainVisitor<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    fn write_field(&mut self, field: &Field, value: &dyn Debug) -> fmt::Result {
        if !self.first {
            self.writer.write_char(' ')?;
        }
        self.first = false;
        match field.name() {
            // A message may quote what a client sent: terminal control
            // characters in it are written escaped.
            "message" => write!(Escaping(&mut self.writer), "{value:?}"),
            name => {
                self.writer
                    .write_str(name.strip_prefix("r#").unwrap_or(name))?;
                self.writer.write_char('=')?;
                write!(self.writer, "{value:?}")
            }
        }
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let error = EscapedDisplay(value);
        match value.source() {
            Some(source) => self.record_debug(
                field,
                &format_args!("{error} {}.sources={:?}", field.name(), Sources(source)),
            ),
            None => self.record_debug(field, &format_args!("{error}")),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        // The `log` crate's metadata, already written as the target.
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        self.result = self.write_field(field, value);
    }
}

impl VisitOutput<fmt::Result> for PlainVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for PlainVisitor<'_> {
    fn writer(&mut self) -> &mut dyn Write {
        &mut self.writer
    }
}

/// An error's chain of causes, as `[first, second]`.
struct Sources<'a>(&'a (dyn std::error::Error + 'static));

impl Debug for Sources<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = formatter.debug_list();
        let mut next = Some(self.0);
        while let Some(error) = next {
            list.entry(&format_args!("{}", EscapedDisplay(error)));
            next = error.source();
        }
        list.finish()
    }
}

/// Displays a value with terminal control characters escaped.
struct EscapedDisplay<T>(T);

impl<T: fmt::Display> fmt::Display for EscapedDisplay<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaping(formatter), "{}", self.0)
    }
}

/// Passes text on with ESC, BEL, BS, FF, DEL and the C1 controls
/// escaped, so that a log line cannot drive the terminal showing it.
struct Escaping<W>(W);

impl<W: Write> Write for Escaping<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, character) in text.char_indices() {
            let escaped = match character {
                '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' | '\u{80}'..='\u{9f}' => character,
                _ => continue,
            };
            self.0.write_str(&text[plain..at])?;
            match escaped {
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", escaped as u32)?,
                _ => write!(self.0, "\\x{:02x}", escaped as u32)?,
            }
            plain = at + escaped.len_utf8();
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing::field;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Lines written, kept for reading back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The same time on every line, so that two formats' lines compare.
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, writer: &mut Writer<'_>) -> fmt::Result {
            writer.write_str("2026-11-27T13:00:00.123456Z")
        }
    }

    #[derive(Debug)]
    struct Outer(fmt::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("the store failed \x1b[2J")
        }
    }

    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    /// Spans and events of every shape the server writes, and some more.
    fn write_lines() {
        let request = tracing::info_span!(
            "request",
            request_id = %"01a2137e-f06e-70c1-8613-11a0454565e0",
            method = %"PATCH",
            path = %"/v1/products/01937b3e",
            actor = field::Empty,
        );
        request.in_scope(|| {
            tracing::Span::current().record("actor", "store-ui");
            tracing::info!(status = 409_u16, route = %"/v1/products/{id}", latency_ms = 0.25, "answered");
            tracing::error!(error = &Outer(fmt::Error) as &dyn Error, "a fault");
            tracing::error!(error = &fmt::Error as &dyn Error, "no cause \u{9b}31m");
            tracing::warn!(r#type = "x", quoted = "a \"b\"\n", yes = true, count = -3_i64, "plain");
            tracing::info_span!("empty").in_scope(|| tracing::debug!("nested"));
        });
        tracing::info!(message = "outside \x07 any span", at = 1.5e-7);
        tracing::trace!(only = ?Some("debug"));
    }

    fn written(subscriber: impl Subscriber + Send + Sync, captured: &Captured) -> String {
        tracing::subscriber::with_default(subscriber, write_lines);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn writes_the_time_as_tracing_subscriber_does() {
        let written = |timer: &dyn FormatTime| {
            let mut text = String::new();
            timer.format_time(&mut Writer::new(&mut text)).unwrap();
            text
        };
        // Up to the minute, as the clock is read a moment apart: before
        // and after ours, so that a minute turning between them cannot
        // fail the test.
        let before = written(&SystemTime);
        let ours = written(&UtcMicros);
        let after = written(&SystemTime);
        assert_eq!(ours.len(), before.len(), "{ours} against {before}");
        assert!(
            ours[..16] == before[..16] || ours[..16] == after[..16],
            "{ours} against {before} and {after}"
        );
    }

    #[test]
    fn writes_what_the_default_format_writes_without_colour() {
        let by_default = Captured::default();
        let default = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .with_timer(Fixed)
            .with_writer(by_default.clone())
            .finish();
        let plainly = Captured::default();
        let plain = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .with_writer(plainly.clone())
            .fmt_fields(PlainFields)
            .event_format(PlainLine { timer: Fixed })
            .finish();

        let expected = written(default, &by_default);
        assert_eq!(expected.lines().count(), 7, "{expected}");
        assert!(
            expected.contains(
                "request{request_id=01a2137e-f06e-70c1-8613-11a0454565e0 method=PATCH \
             path=/v1/products/01937b3e actor=\"store-ui\"}: inventory_api::text_log"
            ),
            "{expected}"
        );
        assert!(expected.contains("\\x1b[2J"), "{expected}");
        assert_eq!(written(plain, &plainly), expected);
    }
}
