//! The catalog queries DBeaver, Metabase and Grafana send when they connect
//! and fill their schema browsers, run against the SQLite example and, as
//! the reference, a throwaway PostgreSQL 15 holding the same schema. Each
//! query's text is what the tool sends (the comment names the tool and the
//! file it comes from); the example must answer every one without error,
//! and the compared columns (OIDs, owners, sizes and other values that
//! legitimately differ left out) must hold the same rows.
//!
//! The queries go through the simple protocol, so that every value arrives
//! as text; the tools send them as prepared statements, whose parameters
//! are inlined here as the literals the tools bind.

mod common;
#[allow(dead_code)]
#[path = "common/postgres.rs"]
mod pg;
#[allow(dead_code)]
#[path = "../examples/sqlite/server/mod.rs"]
mod sqlite_server;

use common::*;
use pgwire::server::ServerConfig;
use sqlite_server::{DbLocation, SqliteServer};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The schema both servers hold.
const SCHEMA: &[&str] = &[
    "CREATE TABLE bi_authors (id serial PRIMARY KEY, name varchar(100) NOT NULL)",
    "CREATE TABLE bi_books (id integer PRIMARY KEY, \
     author_id integer NOT NULL REFERENCES bi_authors(id), \
     title text NOT NULL, price numeric(8,2) DEFAULT 0)",
    "CREATE INDEX bi_books_title_idx ON bi_books (title)",
    "CREATE VIEW bi_cheap AS SELECT id, title FROM bi_books WHERE price < 10",
];

/// How a query's answer is compared.
enum Compare {
    /// These columns of every row, rows sorted.
    Columns(&'static [&'static str]),
    /// These columns of the rows whose `.0` column is one of `.1`.
    ColumnsWhere(
        &'static [&'static str],
        &'static str,
        &'static [&'static str],
    ),
    /// These columns of the rows `keep` accepts (given a column lookup).
    ColumnsIf(&'static [&'static str], KeepRow),
    /// Only that it runs and returns rows (values differ by server).
    Runs,
}

/// Which rows of an answer are compared, given a lookup by column name.
type KeepRow = fn(&dyn Fn(&str) -> Option<String>) -> bool;

/// One query a tool sends.
struct ToolQuery {
    tool: &'static str,
    what: &'static str,
    sql: String,
    compare: Compare,
}

fn q(tool: &'static str, what: &'static str, sql: &str, compare: Compare) -> ToolQuery {
    ToolQuery {
        tool,
        what,
        sql: sql.to_owned(),
        compare,
    }
}

/// Grafana's schema constraint (`buildSchemaConstraint`), in
/// public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts.
const GRAFANA_SCHEMA_CONSTRAINT: &str = "
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '\"$user\"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )";

/// The queries, in the order the tools send them. `public_oid` is the
/// namespace OID DBeaver read from its schema list and binds afterwards.
fn queries(public_oid: &str, dbname: &str) -> Vec<ToolQuery> {
    use Compare::*;
    let grafana = "Grafana";
    let metabase = "Metabase";
    let dbeaver = "DBeaver";
    vec![
        // Grafana: public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts
        q(
            grafana,
            "getVersion",
            "SELECT current_setting('server_version_num')::int/100 as version",
            Runs,
        ),
        q(
            grafana,
            "getTimescaleDBVersion",
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
            Columns(&["extversion"]),
        ),
        q(
            grafana,
            "showSchemas",
            "SELECT schema_name AS \"name\"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name",
            Columns(&["name"]),
        ),
        q(
            grafana,
            "showTables(public)",
            "SELECT quote_ident(table_name) AS \"table\"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1",
            Columns(&["table"]),
        ),
        q(
            grafana,
            "showTables()",
            &format!(
                "SELECT
    CASE WHEN {c}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS \"table\"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN {c} THEN 0 ELSE 1 END, 1",
                c = GRAFANA_SCHEMA_CONSTRAINT
            ),
            Columns(&["table"]),
        ),
        q(
            grafana,
            "getSchema(bi_books)",
            &format!(
                "SELECT quote_ident(column_name) AS \"column\", data_type AS \"type\"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('bi_books'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('bi_books'))[1]
          AND quote_ident(table_name) = (parse_ident('bi_books'))[2]
        ELSE quote_ident(table_name) = 'bi_books'
          AND {GRAFANA_SCHEMA_CONSTRAINT}
      END"
            ),
            Columns(&["column", "type"]),
        ),
        // Metabase: src/metabase/driver/postgres.clj, `db-default-timezone`.
        q(metabase, "db-default-timezone", "show timezone;", Runs),
        // Metabase: src/metabase/driver/postgres.clj, `enum-types`.
        q(
            metabase,
            "enum-types",
            "SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)",
            Columns(&["nspname", "typname"]),
        ),
        // Metabase: src/metabase/driver/postgres.clj, `get-tables-sql` (HoneySQL,
        // ANSI dialect) as it renders for the schema `public`.
        q(
            metabase,
            "describe-database (get-tables-sql)",
            "SELECT n.nspname AS schema, c.relname AS name, CASE c.relkind WHEN 'r' THEN 'TABLE' \
             WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' \
             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS type, d.description AS description, \
             stat.n_live_tup AS estimated_row_count FROM pg_catalog.pg_class AS c \
             INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid \
             LEFT JOIN pg_catalog.pg_description AS d ON (c.oid = d.objoid) AND (d.objsubid = 0) \
             AND (d.classoid = 'pg_class'::regclass) \
             LEFT JOIN pg_stat_user_tables AS stat ON (n.nspname = stat.schemaname) \
             AND (c.relname = stat.relname) \
             WHERE (c.relnamespace = n.oid) AND (n.nspname !~ '^pg_') \
             AND (n.nspname <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') \
             AND (n.nspname IN ('public')) ORDER BY type ASC, schema ASC, name ASC",
            Columns(&["schema", "name", "type", "description"]),
        ),
        // Metabase: src/metabase/driver/postgres.clj, `describe-fks-sql` as
        // it renders (HoneySQL, quoted identifiers) for schema `public`.
        q(
            metabase,
            "describe-fks-sql",
            "SELECT fk_ns.nspname AS \"fk-table-schema\", fk_table.relname AS \"fk-table-name\", \
             fk_column.attname AS \"fk-column-name\", pk_ns.nspname AS \"pk-table-schema\", \
             pk_table.relname AS \"pk-table-name\", pk_column.attname AS \"pk-column-name\" \
             FROM pg_constraint AS c \
             INNER JOIN pg_class AS fk_table ON c.conrelid = fk_table.oid \
             INNER JOIN pg_namespace AS fk_ns ON c.connamespace = fk_ns.oid \
             INNER JOIN pg_attribute AS fk_column ON c.conrelid = fk_column.attrelid \
             INNER JOIN pg_class AS pk_table ON c.confrelid = pk_table.oid \
             INNER JOIN pg_namespace AS pk_ns ON pk_table.relnamespace = pk_ns.oid \
             INNER JOIN pg_attribute AS pk_column ON c.confrelid = pk_column.attrelid \
             WHERE (fk_ns.nspname !~ '^information_schema|catalog_history|pg_') \
             AND (c.contype = 'f'::char) AND (fk_column.attnum = ANY(c.conkey)) \
             AND (pk_column.attnum = ANY(c.confkey)) AND (fk_ns.nspname IN ('public')) \
             ORDER BY \"fk-table-schema\" ASC, \"fk-table-name\" ASC",
            Columns(&[
                "fk-table-schema",
                "fk-table-name",
                "fk-column-name",
                "pk-table-schema",
                "pk-table-name",
                "pk-column-name",
            ]),
        ),
        // Metabase: src/metabase/driver/postgres.clj, `describe-fields-sql`
        // as it renders for `public`: information_schema's columns, and
        // materialized views' from pg_attribute (UNION ALL).
        q(
            metabase,
            "describe-fields-sql",
            "SELECT c.column_name AS name, CASE WHEN c.udt_schema IN ('public', 'pg_catalog') \
             THEN FORMAT('%s', c.udt_name) ELSE FORMAT('\"%s\".\"%s\"', c.udt_schema, c.udt_name) END \
             AS \"database-type\", c.ordinal_position - 1 AS \"database-position\", \
             c.table_schema AS \"table-schema\", c.table_name AS \"table-name\", \
             pk.column_name IS NOT NULL AS \"pk?\", \
             COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST(c.table_schema AS TEXT), \
             CAST(c.table_name AS TEXT)) AS REGCLASS) AS OID), c.ordinal_position) AS \"field-comment\", \
             ((column_default IS NULL) OR (LOWER(column_default) = 'null')) AND (is_nullable = 'NO') \
             AND NOT (((column_default IS NOT NULL) AND (column_default LIKE '%nextval(%')) \
             OR (is_identity <> 'NO')) AS \"database-required\", \
             ((column_default IS NOT NULL) AND (column_default LIKE '%nextval(%')) \
             OR (is_identity <> 'NO') AS \"database-is-auto-increment\" \
             FROM information_schema.columns AS c \
             LEFT JOIN (SELECT tc.table_schema, tc.table_name, kc.column_name \
             FROM information_schema.table_constraints AS tc \
             INNER JOIN information_schema.key_column_usage AS kc \
             ON (tc.constraint_name = kc.constraint_name) AND (tc.table_schema = kc.table_schema) \
             AND (tc.table_name = kc.table_name) WHERE tc.constraint_type = 'PRIMARY KEY') AS pk \
             ON (c.table_schema = pk.table_schema) AND (c.table_name = pk.table_name) \
             AND (c.column_name = pk.column_name) \
             WHERE (c.table_schema !~ '^information_schema|catalog_history|pg_') \
             AND (c.table_schema IN ('public')) \
             UNION ALL SELECT pa.attname AS name, CASE WHEN ptn.nspname IN ('public', 'pg_catalog') \
             THEN FORMAT('%s', pt.typname) ELSE FORMAT('\"%s\".\"%s\"', ptn.nspname, pt.typname) END \
             AS \"database-type\", pa.attnum - 1 AS \"database-position\", \
             pn.nspname AS \"table-schema\", pc.relname AS \"table-name\", FALSE AS \"pk?\", \
             NULL AS \"field-comment\", FALSE AS \"database-required\", \
             FALSE AS \"database-is-auto-increment\" FROM pg_catalog.pg_class AS pc \
             INNER JOIN pg_catalog.pg_namespace AS pn ON pn.oid = pc.relnamespace \
             INNER JOIN pg_catalog.pg_attribute AS pa ON pa.attrelid = pc.oid \
             INNER JOIN pg_catalog.pg_type AS pt ON pt.oid = pa.atttypid \
             INNER JOIN pg_catalog.pg_namespace AS ptn ON ptn.oid = pt.typnamespace \
             WHERE (pc.relkind = 'm') AND (pa.attnum >= 1) AND (pn.nspname IN ('public')) \
             ORDER BY \"table-schema\" ASC, \"table-name\" ASC, \"database-position\" ASC",
            Columns(&[
                "name",
                "database-type",
                "database-position",
                "table-schema",
                "table-name",
                "pk?",
                "field-comment",
                "database-required",
                "database-is-auto-increment",
            ]),
        ),
        // Metabase: src/metabase/driver/postgres.clj, `describe-indexes-sql`
        // (index sync, the `:index-info` feature), as HoneySQL renders it
        // (quoted identifiers, upper-case function names) for `public`
        // and the table `bi_books`: the first column of every index
        // without a predicate.
        q(
            metabase,
            "describe-indexes-sql",
            "SELECT \"tmp\".\"table-schema\", \"tmp\".\"table-name\", \
             TRIM(BOTH '\"' FROM PG_CATALOG.PG_GET_INDEXDEF(\"tmp\".\"ci_oid\", \"tmp\".\"pos\", FALSE)) \
             AS \"field-name\" FROM (SELECT \"n\".\"nspname\" AS \"table-schema\", \
             \"ct\".\"relname\" AS \"table-name\", \"ci\".\"oid\" AS \"ci_oid\", \
             (INFORMATION_SCHEMA._PG_EXPANDARRAY(\"i\".\"indkey\")).n AS \"pos\" \
             FROM \"pg_catalog\".\"pg_class\" AS \"ct\" \
             INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"n\" ON \"ct\".\"relnamespace\" = \"n\".\"oid\" \
             INNER JOIN \"pg_catalog\".\"pg_index\" AS \"i\" ON \"ct\".\"oid\" = \"i\".\"indrelid\" \
             INNER JOIN \"pg_catalog\".\"pg_class\" AS \"ci\" ON \"ci\".\"oid\" = \"i\".\"indexrelid\" \
             WHERE (PG_CATALOG.PG_GET_EXPR(\"i\".\"indpred\", \"i\".\"indrelid\") IS NULL) \
             AND n.nspname !~ '^information_schema|catalog_history|pg_' \
             AND (\"n\".\"nspname\" IN ('public')) AND (\"ct\".\"relname\" IN ('bi_books'))) AS \"tmp\" \
             WHERE \"tmp\".\"pos\" = 1",
            Columns(&["table-schema", "table-name", "field-name"]),
        ),
        // DBeaver (source at commit 2428359b, 2024-10): PostgreDataSource.java
        // lists the databases, PostgreExecutionContext.java reads the
        // current schema and the search path, PostgreDatabase.java the
        // connection's database, when connecting.
        q(
            dbeaver,
            "databases",
            &format!(
                "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn \
                 AND NOT datistemplate OR db.datname ='{dbname}'\nORDER BY db.datname"
            ),
            // Each server lists the database the test connected to.
            ColumnsWhere(
                &["datallowconn", "datistemplate"],
                "datname",
                &["postgres", "test"],
            ),
        ),
        q(
            dbeaver,
            "current schema",
            "SELECT current_schema(),session_user",
            Columns(&["current_schema"]),
        ),
        q(
            dbeaver,
            "search path",
            "SHOW search_path",
            Columns(&["search_path"]),
        ),
        q(
            dbeaver,
            "database",
            &format!("SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='{dbname}'"),
            Runs,
        ),
        // DBeaver: PostgreDatabase.java, RoleCache and the access methods.
        q(
            dbeaver,
            "roles",
            "SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a \n\
             left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid\nORDER BY a.rolname",
            ColumnsWhere(
                &["rolname", "rolsuper", "rolcanlogin", "description"],
                "rolname",
                &["postgres"],
            ),
        ),
        q(
            dbeaver,
            "access methods",
            "SELECT am.oid,am.* FROM pg_catalog.pg_am am \nORDER BY am.oid",
            Columns(&["amname", "amtype"]),
        ),
        // DBeaver: PostgreDataTypeCache.java, the base types of a schema
        // (pg_catalog, OID 11 in both) read on connect. The types'
        // descriptions are left out: the catalog has none (PostgreSQL's
        // pg_description has one per built-in type).
        q(
            dbeaver,
            "data types of pg_catalog",
            "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, \
             d.description\nFROM pg_catalog.pg_type t\n\
             LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem \n\
             LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid\n\
             LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n\
             WHERE t.typname IS NOT NULL\n\
             AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')\n\
             AND t.typnamespace=11 ",
            ColumnsWhere(
                &["typname", "typtype", "typcategory", "typlen", "relkind"],
                "typname",
                &[
                    "bool",
                    "int4",
                    "int8",
                    "text",
                    "varchar",
                    "numeric",
                    "timestamptz",
                    "_int4",
                    "_text",
                    "uuid",
                    "jsonb",
                ],
            ),
        ),
        // DBeaver: PostgreDatabase.java, SchemaCache.
        q(
            dbeaver,
            "schemas",
            "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n\
             LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 \
             AND d.classoid='pg_namespace'::regclass\n ORDER BY nspname",
            ColumnsWhere(
                &["nspname", "description"],
                "nspname",
                &["public", "pg_catalog", "information_schema"],
            ),
        ),
        // DBeaver: PostgreSchema.java, TableCache (the namespace OID bound).
        q(
            dbeaver,
            "tables of a schema",
            &format!(
                "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  \
                 pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n\
                 FROM pg_catalog.pg_class c\n\
                 LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 \
                 AND d.classoid='pg_class'::regclass\n\
                 WHERE c.relnamespace={public_oid} AND c.relkind not in ('i','I','c')"
            ),
            Columns(&[
                "relname",
                "relkind",
                "relnatts",
                "description",
                "partition_expr",
                "partition_key",
            ]),
        ),
        // DBeaver: PostgreSchema.java, the table columns cache.
        q(
            dbeaver,
            "columns of a schema",
            &format!(
                "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,\
                 dsc.description,dep.objid\n\
                 FROM pg_catalog.pg_attribute a\n\
                 INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n\
                 LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\n\
                 LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n\
                 LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' \
                 and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\n\
                 WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') \
                 AND c.relnamespace={public_oid} ORDER BY a.attnum"
            ),
            ColumnsIf(
                &[
                    "relname",
                    "attname",
                    "attnum",
                    "attnotnull",
                    "atthasdef",
                    "def_value",
                    "description",
                ],
                // PostgreSQL lists system columns (attnum < 0) and its
                // sequences' columns, which SQLite has not.
                |col| {
                    col("attnum").and_then(|n| n.parse::<i32>().ok()) > Some(0)
                        && col("relname").is_some_and(|r| !r.ends_with("_seq"))
                },
            ),
        ),
        // DBeaver: PostgreSchema.java, ConstraintCache (the namespace OID
        // bound).
        q(
            dbeaver,
            "constraints of a schema",
            &format!(
                "SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, \
                 case when c.contype='c' then \"substring\"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy\n\
                 FROM pg_catalog.pg_constraint c\n\
                 INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid\n\
                 LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid\n\
                 LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 \
                 AND d.classoid='pg_constraint'::regclass\n\
                 WHERE t.relnamespace={public_oid}\n\
                 ORDER BY c.oid"
            ),
            Columns(&[
                "conname",
                "contype",
                "tabrelname",
                "conkey",
                "confkey",
                "confupdtype",
                "confdeltype",
                "description",
                "consrc_copy",
            ]),
        ),
        // DBeaver: PostgreSchema.java, IndexCache (the namespace OID bound).
        q(
            dbeaver,
            "indexes of a schema",
            &format!(
                "SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,\
                 tc.relname as tabrelname,dsc.description,\
                 pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,\
                 pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,\
                 pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,\
                 pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans\n\
                 FROM pg_catalog.pg_index i\n\
                 INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid\n\
                 INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid\n\
                 LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid\n\
                 WHERE  c.relnamespace={public_oid} ORDER BY c.relname"
            ),
            Columns(&[
                "relname",
                "tabrelname",
                "indnatts",
                "indisunique",
                "indisprimary",
                "keys",
                "pred_expr",
                "expr",
                "description",
            ]),
        ),
        // DBeaver: PostgreDataTypeCache.java, one type by OID.
        q(
            dbeaver,
            "data type by oid",
            "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name \
             FROM pg_catalog.pg_type t\n\
             LEFT OUTER JOIN pg_class c ON c.oid=t.typrelid\n\
             LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n\
             WHERE t.oid=25 ",
            Columns(&[
                "typname",
                "typtype",
                "typcategory",
                "relkind",
                "base_type_name",
            ]),
        ),
    ]
}

/// The rows of `sql` as (column names, text values), or the error.
async fn run(
    client: &Client,
    sql: &str,
) -> Result<(Vec<String>, Vec<Vec<Option<String>>>), String> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| format!("{e}: {:?}", e.as_db_error().map(|d| d.message())))?;
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(cols) => {
                names = cols.iter().map(|c| c.name().to_owned()).collect();
            }
            SimpleQueryMessage::Row(row) => {
                if names.is_empty() {
                    names = row.columns().iter().map(|c| c.name().to_owned()).collect();
                }
                rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                );
            }
            _ => {}
        }
    }
    Ok((names, rows))
}

/// The part of an answer that is compared.
fn normalise(
    compare: &Compare,
    names: &[String],
    rows: &[Vec<Option<String>>],
) -> Result<Vec<Vec<Option<String>>>, String> {
    let (columns, filter, keep) = match compare {
        Compare::Columns(c) => (*c, None, None),
        Compare::ColumnsWhere(c, col, allowed) => (*c, Some((*col, *allowed)), None),
        Compare::ColumnsIf(c, keep) => (*c, None, Some(*keep)),
        Compare::Runs => return Ok(Vec::new()),
    };
    let index = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("no column {name:?} among {names:?}"))
    };
    let picked: Vec<usize> = columns.iter().map(|c| index(c)).collect::<Result<_, _>>()?;
    let filter = match filter {
        Some((col, allowed)) => Some((index(col)?, allowed)),
        None => None,
    };
    let mut out: Vec<Vec<Option<String>>> = rows
        .iter()
        .filter(|r| {
            filter.is_none_or(|(i, allowed)| r[i].as_deref().is_some_and(|v| allowed.contains(&v)))
        })
        .filter(|r| {
            keep.is_none_or(|keep| {
                keep(&|name: &str| {
                    names
                        .iter()
                        .position(|n| n == name)
                        .and_then(|i| r[i].clone())
                })
            })
        })
        .map(|r| picked.iter().map(|&i| r[i].clone()).collect())
        .collect();
    out.sort();
    Ok(out)
}

/// Creates the schema, then runs every tool query; one result per query
/// (normalised rows, or the error).
async fn answers(client: &Client, dbname: &str) -> Vec<Result<Vec<Vec<Option<String>>>, String>> {
    for stmt in SCHEMA {
        client.batch_execute(stmt).await.expect(stmt);
    }
    let public_oid = run(
        client,
        "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public'",
    )
    .await
    .expect("public's oid")
    .1[0][0]
        .clone()
        .expect("an oid");
    let mut out = Vec::new();
    for tq in queries(&public_oid, dbname) {
        let answer = match run(client, &tq.sql).await {
            Ok((names, rows)) if matches!(tq.compare, Compare::Runs) && rows.is_empty() => {
                Err(format!("no rows (columns {names:?})"))
            }
            Ok((names, rows)) => normalise(&tq.compare, &names, &rows),
            Err(e) => Err(e),
        };
        out.push(answer);
    }
    out
}

#[tokio::test]
async fn bi_tool_catalog_queries_match_postgres() {
    let server = TestServer::start(
        SqliteServer::new(DbLocation::Memory),
        ServerConfig::default(),
    );
    let example = answers(&server.connect().await, "test").await;
    let reference = match pg::Postgres::start("catalog-bi-tools", "-c TimeZone=UTC") {
        Ok(postgres) => {
            let answers = answers(&postgres.connect().await, "postgres").await;
            drop(postgres);
            Some(answers)
        }
        Err(why) => {
            eprintln!("(no PostgreSQL reference for the BI tools' queries: {why})");
            None
        }
    };
    let list = queries("0", "x");
    let mut failures = Vec::new();
    for (i, tq) in list.iter().enumerate() {
        let label = format!("{} {}", tq.tool, tq.what);
        match (&example[i], reference.as_ref().map(|r| &r[i])) {
            (Err(e), _) => failures.push(format!("{label}: the example fails: {e}")),
            (Ok(_), Some(Err(e))) => failures.push(format!("{label}: PostgreSQL fails: {e}")),
            (Ok(ex), Some(Ok(pg))) if ex != pg => failures.push(format!(
                "{label}: differs\n  example:    {ex:?}\n  PostgreSQL: {pg:?}"
            )),
            (Ok(_), _) => eprintln!("tested: {label}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
