//! The options a client gives `pgoutput` in START_REPLICATION
//! (`proto_version`, `publication_names`, `binary`, `messages`,
//! `streaming`, `two_phase`, `origin`), checked the way PostgreSQL's
//! `pgoutput` checks them at startup, and written back as plugin options.
//!
//! ```
//! use pgwire::replication::command::PluginOption;
//! use pgwire::replication::pgoutput_options::{PgOutputOptions, Streaming};
//!
//! let options = PgOutputOptions::parse(&[
//!     PluginOption::new("proto_version", "2"),
//!     PluginOption::new("publication_names", "\"Pub One\",two"),
//!     PluginOption::new("streaming", "on"),
//! ])
//! .unwrap();
//! assert_eq!(options.publication_names, ["Pub One", "two"]);
//! assert_eq!(options.streaming, Streaming::On);
//!
//! let err = PgOutputOptions::parse(&[PluginOption::new("proto_version", "1")]).unwrap_err();
//! assert_eq!(err.message, "publication_names parameter missing");
//! ```

use std::fmt;

use super::command::PluginOption;
use super::pgoutput::PgOutputDecoder;

/// Streaming of large in-progress transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Streaming {
    /// Sent at commit only (the default).
    #[default]
    Off,
    /// Streamed in blocks while in progress (protocol 2+).
    On,
    /// Streamed for parallel apply (protocol 4+): Stream Abort carries the
    /// abort LSN and time.
    Parallel,
}

/// `pgoutput`'s options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOutputOptions {
    /// `proto_version`: 1 to [`MAX_PROTO_VERSION`](Self::MAX_PROTO_VERSION).
    pub proto_version: u32,
    /// `publication_names`: at least one.
    pub publication_names: Vec<String>,
    /// `binary`: values in binary format.
    pub binary: bool,
    /// `messages`: logical decoding messages.
    pub messages: bool,
    /// `streaming`.
    pub streaming: Streaming,
    /// `two_phase`: decode prepared transactions at PREPARE (protocol 3+).
    pub two_phase: bool,
    /// `origin` (`any` or `none`; PostgreSQL 16+).
    pub origin: Option<String>,
}

/// Options `pgoutput` would refuse, with the SQLSTATE and message
/// PostgreSQL answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOutputOptionsError {
    /// The SQLSTATE.
    pub sql_state: &'static str,
    /// PostgreSQL's message.
    pub message: String,
}

impl fmt::Display for PgOutputOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PgOutputOptionsError {}

fn error(sql_state: &'static str, message: impl Into<String>) -> PgOutputOptionsError {
    PgOutputOptionsError {
        sql_state,
        message: message.into(),
    }
}

const SYNTAX_ERROR: &str = "42601";
const INVALID_PARAMETER_VALUE: &str = "22023";
const INVALID_NAME: &str = "42602";
const FEATURE_NOT_SUPPORTED: &str = "0A000";
const INTERNAL_ERROR: &str = "XX000";

/// A boolean as `defGetBoolean` reads one.
fn boolean(name: &str, value: Option<&str>) -> Result<bool, PgOutputOptionsError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "on" | "1") => Ok(true),
        Some("false" | "off" | "0") => Ok(false),
        _ => Err(error(
            SYNTAX_ERROR,
            format!("{name} requires a Boolean value"),
        )),
    }
}

/// Splits a comma-separated list of names as PostgreSQL's
/// `SplitIdentifierString` does: ASCII whitespace around names ignored,
/// unquoted names folded to lower case, `"quoted"` names kept with `""`
/// for a quote, each truncated to 63 bytes; `None` for bad syntax.
pub fn split_identifiers(list: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut chars = list.chars().peekable();
    loop {
        while chars.next_if(char::is_ascii_whitespace).is_some() {}
        let mut name = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' if chars.next_if_eq(&'"').is_some() => name.push('"'),
                    '"' => break,
                    c => name.push(c),
                }
            }
            if name.is_empty() {
                return None;
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',' && !c.is_ascii_whitespace()) {
                name.push(c.to_ascii_lowercase());
            }
            if name.is_empty() {
                return None;
            }
        }
        if name.len() > 63 {
            let mut end = 63;
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.truncate(end);
        }
        names.push(name);
        while chars.next_if(char::is_ascii_whitespace).is_some() {}
        match chars.next() {
            None => return Some(names),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// Joins names into a list that [`split_identifiers`] reads back.
pub fn join_identifiers(names: &[String]) -> String {
    let mut out = String::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let plain = !n.is_empty()
            && n.chars().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == '_'
                    || c == '$'
                    || !c.is_ascii()
            })
            && !n.chars().any(|c| c.is_ascii_whitespace());
        if plain {
            out.push_str(n);
        } else {
            out.push('"');
            out.push_str(&n.replace('"', "\"\""));
            out.push('"');
        }
    }
    out
}

impl PgOutputOptions {
    /// The highest protocol version (PostgreSQL 16 and later).
    pub const MAX_PROTO_VERSION: u32 = 4;

    /// Protocol `proto_version` for `publications`, everything else off.
    pub fn new(
        proto_version: u32,
        publications: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        PgOutputOptions {
            proto_version,
            publication_names: publications.into_iter().map(Into::into).collect(),
            binary: false,
            messages: false,
            streaming: Streaming::Off,
            two_phase: false,
            origin: None,
        }
    }

    /// Reads and checks START_REPLICATION's options as `pgoutput` does:
    /// each option at most once, no unknown option, a supported
    /// `proto_version`, at least one publication, streaming and two-phase
    /// only with a protocol that has them.
    pub fn parse(options: &[PluginOption]) -> Result<PgOutputOptions, PgOutputOptionsError> {
        let mut seen: Vec<&str> = Vec::new();
        let mut proto_version = None;
        let mut out = PgOutputOptions::new(0, Vec::<String>::new());
        for o in options {
            if seen.contains(&o.name.as_str()) {
                return Err(error(SYNTAX_ERROR, "conflicting or redundant options"));
            }
            seen.push(&o.name);
            let value = o.value.as_deref();
            match o.name.as_str() {
                "proto_version" => {
                    let v = value.unwrap_or("");
                    let n = v
                        .parse::<u64>()
                        .map_err(|_| error(INVALID_PARAMETER_VALUE, "invalid proto_version"))?;
                    let n = u32::try_from(n).map_err(|_| {
                        error(
                            INVALID_PARAMETER_VALUE,
                            format!("proto_version \"{v}\" out of range"),
                        )
                    })?;
                    proto_version = Some(n);
                }
                "publication_names" => {
                    out.publication_names = split_identifiers(value.unwrap_or(""))
                        .ok_or_else(|| error(INVALID_NAME, "invalid publication_names syntax"))?;
                }
                "binary" => out.binary = boolean("binary", value)?,
                "messages" => out.messages = boolean("messages", value)?,
                "streaming" => {
                    out.streaming = if value.is_some_and(|v| v.eq_ignore_ascii_case("parallel")) {
                        Streaming::Parallel
                    } else if boolean("streaming", value)? {
                        Streaming::On
                    } else {
                        Streaming::Off
                    }
                }
                "two_phase" => out.two_phase = boolean("two_phase", value)?,
                "origin" => {
                    let v = value.unwrap_or("").to_ascii_lowercase();
                    if v != "any" && v != "none" {
                        return Err(error(
                            INVALID_PARAMETER_VALUE,
                            format!("unrecognized origin value: \"{v}\""),
                        ));
                    }
                    out.origin = Some(v);
                }
                other => {
                    return Err(error(
                        INTERNAL_ERROR,
                        format!("unrecognized pgoutput option: {other}"),
                    ));
                }
            }
        }
        out.proto_version = proto_version.unwrap_or(0);
        let v = out.proto_version;
        if v > Self::MAX_PROTO_VERSION {
            return Err(error(
                FEATURE_NOT_SUPPORTED,
                format!(
                    "client sent proto_version={v} but server only supports protocol {} or lower",
                    Self::MAX_PROTO_VERSION
                ),
            ));
        }
        if v < 1 {
            return Err(error(
                FEATURE_NOT_SUPPORTED,
                format!(
                    "client sent proto_version={v} but server only supports protocol 1 or higher"
                ),
            ));
        }
        if out.publication_names.is_empty() {
            return Err(error(
                INVALID_PARAMETER_VALUE,
                "publication_names parameter missing",
            ));
        }
        let need = |what: &str, min: u32| {
            error(
                INVALID_PARAMETER_VALUE,
                format!(
                    "requested proto_version={v} does not support {what}, need {min} or higher"
                ),
            )
        };
        match out.streaming {
            Streaming::On if v < 2 => return Err(need("streaming", 2)),
            Streaming::Parallel if v < 4 => return Err(need("parallel streaming", 4)),
            _ => {}
        }
        if out.two_phase && v < 3 {
            return Err(need("two-phase commit", 3));
        }
        Ok(out)
    }

    /// The options to send in START_REPLICATION (the defaults left out).
    pub fn to_plugin_options(&self) -> Vec<PluginOption> {
        let mut o = vec![
            PluginOption::new("proto_version", self.proto_version.to_string()),
            PluginOption::new(
                "publication_names",
                join_identifiers(&self.publication_names),
            ),
        ];
        if self.binary {
            o.push(PluginOption::new("binary", "true"));
        }
        if self.messages {
            o.push(PluginOption::new("messages", "true"));
        }
        match self.streaming {
            Streaming::Off => {}
            Streaming::On => o.push(PluginOption::new("streaming", "on")),
            Streaming::Parallel => o.push(PluginOption::new("streaming", "parallel")),
        }
        if self.two_phase {
            o.push(PluginOption::new("two_phase", "on"));
        }
        if let Some(origin) = &self.origin {
            o.push(PluginOption::new("origin", origin.clone()));
        }
        o
    }

    /// A decoder for the stream these options ask for.
    pub fn decoder(&self) -> PgOutputDecoder {
        PgOutputDecoder::new().with_stream_abort_info(
            self.proto_version >= 4 && self.streaming == Streaming::Parallel,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<PgOutputOptions, PgOutputOptionsError> {
        let o: Vec<PluginOption> = pairs
            .iter()
            .map(|(k, v)| PluginOption::new(*k, *v))
            .collect();
        PgOutputOptions::parse(&o)
    }

    #[test]
    fn valid_options_round_trip() {
        let o = parse(&[
            ("proto_version", "4"),
            ("publication_names", "a, \"B c\",\"q\"\"t\""),
            ("binary", "on"),
            ("messages", "true"),
            ("streaming", "parallel"),
            ("two_phase", "1"),
            ("origin", "none"),
        ])
        .unwrap();
        assert_eq!(o.publication_names, ["a", "B c", "q\"t"]);
        assert!(o.binary && o.messages && o.two_phase);
        assert_eq!(o.streaming, Streaming::Parallel);
        assert_eq!(PgOutputOptions::parse(&o.to_plugin_options()).unwrap(), o);
        let plain = PgOutputOptions::new(1, ["p"]);
        assert_eq!(
            PgOutputOptions::parse(&plain.to_plugin_options()).unwrap(),
            plain
        );
    }

    #[test]
    fn refusals_match_pgoutput() {
        for (pairs, state, message) in [
            (
                &[("publication_names", "p")][..],
                "0A000",
                "client sent proto_version=0",
            ),
            (
                &[("proto_version", "5"), ("publication_names", "p")],
                "0A000",
                "only supports protocol 4 or lower",
            ),
            (&[("proto_version", "x")], "22023", "invalid proto_version"),
            (&[("proto_version", "99999999999")], "22023", "out of range"),
            (
                &[("proto_version", "1")],
                "22023",
                "publication_names parameter missing",
            ),
            (
                &[("proto_version", "1"), ("proto_version", "1")],
                "42601",
                "conflicting or redundant",
            ),
            (
                &[("proto_version", "1"), ("publication_names", "a,,b")],
                "42602",
                "invalid publication_names",
            ),
            (
                &[("proto_version", "1"), ("bogus", "1")],
                "XX000",
                "unrecognized pgoutput option: bogus",
            ),
            (
                &[
                    ("proto_version", "1"),
                    ("publication_names", "p"),
                    ("streaming", "on"),
                ],
                "22023",
                "need 2",
            ),
            (
                &[
                    ("proto_version", "3"),
                    ("publication_names", "p"),
                    ("streaming", "parallel"),
                ],
                "22023",
                "need 4",
            ),
            (
                &[
                    ("proto_version", "2"),
                    ("publication_names", "p"),
                    ("two_phase", "on"),
                ],
                "22023",
                "need 3",
            ),
            (
                &[
                    ("proto_version", "1"),
                    ("publication_names", "p"),
                    ("binary", "maybe"),
                ],
                "42601",
                "Boolean",
            ),
        ] {
            let e = parse(pairs).expect_err(message);
            assert_eq!(e.sql_state, state, "{pairs:?}: {e}");
            assert!(e.message.contains(message), "{pairs:?}: {e}");
        }
    }

    #[test]
    fn identifier_lists() {
        assert_eq!(split_identifiers(" Ab ,c").unwrap(), ["ab", "c"]);
        for bad in ["", ",", "a,", "\"\"", "\"open", "a b"] {
            assert_eq!(split_identifiers(bad), None, "{bad:?}");
        }
        let names = vec![
            "x".to_owned(),
            "Y".to_owned(),
            "a,b".to_owned(),
            "sp ace".to_owned(),
        ];
        assert_eq!(split_identifiers(&join_identifiers(&names)).unwrap(), names);
    }
}
