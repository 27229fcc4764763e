//! PostgreSQL's system catalog, for engines that are not PostgreSQL.
//!
//! Every tool learns what is behind the wire from `pg_catalog` and
//! `information_schema`: psql's `\d`, SQLAlchemy's reflection, pgJDBC's
//! `DatabaseMetaData`, DBeaver, Metabase... This module has what an engine
//! would otherwise re-derive by hand:
//!
//! - PostgreSQL 15's built-in rows: [`BUILTIN_TYPES`] (`pg_type`, with
//!   their array types), [`BUILTIN_PROCS`] (the `pg_proc` rows of the
//!   functions tools look up), the access methods of `pg_am`;
//! - the column layouts of the catalog relations and `information_schema`
//!   views tools query ([`CATALOG_RELATIONS`], [`relation`]);
//! - [`Catalog`]: from the engine's description of its own tables
//!   ([`TableDef`]), the rows of every one of those relations
//!   ([`Catalog::rows`]) with consistent OIDs, and the helper functions
//!   their queries call ([`Catalog::pg_get_indexdef`],
//!   [`Catalog::pg_get_constraintdef`], [`Catalog::regclass_name`],
//!   [`format_type`], ...), as plain functions an engine registers under
//!   PostgreSQL's names.
//!
//! # Exposing an engine's tables
//!
//! 1. Describe each table, view and index as a [`TableDef`] (column types
//!    as PostgreSQL type OIDs and typmods: [`parse_type_name`] turns a
//!    declared type such as `varchar(200)` into both).
//! 2. Build a [`Catalog`] with [`Catalog::new`]; rebuild it when the
//!    engine's schema changes.
//! 3. Make the relations queryable: for each entry of
//!    [`CATALOG_RELATIONS`], a table (or view) named like it whose rows
//!    are [`Catalog::rows`]. An SQL engine can simply create real tables
//!    with those columns in schemas named `pg_catalog` and
//!    `information_schema` and fill them.
//! 4. Register the helpers under PostgreSQL's names (`format_type`,
//!    `pg_get_indexdef`, `pg_table_is_visible`, `::regclass`...).
//!
//! The `sqlite` example does all four (`examples/sqlite/server/catalog.rs`).

mod builtin_procs;
mod builtin_types;
mod format_type;
mod layouts;
mod model;
mod rows;
mod snapshot;

pub use builtin_procs::BUILTIN_PROCS;
pub use builtin_types::BUILTIN_TYPES;
pub use format_type::{format_type, parse_type_name};
pub use layouts::CATALOG_RELATIONS;
pub use model::{CheckDef, ColumnDef, ForeignKeyDef, IndexDef, KeyDef, RelationKind, TableDef};
pub use rows::{CatalogValue, quote_ident};
pub use snapshot::{Catalog, CatalogSettings, OID_SPAN};

/// One built-in type: a `pg_type` row of `pg_catalog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinType {
    /// `oid`.
    pub oid: u32,
    /// `typname`.
    pub name: &'static str,
    /// `typlen`: bytes, or -1 (varlena) / -2 (C string).
    pub len: i16,
    /// `typbyval`.
    pub by_val: bool,
    /// `typtype`: `b` base, `p` pseudo, `r` range, `m` multirange.
    pub kind: u8,
    /// `typcategory`: `N` numeric, `S` string, `A` array...
    pub category: u8,
    /// `typispreferred`.
    pub preferred: bool,
    /// `typelem`: the element type of an array type (0 otherwise).
    pub elem: u32,
    /// `typarray`: the array type of this type (0 if none).
    pub array: u32,
    /// `typdelim`: the array element delimiter.
    pub delim: u8,
    /// `typstorage`: `p` plain, `x` extended, `m` main, `e` external.
    pub storage: u8,
    /// `typcollation`: 100 (`default`) for collatable types, else 0.
    pub collation: u32,
    /// `typalign`.
    pub align: u8,
    /// `typinput`.
    pub input: &'static str,
    /// `typoutput`.
    pub output: &'static str,
    /// `typreceive`.
    pub receive: &'static str,
    /// `typsend`.
    pub send: &'static str,
}

/// One built-in function: a `pg_proc` row of `pg_catalog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinProc {
    /// `oid`.
    pub oid: u32,
    /// `proname`.
    pub name: &'static str,
    /// `prokind`: `f` function, `a` aggregate, `w` window.
    pub kind: u8,
    /// `proretset`.
    pub returns_set: bool,
    /// `pronargs`.
    pub nargs: i16,
    /// `prorettype`.
    pub returns: u32,
    /// `proargtypes`.
    pub args: &'static [u32],
}

/// A column of a catalog relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogColumn {
    /// Its name.
    pub name: &'static str,
    /// Its type as RowDescription reports it (a domain's base type).
    pub type_oid: u32,
}

/// A catalog relation or `information_schema` view: where it lives and
/// its columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogRelation {
    /// Its OID in PostgreSQL 15.
    pub oid: u32,
    /// `pg_catalog` or `information_schema`.
    pub schema: &'static str,
    /// Its name.
    pub name: &'static str,
    /// `r` (table) or `v` (view).
    pub kind: u8,
    /// Its columns.
    pub columns: &'static [CatalogColumn],
}

/// The built-in type with this OID.
pub fn builtin_type(oid: u32) -> Option<&'static BuiltinType> {
    BUILTIN_TYPES
        .binary_search_by_key(&oid, |t| t.oid)
        .ok()
        .map(|i| &BUILTIN_TYPES[i])
}

/// The built-in type named `name` (its `typname`, e.g. `int4`, `_text`).
pub fn builtin_type_by_name(name: &str) -> Option<&'static BuiltinType> {
    BUILTIN_TYPES.iter().find(|t| t.name == name)
}

/// The catalog relation `schema.name` (`schema` `pg_catalog` or
/// `information_schema`).
pub fn relation(schema: &str, name: &str) -> Option<&'static CatalogRelation> {
    CATALOG_RELATIONS
        .iter()
        .find(|r| r.schema == schema && r.name == name)
}

/// The well-known OIDs of PostgreSQL's catalog.
pub mod oids {
    /// The `pg_catalog` schema.
    pub const PG_CATALOG_NAMESPACE: u32 = 11;
    /// The `pg_toast` schema.
    pub const PG_TOAST_NAMESPACE: u32 = 99;
    /// The `public` schema.
    pub const PUBLIC_NAMESPACE: u32 = 2200;
    /// The `information_schema` schema (its OID in a PostgreSQL 15 cluster).
    pub const INFORMATION_SCHEMA_NAMESPACE: u32 = 13_207;
    /// The bootstrap superuser, who owns everything here.
    pub const BOOTSTRAP_SUPERUSER: u32 = 10;
    /// The `pg_database_owner` role, owner of `public`.
    pub const PG_DATABASE_OWNER: u32 = 6171;
    /// The `heap` table access method.
    pub const HEAP_AM: u32 = 2;
    /// The `btree` index access method.
    pub const BTREE_AM: u32 = 403;
    /// `pg_class`, the class of relations in `pg_description`.
    pub const PG_CLASS: u32 = 1259;
    /// `pg_namespace`, the class of schemas in `pg_description`.
    pub const PG_NAMESPACE: u32 = 2615;
    /// The first OID of objects users create.
    pub const FIRST_NORMAL_OBJECT_ID: u32 = 16_384;
    /// The default collation.
    pub const DEFAULT_COLLATION: u32 = 100;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let int4 = builtin_type(23).expect("int4");
        assert_eq!(int4.name, "int4");
        assert_eq!(builtin_type(int4.array).map(|t| t.name), Some("_int4"));
        assert_eq!(builtin_type_by_name("_int4").map(|t| t.elem), Some(23));
        let class = relation("pg_catalog", "pg_class").expect("pg_class");
        assert_eq!(class.oid, 1259);
        assert_eq!(class.columns[0].name, "oid");
        assert!(relation("information_schema", "columns").is_some());
        assert!(BUILTIN_PROCS.iter().any(|p| p.name == "lo_open"));
    }
}
