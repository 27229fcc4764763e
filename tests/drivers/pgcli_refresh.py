"""pgcli's completion refresh against a server: creates a small schema,
then runs every metadata method pgcli's completion refresher calls on
pgcli.pgexecute.PGExecute, and after them the refresher itself (every
registered refresher feeding a real PGCompleter). Prints one normalized
line per fact about the user's objects (the Rust test compares these lines
between PostgreSQL 15 and the SQLite example), then OK.
Usage: python3 pgcli_refresh.py PORT."""
import sys

import psycopg
from pgcli.completion_refresher import CompletionRefresher
from pgcli.pgcompleter import PGCompleter
from pgcli.pgexecute import PGExecute

port = int(sys.argv[1])
USER_TABLES = {"pc_authors", "pc_books", "pc_cheap"}

with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                     autocommit=True) as conn:
    for stmt in [
        "DROP VIEW IF EXISTS pc_cheap",
        "DROP TABLE IF EXISTS pc_books",
        "DROP TABLE IF EXISTS pc_authors",
        "CREATE TABLE pc_authors (id serial PRIMARY KEY, name varchar(100) NOT NULL, born date)",
        "CREATE TABLE pc_books (id integer PRIMARY KEY,"
        " author_id integer NOT NULL REFERENCES pc_authors(id),"
        " title text NOT NULL, price numeric(8,2) DEFAULT 0)",
        "CREATE VIEW pc_cheap AS SELECT id, title FROM pc_books WHERE price < 10",
    ]:
        conn.execute(stmt)

ex = PGExecute(database="postgres", user="postgres", host="127.0.0.1", port=port)
out = []

out.append(f"search_path: {ex.search_path()}")
schemata = list(ex.schemata())
assert "public" in schemata, schemata
out.append("schemata has public")

for kind, rows in [("table", ex.tables()), ("view", ex.views())]:
    for schema, name in sorted(rows):
        if name in USER_TABLES:
            out.append(f"{kind}: {schema}.{name}")

for kind, rows in [("table_column", ex.table_columns()), ("view_column", ex.view_columns())]:
    for schema, table, column, typ, has_default, default in rows:
        if table in USER_TABLES:
            # Defaults are deparsed text: compare whether there is one, and
            # for serial columns that it is a nextval.
            d = "nextval" if default and "nextval" in default else bool(has_default)
            out.append(f"{kind}: {schema}.{table}.{column} {typ} default={d}")

for fk in ex.foreignkeys():
    if fk.childtable in USER_TABLES:
        out.append(f"fk: {fk.childschema}.{fk.childtable}.{fk.childcolumn}"
                   f" -> {fk.parentschema}.{fk.parenttable}.{fk.parentcolumn}")

databases = list(ex.databases())
assert "postgres" in databases, databases
out.append("databases has postgres")

# Functions and types differ between servers (the example has no user
# functions, and PostgreSQL lists its own): run them, check the shape.
functions = list(ex.functions())
assert all(f.func_name for f in functions), functions[:3]
out.append("functions ran")
datatypes = list(ex.datatypes())
out.append("datatypes ran")
# casing() only runs when the user turns on generate_casing_file (off by
# default); it splits function bodies with regexp_split_to_table and names
# columns implicitly (count, row_number).
out.append(f"casing: {sorted(ex.casing())}")
# The function casing() needs, on text where the result shows: pieces,
# empty pieces, empty matches, numbers, flags, in the select list and in FROM.
with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                     autocommit=True) as conn:
    for sql in [
        r"SELECT regexp_split_to_table('pgcli casing, Words_2 x1 ', '\W+') AS w",
        r"SELECT regexp_split_to_table('a1b22c3', '\d+')",
        r"SELECT w, n FROM regexp_split_to_table('one two  three', ' ') WITH ORDINALITY AS t(w, n)",
        r"SELECT regexp_split_to_table('abc', '')",
        r"SELECT regexp_split_to_array('aXbxc', 'x', 'i')",
        r"SELECT regexp_split_to_array('', ',')",
    ]:
        out.append(f"{sql} -> {conn.execute(sql).fetchall()}")

# The refresh proper: every refresher pgcli registers, in its order, into a
# completer, which must then offer the user's tables and columns.
completer = PGCompleter()
for name, refresh in CompletionRefresher.refreshers.items():
    if name == "keywords":
        # Needs pgcli's settings object; it only reads static keyword lists.
        continue
    refresh(completer, ex)
    out.append(f"refresher {name} ran")
tables = completer.dbmetadata["tables"]["public"]
for t in sorted(USER_TABLES - {"pc_cheap"}):
    assert t in tables, (t, list(tables))
    out.append(f"completer table: {t} columns={sorted(tables[t])}")
assert "pc_cheap" in completer.dbmetadata["views"]["public"], completer.dbmetadata["views"]
out.append("completer view: pc_cheap")

for line in out:
    print(line)
print("OK")
