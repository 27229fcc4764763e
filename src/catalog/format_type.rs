//! Type names: `format_type(oid, typmod)` as PostgreSQL prints them, and
//! the reverse, a declared type name to its OID and typmod.

use super::{builtin_type, builtin_type_by_name};

/// PostgreSQL's `format_type(type_oid, typmod)`: the SQL name of a type
/// with its modifiers (`character varying(200)`, `numeric(8,2)`,
/// `integer[]`). `typmod` -1 means none. Unknown OIDs give `???` as
/// PostgreSQL does.
pub fn format_type(type_oid: u32, typmod: i32) -> String {
    let Some(t) = builtin_type(type_oid) else {
        return "???".to_owned();
    };
    if t.category == b'A' && t.elem != 0 && t.len == -1 {
        // Arrays carry their element's typmod.
        return format!("{}[]", format_type(t.elem, typmod));
    }
    let with_mod = typmod >= 0;
    match t.name {
        "bool" => "boolean".into(),
        "int2" => "smallint".into(),
        "int4" => "integer".into(),
        "int8" => "bigint".into(),
        "float4" => "real".into(),
        "float8" => "double precision".into(),
        "char" => "\"char\"".into(),
        "varchar" if with_mod => format!("character varying({})", typmod - 4),
        "varchar" => "character varying".into(),
        "bpchar" if with_mod => format!("character({})", typmod - 4),
        "bpchar" => "bpchar".into(),
        "numeric" if with_mod => {
            let m = typmod - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        "bit" if with_mod => format!("bit({typmod})"),
        "varbit" if with_mod => format!("bit varying({typmod})"),
        "varbit" => "bit varying".into(),
        "time" | "timetz" | "timestamp" | "timestamptz" => {
            let base = match t.name {
                "time" => "time",
                "timetz" => "time",
                "timestamp" => "timestamp",
                _ => "timestamp",
            };
            let zone = if t.name.ends_with("tz") {
                "with time zone"
            } else {
                "without time zone"
            };
            if with_mod {
                format!("{base}({typmod}) {zone}")
            } else {
                format!("{base} {zone}")
            }
        }
        other => other.to_owned(),
    }
}

/// A declared type (`integer`, `varchar(200)`, `numeric(8, 2)`,
/// `timestamp with time zone`, `text[]`, `pg_catalog.int4`) as its OID
/// and typmod (-1 for none). `None` for names that are not built-in types.
pub fn parse_type_name(declared: &str) -> Option<(u32, i32)> {
    let mut name = declared.trim().to_ascii_lowercase();
    if let Some(rest) = name.strip_prefix("pg_catalog.") {
        name = rest.to_owned();
    }
    let mut array = false;
    while let Some(rest) = name.trim_end().strip_suffix("[]") {
        name = rest.to_owned();
        array = true;
    }
    let mut mods: Vec<i32> = Vec::new();
    if let (Some(open), Some(close)) = (name.find('('), name.rfind(')')) {
        if close > open {
            mods = name[open + 1..close]
                .split(',')
                .filter_map(|m| m.trim().parse().ok())
                .collect();
            name = format!("{} {}", name[..open].trim(), name[close + 1..].trim());
        }
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let (base, typmod) = match name.as_str() {
        "int" | "integer" | "int4" | "serial" | "serial4" => ("int4", -1),
        "bigint" | "int8" | "bigserial" | "serial8" => ("int8", -1),
        "smallint" | "int2" | "smallserial" | "serial2" => ("int2", -1),
        "real" | "float4" => ("float4", -1),
        "float" if mods.first().is_some_and(|&p| p <= 24) => ("float4", -1),
        "double precision" | "float8" | "float" | "double" => ("float8", -1),
        "numeric" | "decimal" => {
            let typmod = match mods[..] {
                [p] => (p << 16) + 4,
                [p, s] => ((p << 16) | (s & 0xffff)) + 4,
                _ => -1,
            };
            ("numeric", typmod)
        }
        "varchar" | "character varying" => ("varchar", mods.first().map_or(-1, |n| n + 4)),
        "char" | "character" | "bpchar" => ("bpchar", mods.first().map_or(5, |n| n + 4)),
        "\"char\"" => ("char", -1),
        "bool" | "boolean" => ("bool", -1),
        "blob" => ("bytea", -1),
        "time" | "time without time zone" => ("time", mods.first().map_or(-1, |&p| p)),
        "timetz" | "time with time zone" => ("timetz", mods.first().map_or(-1, |&p| p)),
        "timestamp" | "timestamp without time zone" | "datetime" => {
            ("timestamp", mods.first().map_or(-1, |&p| p))
        }
        "timestamptz" | "timestamp with time zone" => {
            ("timestamptz", mods.first().map_or(-1, |&p| p))
        }
        "bit" => ("bit", mods.first().map_or(1, |&n| n)),
        "bit varying" | "varbit" => ("varbit", mods.first().map_or(-1, |&n| n)),
        other => (other, -1),
    };
    let t = builtin_type_by_name(base)?;
    if t.kind == b'p' {
        return None;
    }
    let oid = if array { t.array } else { t.oid };
    (oid != 0).then_some((oid, typmod))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_postgres() {
        // Each checked against PostgreSQL 15's format_type.
        assert_eq!(format_type(1043, 204), "character varying(200)");
        assert_eq!(format_type(1042, 9), "character(5)");
        assert_eq!(format_type(1700, ((8 << 16) | 2) + 4), "numeric(8,2)");
        assert_eq!(format_type(1184, -1), "timestamp with time zone");
        assert_eq!(format_type(1083, 7), "time(7) without time zone");
        assert_eq!(format_type(1007, -1), "integer[]");
        assert_eq!(format_type(1015, 104), "character varying(100)[]");
        assert_eq!(format_type(18, -1), "\"char\"");
        assert_eq!(format_type(1560, 13), "bit(13)");
        assert_eq!(format_type(1186, -1), "interval");
        assert_eq!(format_type(99_999, -1), "???");
        assert_eq!(format_type(2205, -1), "regclass");
        assert_eq!(format_type(700, -1), "real");
    }

    #[test]
    fn parses_declared_types() {
        assert_eq!(parse_type_name("varchar(200)"), Some((1043, 204)));
        assert_eq!(
            parse_type_name("NUMERIC(8, 2)"),
            Some((1700, ((8 << 16) | 2) + 4))
        );
        assert_eq!(parse_type_name("serial"), Some((23, -1)));
        assert_eq!(parse_type_name("text[]"), Some((1009, -1)));
        assert_eq!(
            parse_type_name("timestamp with time zone"),
            Some((1184, -1))
        );
        assert_eq!(parse_type_name("pg_catalog.int8"), Some((20, -1)));
        assert_eq!(parse_type_name("no_such_type"), None);
    }
}
