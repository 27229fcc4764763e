//! `SqlState` against PostgreSQL's own list of error codes,
//! `$(pg_config --sharedir)/errcodes.txt`: every entry has its constant
//! (named by the rule in `SqlState`'s docs) with the right code, class and
//! condition name, and nothing else is there.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use pgwire::error::SqlState;

// The constants' names come from the crate's table (its only other use is to
// define them); their values, names and classes from the crate itself.
macro_rules! sql_state_codes {
    (
        codes { $($code:literal $constant:ident $name:literal;)* }
        aliases { $($alias:ident = $target:ident;)* }
    ) => {
        /// Every constant the table defines: its name and value.
        const CONSTANTS: &[(&str, SqlState)] = &[
            $((stringify!($constant), SqlState::$constant),)*
            $((stringify!($alias), SqlState::$alias),)*
        ];
    };
}

include!("../src/error/sql_state_codes.rs");

/// One line of errcodes.txt.
struct Entry {
    class: String,
    code: String,
    macro_name: String,
    condition: Option<String>,
}

fn pg_config(arg: &str) -> Option<String> {
    let out = Command::new("pg_config").arg(arg).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

/// PostgreSQL's list, if pg_config and the file are there.
fn errcodes() -> Option<(u32, Vec<Entry>)> {
    let version = pg_config("--version")?;
    // "PostgreSQL 15.8 (Debian 15.8-0+deb12u1)"
    let major: u32 = version
        .split_whitespace()
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let path = PathBuf::from(pg_config("--sharedir")?).join("errcodes.txt");
    let text = std::fs::read_to_string(&path).ok()?;
    let mut class = String::new();
    let mut entries = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Section: Class ") {
            class = rest.chars().take(2).collect();
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let is_code = fields.first().is_some_and(|c| {
            c.len() == 5
                && c.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        });
        if !is_code || line.starts_with(char::is_whitespace) {
            continue;
        }
        assert!(fields.len() >= 3, "unexpected errcodes.txt line: {line}");
        entries.push(Entry {
            class: class.clone(),
            code: fields[0].to_owned(),
            macro_name: fields[2]
                .strip_prefix("ERRCODE_")
                .expect("macro name starts with ERRCODE_")
                .to_owned(),
            condition: fields.get(3).map(|s| (*s).to_owned()),
        });
    }
    Some((major, entries))
}

#[test]
fn every_postgresql_error_code_is_a_named_constant() {
    let Some((major, entries)) = errcodes() else {
        println!("SKIPPED: pg_config or its errcodes.txt not found");
        return;
    };
    if major != 15 {
        println!("SKIPPED: errcodes.txt is PostgreSQL {major}'s; the table is PostgreSQL 15's");
        return;
    }
    assert_eq!(
        entries.len(),
        266,
        "PostgreSQL 15's errcodes.txt has 266 entries"
    );

    let constants: HashMap<&str, SqlState> = CONSTANTS.iter().copied().collect();
    assert_eq!(constants.len(), CONSTANTS.len(), "a constant name twice");

    let mut uses = HashMap::new();
    let mut condition_of = HashMap::new();
    for e in &entries {
        if let Some(c) = &e.condition {
            *uses.entry(c.as_str()).or_insert(0) += 1;
            assert!(
                condition_of.insert(e.code.as_str(), c.as_str()).is_none(),
                "{} has two condition names",
                e.code
            );
        }
    }

    let mut matched = BTreeSet::new();
    for e in &entries {
        // The rule in `SqlState`'s docs.
        let expected_constant = match &e.condition {
            Some(c) if uses[c.as_str()] == 1 => c.to_ascii_uppercase(),
            _ => e.macro_name.clone(),
        };
        let Some(&state) = constants.get(expected_constant.as_str()) else {
            panic!("no SqlState::{expected_constant} for {}", e.code);
        };
        assert_eq!(state.code(), e.code, "SqlState::{expected_constant}");
        assert_eq!(state.class(), &e.code[..2], "class of {}", e.code);
        // errcodes.txt lists a code's second name under the class that
        // uses it (UNDEFINED_CURSOR, 34000, in class 42): only a code's own
        // entry is in its section.
        if e.condition.is_some() {
            assert_eq!(state.class(), e.class, "section of {}", e.code);
        }
        assert_eq!(
            state.name(),
            Some(condition_of[e.code.as_str()]),
            "name of {}",
            e.code
        );
        assert_eq!(SqlState::try_from_code(&e.code), Ok(state));
        assert!(
            matched.insert(expected_constant),
            "two entries, one constant"
        );
    }
    let extra: Vec<&str> = CONSTANTS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !matched.contains(*name))
        .collect();
    assert!(extra.is_empty(), "constants not in errcodes.txt: {extra:?}");
    assert_eq!(CONSTANTS.len(), 266);

    let listed: BTreeSet<&str> = entries.iter().map(|e| e.code.as_str()).collect();
    let known: BTreeSet<String> = SqlState::known_codes()
        .map(|s| s.code().to_owned())
        .collect();
    let known: BTreeSet<&str> = known.iter().map(String::as_str).collect();
    assert_eq!(
        known, listed,
        "SqlState::known_codes() against errcodes.txt"
    );
    assert_eq!(SqlState::known_codes().len(), 260);
}
