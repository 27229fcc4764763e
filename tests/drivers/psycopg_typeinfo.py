"""psycopg 3's TypeInfo.fetch (how it learns types it does not know) and
its column descriptions. Usage: python3 psycopg_typeinfo.py PORT.
Prints OK. The expectations are PostgreSQL 15's."""
import sys

import psycopg
from psycopg.types import TypeInfo

with psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=postgres dbname=postgres",
                     autocommit=True) as conn:
    for name, oid, array_oid, regtype in [
        ("int4", 23, 1007, "integer"), ("text", 25, 1009, "text"),
        ("uuid", 2950, 2951, "uuid"), ("numeric", 1700, 1231, "numeric"),
        ("jsonb", 3802, 3807, "jsonb"), ("timestamptz", 1184, 1185, "timestamp with time zone"),
    ]:
        t = TypeInfo.fetch(conn, name)
        assert t is not None, name
        assert (t.name, t.oid, t.array_oid, t.regtype) == (name, oid, array_oid, regtype), t
    assert TypeInfo.fetch(conn, "no_such_type") is None
    conn.execute("DROP TABLE IF EXISTS ti_items")
    conn.execute("CREATE TABLE ti_items (id integer PRIMARY KEY, label varchar(30) NOT NULL)")
    cur = conn.execute("SELECT id, label FROM ti_items")
    d = cur.description
    assert [c.name for c in d] == ["id", "label"], d
    assert d[0].type_code == 23 and d[1].type_code == 1043, d
    assert d[1].internal_size == 30 or d[1].display_size == 30, (d[1].internal_size, d[1].display_size)
print("OK")
