//! The run-time settings a client expects of its session, kept right on
//! whichever backend connection serves it (transaction pooling).
//!
//! PostgreSQL reports these to the client (ParameterStatus) whenever they
//! change, so the proxy sees a client's `SET` of them too. Before a client
//! uses a connection whose values differ, the proxy sends `SET`s in front
//! of its first message and swallows their answers.
//!
//! Other settings a client asks for at startup (`options` such as
//! `-c search_path=app`, or startup parameters such as
//! `extra_float_digits`) are not reported back, so they cannot be followed
//! that way: they are the client's [`Extras`], checked on a backend when
//! the client connects (an unknown name or a bad value ends the startup
//! with PostgreSQL's error) and set on every connection that serves the
//! client, each connection remembering which extras it has. Under
//! transaction pooling a client's own `SET`s of such settings join its
//! extras: the proxy reads them back when the transaction that made them
//! ends ([`follow_read_back`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::BytesMut;

use super::backend::queue_query;
use super::query_effects::SettingChanges;

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
pub type Settings = [Option<Value>; TRACKED.len()];

/// A setting's value. Made with [`value`], equal values are one shared
/// allocation, so the comparison of a client's settings with its
/// connection's at every checkout is six pointer compares rather than six
/// string compares on cold memory.
pub type Value = Arc<str>;

/// Distinct values shared at most (a client setting ever new values gets
/// unshared ones past this: compared by content, not kept forever).
const MAX_SHARED_VALUES: usize = 4096;

/// The shared value equal to `s`.
pub fn value(s: &str) -> Value {
    static VALUES: OnceLock<Mutex<HashSet<Value>>> = OnceLock::new();
    let mut values = VALUES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(v) = values.get(s) {
        return v.clone();
    }
    let v: Value = Arc::from(s);
    if values.len() < MAX_SHARED_VALUES {
        values.insert(v.clone());
    }
    v
}

fn same(a: &Value, b: &Value) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

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
            if !current[i].as_ref().is_some_and(|c| same(c, w)) {
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

/// Settings PostgreSQL does not report that a client wants (from its
/// startup, and its own `SET`s under transaction pooling):
/// (name, value) in the order given, one entry per name.
pub type Extras = Vec<(String, String)>;

/// Startup parameters that are not settings, or that the proxy handles
/// itself.
const NOT_SETTINGS: [&str; 5] = [
    "user",
    "database",
    "options",
    "replication",
    "target_session_attrs",
];

/// What a client's startup asks for: tracked settings go to `wanted`,
/// others to the returned extras. `Err` is the message of a 22023 error
/// (a malformed `options` string, or a name the proxy cannot set).
pub fn from_startup<'a>(
    parameters: impl Iterator<Item = (&'a str, &'a str)>,
    wanted: &mut Settings,
) -> Result<Extras, String> {
    let mut extras = Extras::new();
    let mut put = |name: &str, value: &str| -> Result<(), String> {
        if name.eq_ignore_ascii_case("target_session_attrs") {
            return Ok(());
        }
        if let Some(i) = index_of(name) {
            wanted[i] = Some(self::value(value));
            return Ok(());
        }
        if !is_setting_name(name) {
            return Err(format!("invalid configuration parameter name \"{name}\""));
        }
        match extras
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(e) => e.1 = value.to_owned(),
            None => extras.push((name.to_owned(), value.to_owned())),
        }
        Ok(())
    };
    let mut options = None;
    for (name, value) in parameters {
        if name == "options" {
            options = Some(value);
        } else if !NOT_SETTINGS.contains(&name) && !name.starts_with("_pq_.") {
            put(name, value)?;
        }
    }
    // `options` comes last: PostgreSQL applies it after the parameters.
    if let Some(options) = options {
        for (name, value) in parse_options(options)? {
            put(&name, &value)?;
        }
    }
    Ok(extras)
}

/// The `-c name=value` and `--name=value` settings of a startup `options`
/// string (words split at unescaped spaces, `\` escaping the next
/// character, as PostgreSQL splits it).
pub fn parse_options(options: &str) -> Result<Vec<(String, String)>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                word.extend(chars.next());
                in_word = true;
            }
            c if c.is_ascii_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let setting = if w == "-c" {
            words
                .next()
                .ok_or_else(|| "invalid command-line argument for server process: -c".to_owned())?
        } else if let Some(rest) = w.strip_prefix("--").or_else(|| w.strip_prefix("-c")) {
            rest.to_owned()
        } else {
            return Err(format!(
                "invalid command-line argument for server process: {w}"
            ));
        };
        let Some((name, value)) = setting.split_once('=') else {
            return Err(format!("-c {setting} requires a value"));
        };
        // As PostgreSQL: `-c work-mem=1MB` means work_mem.
        out.push((name.replace('-', "_"), value.to_owned()));
    }
    Ok(out)
}

/// A name the proxy can put in `RESET name` unquoted: letters, digits,
/// `_` and `.` (custom settings are `prefix.name`).
pub fn is_setting_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Queues one Query that turns a connection's extras `current` into
/// `wanted` (RESET of those it no longer needs, `set_config` of the
/// others); false if they are the same, in any order.
pub fn queue_extras(out: &mut BytesMut, wanted: &Extras, current: &Extras) -> bool {
    if same_extras(wanted, current) {
        return false;
    }
    let mut sql = String::new();
    for (name, _) in current {
        if !wanted.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            sql.push_str(&format!("RESET {name};"));
        }
    }
    if !wanted.is_empty() {
        // set_config takes the value as `-c` does (`a, b` stays a list
        // for search_path, where `SET x = 'a, b'` would make one name);
        // qualified, as the client's search_path may come first.
        sql.push_str("SELECT ");
        for (i, (name, value)) in wanted.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "pg_catalog.set_config('{name}', '{}', false)",
                value.replace('\'', "''")
            ));
        }
        sql.push(';');
    }
    queue_query(out, &sql);
    true
}

/// Whether two sets of extras hold the same values (clients that set the
/// same settings in another order need nothing set on a switch).
fn same_extras(a: &Extras, b: &Extras) -> bool {
    a.len() == b.len()
        && a.iter().all(|(name, value)| {
            b.iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)
        })
}

/// The settings to read back after a transaction made `changes`: those it
/// set or reset, and after a `RESET ALL` every one the client wants or
/// the connection has (`client`, `conn`).
pub fn names_to_read(changes: &SettingChanges, client: &Extras, conn: &Extras) -> Vec<String> {
    let mut names: Vec<String> = changes.set.iter().chain(&changes.reset).cloned().collect();
    if changes.reset_all {
        for (name, _) in client.iter().chain(conn) {
            let name = name.to_ascii_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Queues one Query reading settings `names` (valid names, see
/// [`is_setting_name`]) as one row; a setting that does not exist reads
/// as NULL.
pub fn queue_read_settings(out: &mut BytesMut, names: &[String]) {
    let columns: Vec<String> = names
        .iter()
        .map(|name| format!("pg_catalog.current_setting('{name}', true)"))
        .collect();
    queue_query(out, &format!("SELECT {}", columns.join(", ")));
}

/// The text columns of a DataRow frame (`None` for NULL; missing columns
/// of a malformed row are `None` too).
pub fn data_row_texts(frame: &[u8]) -> Vec<Option<String>> {
    let mut values = Vec::new();
    let Some(count) = frame.get(5..7) else {
        return values;
    };
    let mut rest = &frame[7..];
    for _ in 0..u16::from_be_bytes([count[0], count[1]]) {
        let Some((len, after)) = rest.split_first_chunk::<4>() else {
            break;
        };
        let len = i32::from_be_bytes(*len);
        if len < 0 {
            values.push(None);
            rest = after;
            continue;
        }
        let Some(value) = after.get(..len as usize) else {
            break;
        };
        values.push(Some(String::from_utf8_lossy(value).into_owned()));
        rest = &after[len as usize..];
    }
    values
}

/// After a client's transaction made `changes`, with `names` read back as
/// `values`: what the connection has now (`conn`), and what the client
/// wants on whichever connection serves it next (`client`): a setting it
/// set keeps the value read, one it reset goes back to its startup value
/// (`startup`) or to the server's.
pub fn follow_read_back(
    changes: &SettingChanges,
    names: &[String],
    values: &[Option<String>],
    startup: &Extras,
    client: &mut Extras,
    conn: &mut Extras,
) {
    for (i, name) in names.iter().enumerate() {
        let value = values.get(i).cloned().flatten();
        put(conn, name, value.clone());
        let wanted = if changes.set.contains(name) {
            value
        } else {
            startup
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        put(client, name, wanted);
    }
}

/// Sets (or with `None` removes) `name` in `extras`, in place.
fn put(extras: &mut Extras, name: &str, value: Option<String>) {
    let at = extras
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name));
    match (at, value) {
        (Some(i), Some(v)) => extras[i].1 = v,
        (Some(i), None) => {
            extras.remove(i);
        }
        (None, Some(v)) => extras.push((name.to_owned(), v)),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_settings_and_options() {
        let mut wanted = Settings::default();
        let params = [
            ("user", "app"),
            ("database", "db"),
            ("application_name", "psql"),
            ("extra_float_digits", "2"),
            (
                "options",
                "-c search_path=a,\\ b --work-mem=4MB -cTimeZone=Asia/Tokyo \
                 -c target_session_attrs=read-only -c extra_float_digits=3",
            ),
        ];
        let extras = from_startup(params.into_iter(), &mut wanted).unwrap();
        assert_eq!(
            extras,
            vec![
                ("extra_float_digits".to_owned(), "3".to_owned()),
                ("search_path".to_owned(), "a, b".to_owned()),
                ("work_mem".to_owned(), "4MB".to_owned()),
            ]
        );
        assert_eq!(wanted[2].as_deref(), Some("Asia/Tokyo"));
        assert_eq!(wanted[5].as_deref(), Some("psql"));
        assert!(parse_options("-B 100").is_err());
        assert!(parse_options("-c").is_err());
        assert!(from_startup([("options", "-c x;drop=1")].into_iter(), &mut wanted).is_err());

        let mut out = BytesMut::new();
        assert!(!queue_extras(&mut out, &extras, &extras));
        let reordered: Extras = extras.iter().rev().cloned().collect();
        assert!(!queue_extras(&mut out, &reordered, &extras));
        assert!(queue_extras(&mut out, &extras[1..2].to_vec(), &extras));
        assert_eq!(
            &out[5..],
            b"RESET extra_float_digits;RESET work_mem;\
              SELECT pg_catalog.set_config('search_path', 'a, b', false);\0"
        );
    }

    #[test]
    fn differences_become_one_query() {
        let mut wanted = Settings::default();
        let mut current = Settings::default();
        wanted[2] = Some(value("Asia/Tokyo"));
        current[2] = Some(value("UTC"));
        wanted[5] = Some(value("it's"));
        // Equal content in another allocation is the same value.
        current[5] = Some(Arc::from("it's"));
        let mut out = BytesMut::new();
        assert!(queue_differences(&mut out, &wanted, &current));
        assert_eq!(&out[5..], b"SET TimeZone = 'Asia/Tokyo';\0");
        current[2] = wanted[2].clone();
        out.clear();
        assert!(!queue_differences(&mut out, &wanted, &current));
        assert!(Arc::ptr_eq(
            wanted[2].as_ref().unwrap(),
            &value("Asia/Tokyo")
        ));
        assert_eq!(index_of("timezone"), Some(2));
        assert_eq!(
            parse_parameter_status(b"TimeZone\0UTC\0"),
            Some(("TimeZone", "UTC"))
        );
    }

    #[test]
    fn settings_read_back() {
        let pairs = |p: &[(&str, &str)]| -> Extras {
            p.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let startup = pairs(&[("work_mem", "2MB")]);
        let mut client = pairs(&[("work_mem", "8MB"), ("a.b", "1")]);
        let mut conn = client.clone();
        let changes = SettingChanges {
            set: vec!["search_path".into()],
            reset: vec!["work_mem".into()],
            reset_all: true,
        };
        let names = names_to_read(&changes, &client, &conn);
        assert_eq!(names, ["search_path", "work_mem", "a.b"]);
        let mut out = BytesMut::new();
        queue_read_settings(&mut out, &names[..1]);
        assert_eq!(
            &out[5..],
            b"SELECT pg_catalog.current_setting('search_path', true)\0"
        );
        // A row of "x", "4MB", NULL.
        let row = b"D\0\0\0\x15\0\x03\0\0\0\x01x\0\0\0\x034MB\xff\xff\xff\xff";
        let values = data_row_texts(row);
        assert_eq!(values, [Some("x".into()), Some("4MB".into()), None]);
        follow_read_back(&changes, &names, &values, &startup, &mut client, &mut conn);
        // The client gets its startup work_mem back and keeps its SET.
        assert_eq!(client, pairs(&[("work_mem", "2MB"), ("search_path", "x")]));
        // The connection has the server's work_mem now.
        assert_eq!(conn, pairs(&[("work_mem", "4MB"), ("search_path", "x")]));
        assert!(data_row_texts(b"D\0\0\0\x0a\0\x02\0\0\0\x09").is_empty());
    }
}
