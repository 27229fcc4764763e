"""SQLAlchemy 2 reflection over a server's extended protocol: creates a
small schema (SQL GlueSQL and PostgreSQL both take), then prints one
normalized line per fact inspect() reports, then a Table loaded with
autoload_with and a round trip through it. The Rust test compares the
lines between PostgreSQL 15 and the GlueSQL example.
Usage: python3 sqlalchemy_gluesql.py PORT DRIVER. Ends with OK."""
import sys

from sqlalchemy import MetaData, Table, create_engine, inspect, insert, select, text

port, driver = int(sys.argv[1]), sys.argv[2]
engine = create_engine(f"postgresql+{driver}://postgres@127.0.0.1:{port}/postgres")
with engine.begin() as conn:
    for stmt in [
        "DROP TABLE IF EXISTS sa_books",
        "DROP TABLE IF EXISTS sa_authors",
        "CREATE TABLE sa_authors (id int8 PRIMARY KEY, name text NOT NULL)",
        "CREATE TABLE sa_books (id int8 PRIMARY KEY, title text NOT NULL, author_id int8,"
        " price float8 DEFAULT 0, published date, note text UNIQUE,"
        " CONSTRAINT sa_books_author_id_fkey FOREIGN KEY (author_id) REFERENCES sa_authors (id))",
    ]:
        conn.execute(text(stmt))

out = []
insp = inspect(engine)
names = sorted(n for n in insp.get_table_names() if n.startswith("sa_"))
out.append(f"tables: {names}")
for t in names:
    for c in insp.get_columns(t):
        default = c["default"]
        out.append(f"{t}.{c['name']}: {c['type']!r} nullable={c['nullable']} default={default}")
    pk = insp.get_pk_constraint(t)
    out.append(f"{t} pk: {pk['name']} {pk['constrained_columns']}")
    for fk in insp.get_foreign_keys(t):
        out.append(f"{t} fk: {fk['name']} {fk['constrained_columns']} -> "
                   f"{fk['referred_table']} {fk['referred_columns']}")
    for u in insp.get_unique_constraints(t):
        out.append(f"{t} unique: {u['name']} {u['column_names']}")
    for ix in insp.get_indexes(t):
        out.append(f"{t} index: {ix['name']} {ix['column_names']} unique={ix['unique']}")

books = Table("sa_books", MetaData(), autoload_with=engine)
out.append(f"autoload sa_books: {[c.name for c in books.columns]}"
           f" pk={[c.name for c in books.primary_key]}")
with engine.begin() as conn:
    conn.execute(text("INSERT INTO sa_authors VALUES (1, 'Ann')"))
    conn.execute(insert(books).values(id=7, title="Wire", author_id=1, price=9.5))
    row = conn.execute(select(books.c.title, books.c.price).where(books.c.id == 7)).one()
    out.append(f"round trip: {tuple(row)}")

for line in out:
    print(line)
print("OK")
