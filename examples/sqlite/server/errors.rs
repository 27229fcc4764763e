//! SQLite errors as PostgreSQL errors: the SQLSTATE a driver would get
//! from PostgreSQL for the same mistake, and a message in PostgreSQL's
//! words where the two differ (SQLite's own text goes to the detail).

use pgwire::error::{ErrorInfo, SqlState};
use rusqlite::ffi;

/// The PostgreSQL error for a SQLite error.
pub fn from_sqlite(e: &rusqlite::Error) -> ErrorInfo {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let msg = msg.clone().unwrap_or_else(|| f.to_string());
            from_code(f.extended_code, &msg)
        }
        rusqlite::Error::InvalidParameterCount(given, expected) => ErrorInfo::new(
            SqlState::PROTOCOL_VIOLATION,
            format!(
                "bind message supplies {given} parameters, but prepared statement requires {expected}"
            ),
        ),
        rusqlite::Error::MultipleStatement => ErrorInfo::new(
            SqlState::SYNTAX_ERROR,
            "cannot insert multiple commands into a prepared statement",
        ),
        rusqlite::Error::SqlInputError { error, msg, .. } => from_code(error.extended_code, msg),
        other => ErrorInfo::new(SqlState::INTERNAL_ERROR, other.to_string()),
    }
}

/// The PostgreSQL error for SQLite (extended) result code `code` with
/// message `msg`.
pub fn from_code(code: i32, msg: &str) -> ErrorInfo {
    let primary = code & 0xff;
    match code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            return ErrorInfo::new(
                SqlState::UNIQUE_VIOLATION,
                "duplicate key value violates unique constraint",
            )
            .with_detail(msg.to_owned());
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => {
            let col = msg.rsplit(": ").next().unwrap_or("");
            let (table, column) = col.rsplit_once('.').unwrap_or(("", col));
            return ErrorInfo::new(
                SqlState::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
                ),
            )
            .with_detail(msg.to_owned());
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            return ErrorInfo::new(
                SqlState::FOREIGN_KEY_VIOLATION,
                "insert or update violates foreign key constraint",
            )
            .with_detail(msg.to_owned());
        }
        ffi::SQLITE_CONSTRAINT_CHECK => {
            return ErrorInfo::new(
                SqlState::CHECK_VIOLATION,
                "new row violates check constraint",
            )
            .with_detail(msg.to_owned());
        }
        ffi::SQLITE_BUSY_SNAPSHOT => {
            return ErrorInfo::new(
                SqlState::SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent update",
            )
            .with_detail(msg.to_owned())
            .with_hint("Another session committed a write since this transaction started reading; retry the transaction.");
        }
        _ => {}
    }
    match primary {
        ffi::SQLITE_CONSTRAINT => {
            ErrorInfo::new(SqlState::INTEGRITY_CONSTRAINT_VIOLATION, msg.to_owned())
        }
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => ErrorInfo::new(
            SqlState::LOCK_NOT_AVAILABLE,
            "could not obtain lock: another session holds a conflicting lock",
        )
        .with_detail(msg.to_owned()),
        ffi::SQLITE_INTERRUPT => ErrorInfo::query_canceled(),
        ffi::SQLITE_READONLY => ErrorInfo::new(
            SqlState::READ_ONLY_SQL_TRANSACTION,
            "cannot execute this statement in a read-only transaction",
        )
        .with_detail(msg.to_owned()),
        ffi::SQLITE_TOOBIG => ErrorInfo::new(SqlState::PROGRAM_LIMIT_EXCEEDED, msg.to_owned()),
        ffi::SQLITE_FULL => ErrorInfo::new(SqlState::DISK_FULL, msg.to_owned()),
        ffi::SQLITE_NOMEM => ErrorInfo::new(SqlState::OUT_OF_MEMORY, "out of memory"),
        ffi::SQLITE_IOERR | ffi::SQLITE_CANTOPEN => {
            ErrorInfo::new(SqlState::IO_ERROR, msg.to_owned())
        }
        ffi::SQLITE_MISMATCH => ErrorInfo::new(SqlState::DATATYPE_MISMATCH, msg.to_owned()),
        ffi::SQLITE_RANGE => ErrorInfo::new(SqlState::PROTOCOL_VIOLATION, msg.to_owned()),
        ffi::SQLITE_AUTH | ffi::SQLITE_PERM => {
            ErrorInfo::new(SqlState::INSUFFICIENT_PRIVILEGE, msg.to_owned())
        }
        _ => from_message(msg),
    }
}

/// SQLITE_ERROR covers every compile-time mistake: tell them apart by the
/// message.
fn from_message(msg: &str) -> ErrorInfo {
    let after = |prefix: &str| msg.strip_prefix(prefix).map(str::trim);
    if let Some(t) = after("no such table:") {
        let t = t.rsplit('.').next().unwrap_or(t);
        return ErrorInfo::new(
            SqlState::UNDEFINED_TABLE,
            format!("relation \"{t}\" does not exist"),
        );
    }
    if let Some(c) = after("no such column:") {
        return ErrorInfo::new(
            SqlState::UNDEFINED_COLUMN,
            format!("column \"{c}\" does not exist"),
        );
    }
    if let Some(f) = after("no such function:") {
        return ErrorInfo::new(
            SqlState::UNDEFINED_FUNCTION,
            format!("function {f} does not exist"),
        )
        .with_hint("No function matches the given name (this server runs SQLite's functions).");
    }
    if let Some(s) = after("no such savepoint:") {
        return ErrorInfo::new(
            SqlState::INVALID_SAVEPOINT_SPECIFICATION,
            format!("savepoint \"{s}\" does not exist"),
        );
    }
    if let Some(i) = after("no such index:") {
        return ErrorInfo::new(
            SqlState::UNDEFINED_OBJECT,
            format!("index \"{i}\" does not exist"),
        );
    }
    if let Some(c) = after("ambiguous column name:") {
        return ErrorInfo::new(
            SqlState::AMBIGUOUS_COLUMN,
            format!("column reference \"{c}\" is ambiguous"),
        );
    }
    if let Some(near) = msg
        .strip_prefix("near \"")
        .and_then(|r| r.strip_suffix("\": syntax error"))
    {
        return ErrorInfo::new(
            SqlState::SYNTAX_ERROR,
            format!("syntax error at or near \"{near}\""),
        );
    }
    if msg == "incomplete input" || msg.starts_with("unrecognized token") {
        return ErrorInfo::new(SqlState::SYNTAX_ERROR, "syntax error at end of input")
            .with_detail(msg.to_owned());
    }
    for kind in ["table", "index", "view", "trigger"] {
        if let Some(rest) = msg.strip_prefix(&format!("{kind} ")) {
            if let Some(name) = rest.strip_suffix(" already exists") {
                let name = name.trim_matches('"');
                return ErrorInfo::new(
                    if kind == "trigger" {
                        SqlState::DUPLICATE_OBJECT
                    } else {
                        SqlState::DUPLICATE_TABLE
                    },
                    format!("relation \"{name}\" already exists"),
                );
            }
        }
    }
    if let Some(col) = msg.strip_prefix("duplicate column name:") {
        return ErrorInfo::new(
            SqlState::DUPLICATE_COLUMN,
            format!("column \"{}\" specified more than once", col.trim()),
        );
    }
    if msg.contains("values were supplied") {
        return ErrorInfo::new(
            SqlState::SYNTAX_ERROR,
            "INSERT has more target columns than expressions",
        )
        .with_detail(msg.to_owned());
    }
    if msg.contains("values for") && msg.contains("columns") {
        // "2 values for 3 columns"
        return ErrorInfo::new(SqlState::SYNTAX_ERROR, msg.to_owned());
    }
    if msg.starts_with("wrong number of arguments to function") {
        return ErrorInfo::new(SqlState::UNDEFINED_FUNCTION, msg.to_owned());
    }
    // pg_notify()'s argument errors (notify.rs), as PostgreSQL's 22023.
    if matches!(
        msg,
        "channel name cannot be empty" | "channel name too long" | "payload string too long"
    ) {
        return ErrorInfo::new(SqlState::INVALID_PARAMETER_VALUE, msg.to_owned());
    }
    // PostgreSQL's input errors, raised by the cast functions.
    if msg.starts_with("invalid input syntax for type") {
        return ErrorInfo::new(SqlState::INVALID_TEXT_REPRESENTATION, msg.to_owned());
    }
    // The date/time casts' (functions.rs) input errors.
    if msg.starts_with("date/time field value out of range") {
        return ErrorInfo::new(SqlState::DATETIME_FIELD_OVERFLOW, msg.to_owned());
    }
    if matches!(
        msg,
        "smallint out of range" | "integer out of range" | "bigint out of range"
    ) || msg.contains("is out of range for type")
    {
        return ErrorInfo::new(SqlState::NUMERIC_VALUE_OUT_OF_RANGE, msg.to_owned());
    }
    if msg == "datatype mismatch" {
        return ErrorInfo::new(SqlState::DATATYPE_MISMATCH, msg.to_owned());
    }
    if msg == "integer overflow" {
        return ErrorInfo::new(SqlState::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range");
    }
    if msg.starts_with("cannot start a transaction within a transaction") {
        return ErrorInfo::new(
            SqlState::ACTIVE_SQL_TRANSACTION,
            "there is already a transaction in progress",
        );
    }
    if msg.starts_with("cannot VACUUM from within a transaction") {
        return ErrorInfo::new(
            SqlState::ACTIVE_SQL_TRANSACTION,
            "VACUUM cannot run inside a transaction block",
        );
    }
    if msg.contains("PRIMARY KEY") || msg.contains("AUTOINCREMENT") {
        return ErrorInfo::new(SqlState::INVALID_TABLE_DEFINITION, msg.to_owned());
    }
    ErrorInfo::new(
        SqlState::SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
        msg.to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = from_code(1, "no such table: main.nope");
        assert_eq!(e.code(), SqlState::UNDEFINED_TABLE);
        assert_eq!(e.message(), "relation \"nope\" does not exist");
        let e = from_code(1, "near \"selec\": syntax error");
        assert_eq!(e.code(), SqlState::SYNTAX_ERROR);
        assert_eq!(e.message(), "syntax error at or near \"selec\"");
        assert_eq!(
            from_code(
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
                "UNIQUE constraint failed: t.id"
            )
            .code(),
            SqlState::UNIQUE_VIOLATION
        );
        let e = from_code(
            ffi::SQLITE_CONSTRAINT_NOTNULL,
            "NOT NULL constraint failed: t.b",
        );
        assert_eq!(
            e.message(),
            "null value in column \"b\" of relation \"t\" violates not-null constraint"
        );
        assert_eq!(
            from_code(1, "table t already exists").code(),
            SqlState::DUPLICATE_TABLE
        );
    }
}
