"""SQLAlchemy 2 against a pgwire server (or PostgreSQL): connect, reflect
tables, views, columns, keys and indexes, autoload a Table, an ORM round
trip. Usage: python3 sqlalchemy_reflection.py PORT DRIVER (psycopg or
psycopg2). Prints OK. The expectations are what PostgreSQL 15 answers."""
import sys

from sqlalchemy import (Integer, MetaData, String, Table, create_engine, inspect, select,
                        text)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

port, driver = int(sys.argv[1]), sys.argv[2]
engine = create_engine(f"postgresql+{driver}://postgres@127.0.0.1:{port}/postgres")

with engine.begin() as conn:
    for stmt in [
        "DROP VIEW IF EXISTS sa_cheap",
        "DROP TABLE IF EXISTS sa_books",
        "DROP TABLE IF EXISTS sa_authors",
        "CREATE TABLE sa_authors (id serial PRIMARY KEY, name varchar(100) NOT NULL UNIQUE,"
        " born date)",
        "CREATE TABLE sa_books (id integer PRIMARY KEY,"
        " author_id integer NOT NULL REFERENCES sa_authors(id) ON DELETE CASCADE,"
        " title text NOT NULL, price numeric(8,2) DEFAULT 0)",
        "CREATE INDEX sa_books_title_idx ON sa_books (title)",
        "CREATE VIEW sa_cheap AS SELECT id, title FROM sa_books WHERE price < 10",
    ]:
        conn.execute(text(stmt))

insp = inspect(engine)
tables = insp.get_table_names()
assert "sa_authors" in tables and "sa_books" in tables, tables
assert "sa_cheap" not in tables, tables
assert "sa_cheap" in insp.get_view_names(), insp.get_view_names()

cols = {c["name"]: c for c in insp.get_columns("sa_books")}
assert list(cols) == ["id", "author_id", "title", "price"], list(cols)
assert isinstance(cols["id"]["type"], Integer), cols["id"]
assert cols["id"]["nullable"] is False
assert cols["title"]["nullable"] is False
assert str(cols["price"]["type"]) == "NUMERIC(8, 2)", cols["price"]["type"]
assert cols["price"]["default"] == "0", cols["price"]["default"]
acols = {c["name"]: c for c in insp.get_columns("sa_authors")}
assert str(acols["name"]["type"]) == "VARCHAR(100)", acols["name"]["type"]
assert acols["id"]["autoincrement"] is True, acols["id"]
assert "nextval" in (acols["id"]["default"] or ""), acols["id"]

pk = insp.get_pk_constraint("sa_books")
assert pk["constrained_columns"] == ["id"], pk
assert pk["name"] == "sa_books_pkey", pk

fks = insp.get_foreign_keys("sa_books")
assert len(fks) == 1, fks
fk = fks[0]
assert fk["constrained_columns"] == ["author_id"], fk
assert fk["referred_table"] == "sa_authors", fk
assert fk["referred_columns"] == ["id"], fk
assert fk["name"] == "sa_books_author_id_fkey", fk
assert fk["options"].get("ondelete") == "CASCADE", fk

idx = {i["name"]: i for i in insp.get_indexes("sa_books")}
assert "sa_books_title_idx" in idx, idx
assert idx["sa_books_title_idx"]["column_names"] == ["title"], idx
assert idx["sa_books_title_idx"]["unique"] is False, idx

uniq = insp.get_unique_constraints("sa_authors")
assert [u["column_names"] for u in uniq] == [["name"]], uniq
assert uniq[0]["name"] == "sa_authors_name_key", uniq

meta = MetaData()
books = Table("sa_books", meta, autoload_with=engine)
assert [c.name for c in books.columns] == ["id", "author_id", "title", "price"]
assert [c.name for c in books.primary_key.columns] == ["id"]
assert len(books.foreign_keys) == 1


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "sa_authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


with Session(engine) as s:
    s.add_all([Author(name="Ada"), Author(name="Grace")])
    s.commit()
    got = s.scalars(select(Author).order_by(Author.name)).all()
    assert [a.name for a in got] == ["Ada", "Grace"], got
    assert all(isinstance(a.id, int) for a in got)
    ada = got[0]
    ada.name = "Ada L."
    s.commit()
    assert s.scalar(select(Author.name).where(Author.id == ada.id)) == "Ada L."
    s.delete(ada)
    s.commit()
    assert s.scalar(select(Author.name)) == "Grace"

print("OK")
