//! How an engine describes its own relations to the catalog.

/// What kind of relation a [`TableDef`] is (`pg_class.relkind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// An ordinary table (`r`).
    Table,
    /// A view (`v`).
    View,
}

/// A table or view of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    /// Its OID. The OIDs `oid..oid + OID_SPAN` belong to it: its indexes,
    /// constraints, sequences and defaults are numbered in that range, so
    /// they stay the same as long as the table does. Must be at least
    /// 16384 (`FirstNormalObjectId`).
    pub oid: u32,
    /// Its schema (usually `public`).
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Table or view.
    pub kind: RelationKind,
    /// Its columns, in order.
    pub columns: Vec<ColumnDef>,
    /// Its primary key.
    pub primary_key: Option<KeyDef>,
    /// Its unique constraints (each has an index).
    pub unique: Vec<KeyDef>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Its check constraints.
    pub checks: Vec<CheckDef>,
    /// Indexes that back no constraint.
    pub indexes: Vec<IndexDef>,
    /// A view's query (`pg_get_viewdef`).
    pub view_definition: Option<String>,
    /// `COMMENT ON TABLE` (`obj_description`).
    pub comment: Option<String>,
}

impl TableDef {
    /// An empty table `schema.name` with this OID.
    pub fn new(oid: u32, schema: &str, name: &str, kind: RelationKind) -> TableDef {
        TableDef {
            oid,
            schema: schema.to_owned(),
            name: name.to_owned(),
            kind,
            columns: Vec::new(),
            primary_key: None,
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            indexes: Vec::new(),
            view_definition: None,
            comment: None,
        }
    }

    /// The 1-based number of column `name` (`attnum`).
    pub fn column_number(&self, name: &str) -> Option<i16> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .and_then(|i| i16::try_from(i + 1).ok())
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its type (`parse_type_name` gives it from a declared type).
    pub type_oid: u32,
    /// Its type modifier (-1 for none).
    pub typmod: i32,
    /// `NOT NULL` (primary key columns are, whatever this says).
    pub not_null: bool,
    /// Its default expression as SQL text (`pg_get_expr`), unless
    /// `serial`.
    pub default: Option<String>,
    /// Numbered by a sequence named `{table}_{column}_seq`, as a
    /// `serial` column is; its default is then `nextval(...)`.
    pub serial: bool,
    /// An identity column (`a` always, `d` by default).
    pub identity: Option<u8>,
    /// `COMMENT ON COLUMN` (`col_description`).
    pub comment: Option<String>,
}

impl ColumnDef {
    /// A nullable column without default.
    pub fn new(name: &str, type_oid: u32, typmod: i32) -> ColumnDef {
        ColumnDef {
            name: name.to_owned(),
            type_oid,
            typmod,
            not_null: false,
            default: None,
            serial: false,
            identity: None,
            comment: None,
        }
    }
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDef {
    /// Its name; PostgreSQL's default (`{table}_pkey`,
    /// `{table}_{columns}_key`) if `None`.
    pub name: Option<String>,
    /// Its columns.
    pub columns: Vec<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDef {
    /// Its name; `{table}_{columns}_fkey` if `None`.
    pub name: Option<String>,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table (in the same schema).
    pub referenced_table: String,
    /// The referenced columns (the primary key's if empty).
    pub referenced_columns: Vec<String>,
    /// `ON UPDATE` action: `a` no action, `r` restrict, `c` cascade, `n`
    /// set null, `d` set default.
    pub on_update: u8,
    /// `ON DELETE` action, coded as `on_update`.
    pub on_delete: u8,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDef {
    /// Its name; `{table}_{column}_check` (or `{table}_check`) if `None`.
    pub name: Option<String>,
    /// The expression, as SQL text without the outer parentheses.
    pub expression: String,
}

/// An index that backs no constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// Its name.
    pub name: String,
    /// Its key columns.
    pub columns: Vec<String>,
    /// `UNIQUE`.
    pub unique: bool,
}
