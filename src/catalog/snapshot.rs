//! [`Catalog`]: the engine's relations resolved into catalog objects with
//! OIDs, the rows of every catalog relation, and the helper functions
//! tools' queries call.

use super::format_type::format_type;
use super::model::{RelationKind, TableDef};
use super::rows::{CatalogValue, int_array, int_vector, quote_ident, row};
use super::{
    BUILTIN_PROCS, BUILTIN_TYPES, CATALOG_RELATIONS, CatalogRelation, builtin_type, oids,
    parse_type_name,
};

/// A row being built: column names and values.
type Fields<'a> = Vec<(&'a str, CatalogValue)>;

/// How many OIDs each table owns (its own and its dependents').
pub const OID_SPAN: u32 = 64;

/// The session-wide facts the catalog reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSettings {
    /// The database's name (`pg_database`, `current_database()`).
    pub database: String,
    /// The user who owns everything (the bootstrap superuser, OID 10).
    pub owner: String,
    /// `pg_settings` rows: name and current value.
    pub settings: Vec<(String, String)>,
}

/// An index, resolved.
#[derive(Debug, Clone)]
struct Index {
    oid: u32,
    table: usize,
    name: String,
    columns: Vec<i16>,
    unique: bool,
    primary: bool,
}

/// A constraint, resolved.
#[derive(Debug, Clone)]
struct Constraint {
    oid: u32,
    table: usize,
    name: String,
    kind: u8,
    columns: Vec<i16>,
    index: u32,
    referenced: Option<usize>,
    referenced_columns: Vec<i16>,
    on_update: u8,
    on_delete: u8,
    expression: Option<String>,
}

/// A sequence of a serial column.
#[derive(Debug, Clone)]
struct Sequence {
    oid: u32,
    table: usize,
    name: String,
}

/// The catalog of one engine at one moment.
#[derive(Debug, Clone)]
pub struct Catalog {
    settings: CatalogSettings,
    tables: Vec<TableDef>,
    indexes: Vec<Index>,
    constraints: Vec<Constraint>,
    sequences: Vec<Sequence>,
}

fn namespace_oid(schema: &str) -> u32 {
    match schema {
        "pg_catalog" => oids::PG_CATALOG_NAMESPACE,
        "information_schema" => oids::INFORMATION_SCHEMA_NAMESPACE,
        "pg_toast" => oids::PG_TOAST_NAMESPACE,
        _ => oids::PUBLIC_NAMESPACE,
    }
}

impl Catalog {
    /// Resolves the engine's tables: names their constraints, indexes and
    /// sequences as PostgreSQL would, numbers columns and gives each object
    /// an OID in its table's range.
    pub fn new(settings: CatalogSettings, tables: Vec<TableDef>) -> Catalog {
        let mut c = Catalog {
            settings,
            tables,
            indexes: Vec::new(),
            constraints: Vec::new(),
            sequences: Vec::new(),
        };
        for ti in 0..c.tables.len() {
            let t = &c.tables[ti];
            let mut next = t.oid + 1;
            let mut alloc = || {
                let o = next;
                next += 1;
                o
            };
            let nums = |cols: &[String]| -> Vec<i16> {
                cols.iter().filter_map(|n| t.column_number(n)).collect()
            };
            let mut indexes = Vec::new();
            let mut constraints = Vec::new();
            let mut sequences = Vec::new();
            for col in &t.columns {
                if col.serial {
                    sequences.push(Sequence {
                        oid: alloc(),
                        table: ti,
                        name: format!("{}_{}_seq", t.name, col.name),
                    });
                }
            }
            let keys = t
                .primary_key
                .iter()
                .map(|k| (k, true))
                .chain(t.unique.iter().map(|k| (k, false)));
            for (key, primary) in keys {
                let name = key.name.clone().unwrap_or_else(|| {
                    if primary {
                        format!("{}_pkey", t.name)
                    } else {
                        format!("{}_{}_key", t.name, key.columns.join("_"))
                    }
                });
                let index_oid = alloc();
                indexes.push(Index {
                    oid: index_oid,
                    table: ti,
                    name: name.clone(),
                    columns: nums(&key.columns),
                    unique: true,
                    primary,
                });
                constraints.push(Constraint {
                    oid: alloc(),
                    table: ti,
                    name,
                    kind: if primary { b'p' } else { b'u' },
                    columns: nums(&key.columns),
                    index: index_oid,
                    referenced: None,
                    referenced_columns: Vec::new(),
                    on_update: b' ',
                    on_delete: b' ',
                    expression: None,
                });
            }
            for ix in &t.indexes {
                indexes.push(Index {
                    oid: alloc(),
                    table: ti,
                    name: ix.name.clone(),
                    columns: nums(&ix.columns),
                    unique: ix.unique,
                    primary: false,
                });
            }
            for check in &t.checks {
                let name = check.name.clone().unwrap_or_else(|| {
                    // PostgreSQL names a check after the first column it
                    // mentions.
                    let col = t.columns.iter().find(|c| {
                        check
                            .expression
                            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                            .any(|w| w.eq_ignore_ascii_case(&c.name))
                    });
                    match col {
                        Some(c) => format!("{}_{}_check", t.name, c.name),
                        None => format!("{}_check", t.name),
                    }
                });
                constraints.push(Constraint {
                    oid: alloc(),
                    table: ti,
                    name,
                    kind: b'c',
                    columns: Vec::new(),
                    index: 0,
                    referenced: None,
                    referenced_columns: Vec::new(),
                    on_update: b' ',
                    on_delete: b' ',
                    expression: Some(check.expression.clone()),
                });
            }
            for fk in &t.foreign_keys {
                let name = fk
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}_{}_fkey", t.name, fk.columns.join("_")));
                constraints.push(Constraint {
                    oid: alloc(),
                    table: ti,
                    name,
                    kind: b'f',
                    columns: nums(&fk.columns),
                    index: 0,
                    referenced: None,
                    referenced_columns: Vec::new(),
                    on_update: fk.on_update,
                    on_delete: fk.on_delete,
                    expression: None,
                });
            }
            c.indexes.extend(indexes);
            c.constraints.extend(constraints);
            c.sequences.extend(sequences);
        }
        // Foreign keys' referenced tables, columns and backing index.
        for k in 0..c.constraints.len() {
            if c.constraints[k].kind != b'f' {
                continue;
            }
            let t = &c.tables[c.constraints[k].table];
            let Some(fk) = t.foreign_keys.iter().find(|fk| {
                fk.name.as_deref().unwrap_or("") == c.constraints[k].name
                    || format!("{}_{}_fkey", t.name, fk.columns.join("_")) == c.constraints[k].name
            }) else {
                continue;
            };
            let Some(ri) = c
                .tables
                .iter()
                .position(|r| r.name.eq_ignore_ascii_case(&fk.referenced_table))
            else {
                continue;
            };
            let rt = &c.tables[ri];
            let ref_names: Vec<String> = if fk.referenced_columns.is_empty() {
                rt.primary_key
                    .as_ref()
                    .map(|p| p.columns.clone())
                    .unwrap_or_default()
            } else {
                fk.referenced_columns.clone()
            };
            let ref_cols: Vec<i16> = ref_names
                .iter()
                .filter_map(|n| rt.column_number(n))
                .collect();
            let index = c
                .indexes
                .iter()
                .find(|i| i.table == ri && i.unique && i.columns == ref_cols)
                .map_or(0, |i| i.oid);
            let con = &mut c.constraints[k];
            con.referenced = Some(ri);
            con.referenced_columns = ref_cols;
            con.index = index;
        }
        c
    }

    /// The engine's tables.
    pub fn tables(&self) -> &[TableDef] {
        &self.tables
    }

    /// The session facts.
    pub fn settings(&self) -> &CatalogSettings {
        &self.settings
    }

    fn table(&self, oid: u32) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.oid == oid)
    }

    fn column_name(&self, table: usize, num: i16) -> String {
        let t = &self.tables[table];
        usize::try_from(num - 1)
            .ok()
            .and_then(|i| t.columns.get(i))
            .map_or_else(|| format!("{num}"), |c| quote_ident(&c.name))
    }

    fn column_list(&self, table: usize, nums: &[i16]) -> String {
        nums.iter()
            .map(|&n| self.column_name(table, n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `'name'::regclass`: the OID of the relation `name` (`schema.name`
    /// or a bare name; quoted parts keep their case). Tables, views,
    /// indexes, sequences and catalog relations.
    pub fn regclass_oid(&self, name: &str) -> Option<u32> {
        let parts = split_qualified(name);
        let (schema, rel) = match parts.as_slice() {
            [rel] => (None, rel.as_str()),
            [schema, rel] => (Some(schema.as_str()), rel.as_str()),
            _ => return None,
        };
        if schema.is_none_or(|s| s == "pg_catalog" || s == "information_schema") {
            if let Some(r) = CATALOG_RELATIONS
                .iter()
                .find(|r| r.name == rel && schema.is_none_or(|s| s == r.schema))
            {
                return Some(r.oid);
            }
        }
        if let Some(t) = self
            .tables
            .iter()
            .find(|t| t.name == rel && schema.is_none_or(|s| s == t.schema))
        {
            return Some(t.oid);
        }
        if let Some(i) = self.indexes.iter().find(|i| i.name == rel) {
            return Some(i.oid);
        }
        self.sequences.iter().find(|s| s.name == rel).map(|s| s.oid)
    }

    /// `oid::regclass::text`: the relation's name (schema-qualified when
    /// not on the search path), or the number when there is none.
    pub fn regclass_name(&self, oid: u32) -> String {
        if let Some(r) = CATALOG_RELATIONS.iter().find(|r| r.oid == oid) {
            return if r.schema == "pg_catalog" {
                r.name.to_owned()
            } else {
                format!("{}.{}", r.schema, r.name)
            };
        }
        let name = if let Some(t) = self.table(oid) {
            Some((t.schema.as_str(), t.name.as_str()))
        } else if let Some(i) = self.indexes.iter().find(|i| i.oid == oid) {
            Some((self.tables[i.table].schema.as_str(), i.name.as_str()))
        } else {
            self.sequences
                .iter()
                .find(|s| s.oid == oid)
                .map(|s| (self.tables[s.table].schema.as_str(), s.name.as_str()))
        };
        match name {
            Some(("public", n)) => quote_ident(n),
            Some((s, n)) => format!("{}.{}", quote_ident(s), quote_ident(n)),
            None => oid.to_string(),
        }
    }

    /// `'name'::regtype`: a type's OID from its SQL or internal name.
    pub fn regtype_oid(name: &str) -> Option<u32> {
        parse_type_name(name)
            .map(|(oid, _)| oid)
            .or_else(|| super::builtin_type_by_name(name.trim()).map(|t| t.oid))
    }

    /// `pg_table_is_visible(oid)`: relations of `public` and `pg_catalog`
    /// are on the search path.
    pub fn pg_table_is_visible(&self, oid: u32) -> bool {
        if let Some(r) = CATALOG_RELATIONS.iter().find(|r| r.oid == oid) {
            return r.schema == "pg_catalog";
        }
        self.regclass_name(oid) != oid.to_string()
    }

    /// `pg_get_userbyid(oid)`.
    pub fn pg_get_userbyid(&self, oid: u32) -> String {
        match oid {
            oids::BOOTSTRAP_SUPERUSER => self.settings.owner.clone(),
            oids::PG_DATABASE_OWNER => "pg_database_owner".into(),
            _ => format!("unknown (OID={oid})"),
        }
    }

    /// `pg_get_indexdef(oid)`: the `CREATE INDEX` statement of an index.
    pub fn pg_get_indexdef(&self, oid: u32) -> Option<String> {
        let i = self.indexes.iter().find(|i| i.oid == oid)?;
        let t = &self.tables[i.table];
        Some(format!(
            "CREATE {}INDEX {} ON {}.{} USING btree ({})",
            if i.unique { "UNIQUE " } else { "" },
            quote_ident(&i.name),
            quote_ident(&t.schema),
            quote_ident(&t.name),
            self.column_list(i.table, &i.columns)
        ))
    }

    /// `pg_get_constraintdef(oid)`: a constraint as in `ALTER TABLE ... ADD`.
    pub fn pg_get_constraintdef(&self, oid: u32) -> Option<String> {
        let c = self.constraints.iter().find(|c| c.oid == oid)?;
        let cols = self.column_list(c.table, &c.columns);
        Some(match c.kind {
            b'p' => format!("PRIMARY KEY ({cols})"),
            b'u' => format!("UNIQUE ({cols})"),
            b'c' => format!("CHECK ({})", c.expression.as_deref().unwrap_or("")),
            _ => {
                let mut s = format!("FOREIGN KEY ({cols}) REFERENCES ");
                if let Some(r) = c.referenced {
                    s.push_str(&self.regclass_name(self.tables[r].oid));
                    s.push('(');
                    s.push_str(&self.column_list(r, &c.referenced_columns));
                    s.push(')');
                }
                for (action, word) in [(c.on_update, "UPDATE"), (c.on_delete, "DELETE")] {
                    let what = match action {
                        b'r' => "RESTRICT",
                        b'c' => "CASCADE",
                        b'n' => "SET NULL",
                        b'd' => "SET DEFAULT",
                        _ => continue,
                    };
                    s.push_str(&format!(" ON {word} {what}"));
                }
                s
            }
        })
    }

    /// `pg_get_viewdef(oid)`.
    pub fn pg_get_viewdef(&self, oid: u32) -> Option<String> {
        self.table(oid)?.view_definition.clone()
    }

    /// `obj_description(oid[, catalog])`: the comment of a table or
    /// view, or of the `public` schema (PostgreSQL's own).
    pub fn obj_description(&self, oid: u32) -> Option<String> {
        if oid == oids::PUBLIC_NAMESPACE {
            return Some("standard public schema".into());
        }
        self.table(oid)?.comment.clone()
    }

    /// `col_description(table_oid, attnum)`.
    pub fn col_description(&self, table_oid: u32, attnum: i32) -> Option<String> {
        let t = self.table(table_oid)?;
        let i = usize::try_from(attnum - 1).ok()?;
        t.columns.get(i)?.comment.clone()
    }

    /// `pg_get_serial_sequence('table', 'column')`.
    pub fn pg_get_serial_sequence(&self, table: &str, column: &str) -> Option<String> {
        let oid = self.regclass_oid(table)?;
        let t = self.table(oid)?;
        let col = t.columns.iter().find(|c| c.name == column && c.serial)?;
        Some(format!(
            "{}.{}",
            quote_ident(&t.schema),
            quote_ident(&format!("{}_{}_seq", t.name, col.name))
        ))
    }

    /// A column's default as `pg_get_expr` shows it.
    fn default_expr(&self, t: &TableDef, col: &super::ColumnDef) -> Option<String> {
        if col.serial {
            return Some(format!(
                "nextval('{}'::regclass)",
                quote_ident(&format!("{}_{}_seq", t.name, col.name))
            ));
        }
        let d = col.default.as_deref()?.trim();
        // A string literal default shows its type, as PostgreSQL stores it.
        if d.starts_with('\'') && d.ends_with('\'') && d.len() >= 2 {
            let ty = match format_type(col.type_oid, -1).as_str() {
                "bpchar" => "bpchar".to_owned(),
                other => other.to_owned(),
            };
            return Some(format!("{d}::{ty}"));
        }
        Some(d.to_owned())
    }

    /// The rows of the catalog relation `rel`, in its column order. Empty
    /// for relations the engine has nothing in (`pg_trigger`,
    /// `pg_policy`...).
    pub fn rows(&self, rel: &CatalogRelation) -> Vec<Vec<CatalogValue>> {
        let mut out = Vec::new();
        let mut add = |fields: Vec<(&str, CatalogValue)>| out.push(row(rel, fields));
        let owner = oids::BOOTSTRAP_SUPERUSER;
        match (rel.schema, rel.name) {
            ("pg_catalog", "pg_namespace") => {
                for (oid, name, own) in [
                    (oids::PG_CATALOG_NAMESPACE, "pg_catalog", owner),
                    (oids::PG_TOAST_NAMESPACE, "pg_toast", owner),
                    (oids::PUBLIC_NAMESPACE, "public", oids::PG_DATABASE_OWNER),
                    (
                        oids::INFORMATION_SCHEMA_NAMESPACE,
                        "information_schema",
                        owner,
                    ),
                ] {
                    // `public` has the privileges a new database gives it.
                    let acl = (oid == oids::PUBLIC_NAMESPACE)
                        .then_some("{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}");
                    add(vec![
                        ("oid", v(oid)),
                        ("nspname", v(name)),
                        ("nspowner", v(own)),
                        ("nspacl", v(acl)),
                    ]);
                }
            }
            ("pg_catalog", "pg_am") => {
                for (oid, name, kind) in [
                    (2u32, "heap", "t"),
                    (403, "btree", "i"),
                    (405, "hash", "i"),
                    (783, "gist", "i"),
                    (2742, "gin", "i"),
                    (4000, "spgist", "i"),
                    (3580, "brin", "i"),
                ] {
                    add(vec![
                        ("oid", v(oid)),
                        ("amname", v(name)),
                        ("amtype", v(kind)),
                    ]);
                }
            }
            ("pg_catalog", "pg_type") => {
                for t in BUILTIN_TYPES {
                    add(vec![
                        ("oid", v(t.oid)),
                        ("typname", v(t.name)),
                        ("typnamespace", v(oids::PG_CATALOG_NAMESPACE)),
                        ("typowner", v(owner)),
                        ("typlen", v(t.len)),
                        ("typbyval", v(t.by_val)),
                        ("typtype", v(char_text(t.kind))),
                        ("typcategory", v(char_text(t.category))),
                        ("typispreferred", v(t.preferred)),
                        ("typisdefined", v(true)),
                        ("typdelim", v(char_text(t.delim))),
                        ("typelem", v(t.elem)),
                        ("typarray", v(t.array)),
                        ("typinput", v(t.input)),
                        ("typoutput", v(t.output)),
                        ("typreceive", v(t.receive)),
                        ("typsend", v(t.send)),
                        ("typalign", v(char_text(t.align))),
                        ("typstorage", v(char_text(t.storage))),
                        ("typtypmod", v(-1)),
                        ("typcollation", v(t.collation)),
                    ]);
                }
            }
            ("pg_catalog", "pg_proc") => {
                for p in BUILTIN_PROCS {
                    let args: Vec<i64> = p.args.iter().map(|&a| i64::from(a)).collect();
                    add(vec![
                        ("oid", v(p.oid)),
                        ("proname", v(p.name)),
                        ("pronamespace", v(oids::PG_CATALOG_NAMESPACE)),
                        ("proowner", v(owner)),
                        ("prolang", v(12)),
                        ("prokind", v(char_text(p.kind))),
                        ("proretset", v(p.returns_set)),
                        ("pronargs", v(p.nargs)),
                        ("prorettype", v(p.returns)),
                        ("proargtypes", v(int_vector(&args))),
                        ("provolatile", v("s")),
                        ("proparallel", v("s")),
                        ("prosrc", v(p.name)),
                    ]);
                }
            }
            ("pg_catalog", "pg_tablespace") => {
                for (oid, name) in [(1663u32, "pg_default"), (1664, "pg_global")] {
                    add(vec![
                        ("oid", v(oid)),
                        ("spcname", v(name)),
                        ("spcowner", v(owner)),
                    ]);
                }
            }
            ("pg_catalog", "pg_database") => add(vec![
                ("oid", v(5)),
                ("datname", v(self.settings.database.as_str())),
                ("datdba", v(owner)),
                ("encoding", v(6)),
                ("datlocprovider", v("c")),
                ("datallowconn", v(true)),
                ("datconnlimit", v(-1)),
                ("dattablespace", v(1663)),
                ("datcollate", v("C")),
                ("datctype", v("C")),
            ]),
            ("pg_catalog", "pg_roles" | "pg_authid" | "pg_user") => add(vec![
                ("oid", v(owner)),
                ("usesysid", v(owner)),
                ("rolname", v(self.settings.owner.as_str())),
                ("usename", v(self.settings.owner.as_str())),
                ("rolsuper", v(true)),
                ("usesuper", v(true)),
                ("rolinherit", v(true)),
                ("rolcreaterole", v(true)),
                ("rolcreatedb", v(true)),
                ("usecreatedb", v(true)),
                ("rolcanlogin", v(true)),
                ("rolreplication", v(true)),
                ("userepl", v(true)),
                ("rolbypassrls", v(true)),
                ("usebypassrls", v(true)),
                ("rolconnlimit", v(-1)),
                ("rolpassword", v("********")),
                ("passwd", v("********")),
            ]),
            ("pg_catalog", "pg_settings") => {
                for (name, value) in &self.settings.settings {
                    add(vec![
                        ("name", v(name.as_str())),
                        ("setting", v(value.as_str())),
                        ("context", v("user")),
                        ("vartype", v("string")),
                        ("source", v("default")),
                        ("boot_val", v(value.as_str())),
                        ("reset_val", v(value.as_str())),
                        ("pending_restart", v(false)),
                    ]);
                }
            }
            ("pg_catalog", "pg_class") => self.class_rows(&mut add),
            ("pg_catalog", "pg_attribute") => self.attribute_rows(&mut add),
            ("pg_catalog", "pg_attrdef") => {
                for t in &self.tables {
                    for (i, col) in t.columns.iter().enumerate() {
                        if let Some(d) = self.default_expr(t, col) {
                            add(vec![
                                ("oid", v(t.oid + OID_SPAN - 1 - i as u32 % OID_SPAN)),
                                ("adrelid", v(t.oid)),
                                ("adnum", v(i as i64 + 1)),
                                ("adbin", v(d)),
                            ]);
                        }
                    }
                }
            }
            ("pg_catalog", "pg_index") => {
                for i in &self.indexes {
                    let t = &self.tables[i.table];
                    let keys: Vec<i64> = i.columns.iter().map(|&c| i64::from(c)).collect();
                    let zeros = vec![0; keys.len()];
                    add(vec![
                        ("indexrelid", v(i.oid)),
                        ("indrelid", v(t.oid)),
                        ("indnatts", v(keys.len() as i64)),
                        ("indnkeyatts", v(keys.len() as i64)),
                        ("indisunique", v(i.unique)),
                        ("indisprimary", v(i.primary)),
                        ("indimmediate", v(true)),
                        ("indisvalid", v(true)),
                        ("indisready", v(true)),
                        ("indislive", v(true)),
                        ("indkey", v(int_vector(&keys))),
                        ("indcollation", v(int_vector(&zeros))),
                        ("indclass", v(int_vector(&zeros))),
                        ("indoption", v(int_vector(&zeros))),
                    ]);
                }
            }
            ("pg_catalog", "pg_constraint") => {
                for c in &self.constraints {
                    let t = &self.tables[c.table];
                    let cols: Vec<i64> = c.columns.iter().map(|&n| i64::from(n)).collect();
                    let refs: Vec<i64> =
                        c.referenced_columns.iter().map(|&n| i64::from(n)).collect();
                    add(vec![
                        ("oid", v(c.oid)),
                        ("conname", v(c.name.as_str())),
                        ("connamespace", v(namespace_oid(&t.schema))),
                        ("contype", v(char_text(c.kind))),
                        ("convalidated", v(true)),
                        ("conrelid", v(t.oid)),
                        ("conindid", v(c.index)),
                        (
                            "confrelid",
                            v(c.referenced.map_or(0, |r| self.tables[r].oid)),
                        ),
                        ("confupdtype", v(char_text(c.on_update))),
                        ("confdeltype", v(char_text(c.on_delete))),
                        ("confmatchtype", v(if c.kind == b'f' { "s" } else { " " })),
                        ("conislocal", v(true)),
                        (
                            "conkey",
                            if cols.is_empty() {
                                CatalogValue::Null
                            } else {
                                v(int_array(&cols))
                            },
                        ),
                        (
                            "confkey",
                            if refs.is_empty() {
                                CatalogValue::Null
                            } else {
                                v(int_array(&refs))
                            },
                        ),
                        ("conbin", v(c.expression.clone())),
                    ]);
                }
            }
            ("pg_catalog", "pg_description") => {
                // The comments initdb gives the built-in schemas (DBeaver
                // shows them in its schema list).
                for (oid, d) in [
                    (oids::PG_CATALOG_NAMESPACE, "system catalog schema"),
                    (oids::PG_TOAST_NAMESPACE, "reserved schema for TOAST tables"),
                    (oids::PUBLIC_NAMESPACE, "standard public schema"),
                ] {
                    add(vec![
                        ("objoid", v(oid)),
                        ("classoid", v(oids::PG_NAMESPACE)),
                        ("objsubid", v(0)),
                        ("description", v(d)),
                    ]);
                }
                for t in &self.tables {
                    if let Some(d) = &t.comment {
                        add(vec![
                            ("objoid", v(t.oid)),
                            ("classoid", v(oids::PG_CLASS)),
                            ("objsubid", v(0)),
                            ("description", v(d.as_str())),
                        ]);
                    }
                    for (i, col) in t.columns.iter().enumerate() {
                        if let Some(d) = &col.comment {
                            add(vec![
                                ("objoid", v(t.oid)),
                                ("classoid", v(oids::PG_CLASS)),
                                ("objsubid", v(i as i64 + 1)),
                                ("description", v(d.as_str())),
                            ]);
                        }
                    }
                }
            }
            ("pg_catalog", "pg_tables" | "pg_views") => {
                let kind = if rel.name == "pg_tables" {
                    RelationKind::Table
                } else {
                    RelationKind::View
                };
                for t in self.tables.iter().filter(|t| t.kind == kind) {
                    add(vec![
                        ("schemaname", v(t.schema.as_str())),
                        ("tablename", v(t.name.as_str())),
                        ("viewname", v(t.name.as_str())),
                        ("tableowner", v(self.settings.owner.as_str())),
                        ("viewowner", v(self.settings.owner.as_str())),
                        ("definition", v(t.view_definition.clone())),
                        ("hasindexes", v(self.indexes.iter().any(|i| i.table == 0))),
                    ]);
                }
            }
            ("pg_catalog", "pg_indexes") => {
                for i in &self.indexes {
                    let t = &self.tables[i.table];
                    add(vec![
                        ("schemaname", v(t.schema.as_str())),
                        ("tablename", v(t.name.as_str())),
                        ("indexname", v(i.name.as_str())),
                        ("indexdef", v(self.pg_get_indexdef(i.oid))),
                    ]);
                }
            }
            ("pg_catalog", "pg_sequence") => {
                for s in &self.sequences {
                    add(vec![
                        ("seqrelid", v(s.oid)),
                        ("seqtypid", v(23)),
                        ("seqstart", v(1)),
                        ("seqincrement", v(1)),
                        ("seqmax", v(i64::from(i32::MAX))),
                        ("seqmin", v(1)),
                        ("seqcache", v(1)),
                    ]);
                }
            }
            ("information_schema", _) => self.information_schema_rows(rel, &mut add),
            _ => {}
        }
        out
    }

    fn class_rows(&self, add: &mut dyn FnMut(Fields<'_>)) {
        let owner = oids::BOOTSTRAP_SUPERUSER;
        for r in CATALOG_RELATIONS {
            add(vec![
                ("oid", v(r.oid)),
                ("relname", v(r.name)),
                ("relnamespace", v(namespace_oid(r.schema))),
                ("relowner", v(owner)),
                ("relam", v(if r.kind == b'r' { oids::HEAP_AM } else { 0 })),
                ("relpersistence", v("p")),
                ("relkind", v(char_text(r.kind))),
                ("relnatts", v(r.columns.len() as i64)),
                ("relreplident", v("n")),
                ("relispopulated", v(true)),
            ]);
        }
        for (ti, t) in self.tables.iter().enumerate() {
            let is_table = t.kind == RelationKind::Table;
            add(vec![
                ("oid", v(t.oid)),
                ("relname", v(t.name.as_str())),
                ("relnamespace", v(namespace_oid(&t.schema))),
                ("relowner", v(owner)),
                ("relam", v(if is_table { oids::HEAP_AM } else { 0 })),
                ("relfilenode", v(if is_table { t.oid } else { 0 })),
                ("reltuples", v(-1)),
                ("relhasindex", v(self.indexes.iter().any(|i| i.table == ti))),
                ("relpersistence", v("p")),
                ("relkind", v(if is_table { "r" } else { "v" })),
                ("relnatts", v(t.columns.len() as i64)),
                (
                    "relchecks",
                    v(self
                        .constraints
                        .iter()
                        .filter(|c| c.table == ti && c.kind == b'c')
                        .count() as i64),
                ),
                ("relhasrules", v(!is_table)),
                // PostgreSQL's foreign keys are triggers on both tables.
                (
                    "relhastriggers",
                    v(self
                        .constraints
                        .iter()
                        .any(|c| c.kind == b'f' && (c.table == ti || c.referenced == Some(ti)))),
                ),
                ("relispopulated", v(true)),
                ("relreplident", v(if is_table { "d" } else { "n" })),
            ]);
        }
        for i in &self.indexes {
            let t = &self.tables[i.table];
            add(vec![
                ("oid", v(i.oid)),
                ("relname", v(i.name.as_str())),
                ("relnamespace", v(namespace_oid(&t.schema))),
                ("relowner", v(owner)),
                ("relam", v(oids::BTREE_AM)),
                ("relfilenode", v(i.oid)),
                ("relpersistence", v("p")),
                ("relkind", v("i")),
                ("relnatts", v(i.columns.len() as i64)),
                ("relreplident", v("n")),
                ("relispopulated", v(true)),
            ]);
        }
        for s in &self.sequences {
            let t = &self.tables[s.table];
            add(vec![
                ("oid", v(s.oid)),
                ("relname", v(s.name.as_str())),
                ("relnamespace", v(namespace_oid(&t.schema))),
                ("relowner", v(owner)),
                ("relfilenode", v(s.oid)),
                ("relpersistence", v("p")),
                ("relkind", v("S")),
                ("relnatts", v(3)),
                ("relreplident", v("n")),
                ("relispopulated", v(true)),
            ]);
        }
    }

    fn attribute_rows(&self, add: &mut dyn FnMut(Fields<'_>)) {
        let attr = |relid: u32, num: i64, name: &str, ty: u32, typmod: i32, not_null: bool| {
            let bt = builtin_type(ty);
            vec![
                ("attrelid", v(relid)),
                ("attname", v(name)),
                ("atttypid", v(ty)),
                ("attlen", v(bt.map_or(-1, |t| t.len))),
                ("attnum", v(num)),
                (
                    "attndims",
                    v(i64::from(bt.is_some_and(|t| t.category == b'A'))),
                ),
                ("atttypmod", v(typmod)),
                ("attbyval", v(bt.is_some_and(|t| t.by_val))),
                ("attalign", v(bt.map_or("i".into(), |t| char_text(t.align)))),
                (
                    "attstorage",
                    v(bt.map_or("x".into(), |t| char_text(t.storage))),
                ),
                ("attcompression", v("")),
                ("attnotnull", v(not_null)),
                ("attidentity", v("")),
                ("attgenerated", v("")),
                ("attislocal", v(true)),
                ("attstattarget", v(-1)),
                ("attcollation", v(bt.map_or(0, |t| t.collation))),
            ]
        };
        for r in CATALOG_RELATIONS {
            for (i, c) in r.columns.iter().enumerate() {
                add(attr(
                    r.oid,
                    i as i64 + 1,
                    c.name,
                    c.type_oid,
                    -1,
                    r.kind == b'r',
                ));
            }
        }
        for (ti, t) in self.tables.iter().enumerate() {
            let pk: Vec<i16> = self
                .constraints
                .iter()
                .filter(|c| c.table == ti && c.kind == b'p')
                .flat_map(|c| c.columns.iter().copied())
                .collect();
            for (i, c) in t.columns.iter().enumerate() {
                let num = i as i64 + 1;
                let not_null = c.not_null || pk.contains(&(num as i16));
                let mut fields = attr(t.oid, num, &c.name, c.type_oid, c.typmod, not_null);
                let has_default = c.serial || c.default.is_some();
                fields.push(("atthasdef", v(has_default)));
                if let Some(kind) = c.identity {
                    fields.retain(|(n, _)| *n != "attidentity");
                    fields.push(("attidentity", v(char_text(kind))));
                }
                add(fields);
            }
        }
        for i in &self.indexes {
            let t = &self.tables[i.table];
            for (k, &col) in i.columns.iter().enumerate() {
                let Some(c) = usize::try_from(col - 1).ok().and_then(|x| t.columns.get(x)) else {
                    continue;
                };
                add(attr(
                    i.oid,
                    k as i64 + 1,
                    &c.name,
                    c.type_oid,
                    c.typmod,
                    false,
                ));
            }
        }
    }

    fn information_schema_rows(&self, rel: &CatalogRelation, add: &mut dyn FnMut(Fields<'_>)) {
        let db = self.settings.database.as_str();
        match rel.name {
            "schemata" => {
                for s in ["pg_catalog", "public", "information_schema"] {
                    add(vec![
                        ("catalog_name", v(db)),
                        ("schema_name", v(s)),
                        ("schema_owner", v(self.settings.owner.as_str())),
                    ]);
                }
            }
            "tables" => {
                for t in &self.tables {
                    let view = t.kind == RelationKind::View;
                    add(vec![
                        ("table_catalog", v(db)),
                        ("table_schema", v(t.schema.as_str())),
                        ("table_name", v(t.name.as_str())),
                        ("table_type", v(if view { "VIEW" } else { "BASE TABLE" })),
                        ("is_insertable_into", v("YES")),
                        ("is_typed", v("NO")),
                    ]);
                }
            }
            "views" => {
                for t in self.tables.iter().filter(|t| t.kind == RelationKind::View) {
                    add(vec![
                        ("table_catalog", v(db)),
                        ("table_schema", v(t.schema.as_str())),
                        ("table_name", v(t.name.as_str())),
                        ("view_definition", v(t.view_definition.clone())),
                        ("check_option", v("NONE")),
                        ("is_updatable", v("NO")),
                        ("is_insertable_into", v("NO")),
                    ]);
                }
            }
            "columns" => {
                for (ti, t) in self.tables.iter().enumerate() {
                    for (i, c) in t.columns.iter().enumerate() {
                        let num = i as i64 + 1;
                        let pk = self.constraints.iter().any(|k| {
                            k.table == ti && k.kind == b'p' && k.columns.contains(&(num as i16))
                        });
                        let bt = builtin_type(c.type_oid);
                        let data_type = if bt.is_some_and(|t| t.category == b'A') {
                            "ARRAY".to_owned()
                        } else {
                            format_type(c.type_oid, -1)
                        };
                        let char_len = match c.type_oid {
                            1043 | 1042 if c.typmod > 4 => Some(i64::from(c.typmod - 4)),
                            _ => None,
                        };
                        let (precision, radix, scale) = match c.type_oid {
                            21 => (Some(16), Some(2), Some(0)),
                            23 => (Some(32), Some(2), Some(0)),
                            20 => (Some(64), Some(2), Some(0)),
                            700 => (Some(24), Some(2), None),
                            701 => (Some(53), Some(2), None),
                            1700 if c.typmod >= 4 => (
                                Some(i64::from(((c.typmod - 4) >> 16) & 0xffff)),
                                Some(10),
                                Some(i64::from((c.typmod - 4) & 0xffff)),
                            ),
                            1700 => (None, Some(10), None),
                            _ => (None, None, None),
                        };
                        add(vec![
                            ("table_catalog", v(db)),
                            ("table_schema", v(t.schema.as_str())),
                            ("table_name", v(t.name.as_str())),
                            ("column_name", v(c.name.as_str())),
                            ("ordinal_position", v(num)),
                            ("column_default", v(self.default_expr(t, c))),
                            (
                                "is_nullable",
                                v(if c.not_null || pk { "NO" } else { "YES" }),
                            ),
                            ("data_type", v(data_type)),
                            ("character_maximum_length", v(char_len)),
                            ("numeric_precision", v(precision)),
                            ("numeric_precision_radix", v(radix)),
                            ("numeric_scale", v(scale)),
                            ("udt_catalog", v(db)),
                            ("udt_schema", v("pg_catalog")),
                            ("udt_name", v(bt.map(|t| t.name))),
                            ("dtd_identifier", v(num.to_string())),
                            ("is_self_referencing", v("NO")),
                            (
                                "is_identity",
                                v(if c.identity.is_some() { "YES" } else { "NO" }),
                            ),
                            ("is_generated", v("NEVER")),
                            ("is_updatable", v("YES")),
                        ]);
                    }
                }
            }
            "table_constraints" => {
                for c in &self.constraints {
                    let t = &self.tables[c.table];
                    let kind = match c.kind {
                        b'p' => "PRIMARY KEY",
                        b'u' => "UNIQUE",
                        b'f' => "FOREIGN KEY",
                        _ => "CHECK",
                    };
                    add(vec![
                        ("constraint_catalog", v(db)),
                        ("constraint_schema", v(t.schema.as_str())),
                        ("constraint_name", v(c.name.as_str())),
                        ("table_catalog", v(db)),
                        ("table_schema", v(t.schema.as_str())),
                        ("table_name", v(t.name.as_str())),
                        ("constraint_type", v(kind)),
                        ("is_deferrable", v("NO")),
                        ("initially_deferred", v("NO")),
                        ("enforced", v("YES")),
                        ("nulls_distinct", v(if c.kind == b'u' { "YES" } else { "" })),
                    ]);
                }
            }
            "key_column_usage" => {
                for c in self.constraints.iter().filter(|c| c.kind != b'c') {
                    let t = &self.tables[c.table];
                    for (k, &col) in c.columns.iter().enumerate() {
                        add(vec![
                            ("constraint_catalog", v(db)),
                            ("constraint_schema", v(t.schema.as_str())),
                            ("constraint_name", v(c.name.as_str())),
                            ("table_catalog", v(db)),
                            ("table_schema", v(t.schema.as_str())),
                            ("table_name", v(t.name.as_str())),
                            ("column_name", v(self.column_name(c.table, col))),
                            ("ordinal_position", v(k as i64 + 1)),
                            (
                                "position_in_unique_constraint",
                                v((c.kind == b'f').then_some(k as i64 + 1)),
                            ),
                        ]);
                    }
                }
            }
            "referential_constraints" => {
                for c in self.constraints.iter().filter(|c| c.kind == b'f') {
                    let t = &self.tables[c.table];
                    let unique = self
                        .constraints
                        .iter()
                        .find(|u| matches!(u.kind, b'p' | b'u') && u.index == c.index)
                        .map(|u| u.name.as_str());
                    let action = |a: u8| match a {
                        b'r' => "RESTRICT",
                        b'c' => "CASCADE",
                        b'n' => "SET NULL",
                        b'd' => "SET DEFAULT",
                        _ => "NO ACTION",
                    };
                    add(vec![
                        ("constraint_catalog", v(db)),
                        ("constraint_schema", v(t.schema.as_str())),
                        ("constraint_name", v(c.name.as_str())),
                        ("unique_constraint_catalog", v(db)),
                        ("unique_constraint_schema", v(t.schema.as_str())),
                        ("unique_constraint_name", v(unique)),
                        ("match_option", v("NONE")),
                        ("update_rule", v(action(c.on_update))),
                        ("delete_rule", v(action(c.on_delete))),
                    ]);
                }
            }
            _ => {}
        }
    }
}

/// Any value as a catalog value.
fn v<T: Into<CatalogValue>>(x: T) -> CatalogValue {
    x.into()
}

/// A one-byte `"char"` value as text.
fn char_text(c: u8) -> String {
    char::from(c).to_string()
}

/// `schema.name` split at dots outside double quotes; unquoted parts are
/// folded to lower case.
fn split_qualified(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c if quoted => cur.push(c),
            c => cur.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(cur);
    parts
}

#[cfg(test)]
mod tests {
    use super::super::{ColumnDef, ForeignKeyDef, KeyDef};
    use super::*;

    fn sample() -> Catalog {
        let mut a = TableDef::new(16_384, "public", "authors", RelationKind::Table);
        let mut id = ColumnDef::new("id", 23, -1);
        id.serial = true;
        a.columns.push(id);
        a.columns.push(ColumnDef::new("name", 25, -1));
        a.primary_key = Some(KeyDef {
            name: None,
            columns: vec!["id".into()],
        });
        let mut b = TableDef::new(16_384 + OID_SPAN, "public", "books", RelationKind::Table);
        b.columns.push(ColumnDef::new("id", 23, -1));
        b.columns.push(ColumnDef::new("author_id", 23, -1));
        b.foreign_keys.push(ForeignKeyDef {
            name: None,
            columns: vec!["author_id".into()],
            referenced_table: "authors".into(),
            referenced_columns: Vec::new(),
            on_update: b'a',
            on_delete: b'c',
        });
        Catalog::new(
            CatalogSettings {
                database: "db".into(),
                owner: "alice".into(),
                settings: Vec::new(),
            },
            vec![a, b],
        )
    }

    #[test]
    fn names_and_definitions() {
        let c = sample();
        let books = c.regclass_oid("books").expect("books");
        assert_eq!(c.regclass_name(books), "books");
        assert_eq!(c.regclass_oid("pg_catalog.pg_class"), Some(1259));
        let pkey = c.regclass_oid("authors_pkey").expect("index");
        assert_eq!(
            c.pg_get_indexdef(pkey).as_deref(),
            Some("CREATE UNIQUE INDEX authors_pkey ON public.authors USING btree (id)")
        );
        let fk = c.constraints.iter().find(|k| k.kind == b'f').expect("fk");
        assert_eq!(fk.name, "books_author_id_fkey");
        assert_eq!(
            c.pg_get_constraintdef(fk.oid).as_deref(),
            Some("FOREIGN KEY (author_id) REFERENCES authors(id) ON DELETE CASCADE")
        );
        assert_eq!(
            c.pg_get_serial_sequence("authors", "id").as_deref(),
            Some("public.authors_id_seq")
        );
        assert_eq!(c.pg_get_userbyid(10), "alice");
    }

    #[test]
    fn rows_follow_layouts() {
        let c = sample();
        for rel in CATALOG_RELATIONS {
            for r in c.rows(rel) {
                assert_eq!(r.len(), rel.columns.len(), "{}", rel.name);
            }
        }
        let attrdef = super::super::relation("pg_catalog", "pg_attrdef").expect("attrdef");
        let rows = c.rows(attrdef);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].contains(&CatalogValue::Text(
            "nextval('authors_id_seq'::regclass)".into()
        )));
    }
}
