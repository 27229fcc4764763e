//! The run-time settings a client expects of its session, kept right on
//! whichever backend connection serves it (transaction pooling).
//!
//! PostgreSQL reports these to the client (ParameterStatus) whenever they
//! change, so the proxy sees a client's `SET` of them too. Before a client
//! uses a connection whose values differ, the proxy sends `SET`s in front
//! of its first message and swallows their answers.

use bytes::BytesMut;

use super::backend::queue_query;

/// The settings followed: reported by PostgreSQL, and the ones drivers set
/// at startup and rely on.
pub const TRACKED: [&str; 6] = [
    "client_encoding",
    "DateStyle",
    "TimeZone",
    "IntervalStyle",
    "standard_conforming_strings",
    "application_name",
];

/// Values of the tracked settings (index as [`TRACKED`]); `None`: unknown.
pub type Settings = [Option<String>; TRACKED.len()];

/// The index of a tracked setting (names are case-insensitive).
pub fn index_of(name: &str) -> Option<usize> {
    TRACKED.iter().position(|t| t.eq_ignore_ascii_case(name))
}

/// The name and value of a ParameterStatus frame's body.
pub fn parse_parameter_status(body: &[u8]) -> Option<(&str, &str)> {
    let (name, rest) = super::statements::cstr(body)?;
    let (value, _) = super::statements::cstr(rest)?;
    Some((
        std::str::from_utf8(name).ok()?,
        std::str::from_utf8(value).ok()?,
    ))
}

/// Queues one Query setting what differs between `wanted` and `current`;
/// false if nothing does.
pub fn queue_differences(out: &mut BytesMut, wanted: &Settings, current: &Settings) -> bool {
    let mut sql = String::new();
    for (i, name) in TRACKED.iter().enumerate() {
        if let Some(w) = &wanted[i] {
            if current[i].as_deref() != Some(w.as_str()) {
                sql.push_str(&format!("SET {name} = '{}';", w.replace('\'', "''")));
            }
        }
    }
    if sql.is_empty() {
        return false;
    }
    queue_query(out, &sql);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_become_one_query() {
        let mut wanted = Settings::default();
        let mut current = Settings::default();
        wanted[2] = Some("Asia/Tokyo".into());
        current[2] = Some("UTC".into());
        wanted[5] = Some("it's".into());
        current[5] = Some("it's".into());
        let mut out = BytesMut::new();
        assert!(queue_differences(&mut out, &wanted, &current));
        assert_eq!(&out[5..], b"SET TimeZone = 'Asia/Tokyo';\0");
        current[2] = wanted[2].clone();
        out.clear();
        assert!(!queue_differences(&mut out, &wanted, &current));
        assert_eq!(index_of("timezone"), Some(2));
        assert_eq!(
            parse_parameter_status(b"TimeZone\0UTC\0"),
            Some(("TimeZone", "UTC"))
        );
    }
}
