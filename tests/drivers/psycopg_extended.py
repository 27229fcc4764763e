"""psycopg 3 against a pgwire server (or PostgreSQL) over the extended
protocol: parameterised queries, binary cursors with every common type,
executemany, a pipeline with an error in the middle, server-side prepared
statements reused, and a transaction block rolled back.
Usage: python3 psycopg_extended.py PORT. Prints OK."""
import datetime as dt
import sys
import uuid
from decimal import Decimal

import psycopg
import psycopg.errors
from psycopg.types.json import Json, Jsonb
from psycopg.types.numeric import Float4, Int2, Int4, Int8, Oid

PORT = int(sys.argv[1])


def connect(**kw):
    return psycopg.connect(host="127.0.0.1", port=PORT, user="postgres",
                           dbname="test", sslmode="disable", **kw)


TABLE = """CREATE TABLE pg3_types (id int4 PRIMARY KEY, b bool, i2 int2, i4 int4,
    i8 int8, f4 float4, f8 float8, n numeric, t text, vc varchar(20), bc char(5),
    nm name, by bytea, d date, tm time, ts timestamp, tstz timestamptz,
    iv interval, u uuid, j json, jb jsonb, o oid, ai int4[], at text[],
    an int8[])"""

UTC = dt.timezone.utc
ROWS = [
    (1, True, -32768, 2147483647, -(2**63), 1.5, -0.1, Decimal("12345.678"),
     "Zoë 🦀 'q' \"d\" \\", "varchar", "ab   ", "a_name", b"\x00\x01\xff\\'",
     dt.date(2024, 2, 29), dt.time(13, 45, 7, 123456),
     dt.datetime(2024, 2, 29, 13, 45, 7, 123456),
     dt.datetime(2024, 2, 29, 13, 45, 7, 123456, tzinfo=UTC),
     dt.timedelta(days=4, seconds=3723, microseconds=1),
     uuid.UUID("01234567-89ab-cdef-0123-456789abcdef"),
     {"a": [1, 2, {"b": None}], "s": 'x"y'}, {"k": True, "n": 1.5}, 4000000000,
     [1, -2, 3], ["a", "b c", "", 'q"uote', "NULL"], [1, None, -9000000000]),
    (2, False, 0, 0, 0, 0.0, float("inf"), Decimal("-0.0001"), "", "", "x    ", "",
     b"", dt.date(1999, 12, 31), dt.time(0, 0), dt.datetime(1970, 1, 1),
     dt.datetime(2000, 1, 1, tzinfo=UTC), dt.timedelta(microseconds=-1),
     uuid.UUID(int=0), [], "string", 0, [], [], [None]),
]


def wrap(row):
    """The row's values with the Python wrappers that choose the exact
    PostgreSQL type psycopg sends."""
    (id_, b, i2, i4, i8, f4, f8, n, t, vc, bc, nm, by, d, tm, ts, tstz, iv, u, j,
     jb, o, ai, at, an) = row
    return (Int4(id_), b, Int2(i2), Int4(i4), Int8(i8), Float4(f4), f8, n, t, vc,
            bc, nm, by, d, tm, ts, tstz, iv, u, Json(j), Jsonb(jb), Oid(o),
            [Int4(x) for x in ai], at, [None if x is None else Int8(x) for x in an])


def types_in_binary(conn):
    conn.execute("DROP TABLE IF EXISTS pg3_types")
    conn.execute(TABLE)
    cols = "id, b, i2, i4, i8, f4, f8, n, t, vc, bc, nm, by, d, tm, ts, tstz, iv, u, j, jb, o, ai, at, an"
    with conn.cursor(binary=True) as cur:
        # %b: every parameter in binary too.
        marks = ", ".join(["%b"] * 25)
        for row in ROWS:
            cur.execute(f"INSERT INTO pg3_types ({cols}) VALUES ({marks})", wrap(row))
            assert cur.rowcount == 1, cur.rowcount
        cur.execute(f"SELECT {cols} FROM pg3_types ORDER BY id")
        assert cur.pgresult.fformat(0) == 1, "binary results"
        got = cur.fetchall()
        for want, have in zip(ROWS, got):
            for i, (w, h) in enumerate(zip(want, have)):
                assert w == h, (cols.split(", ")[i], w, h)
        assert len(got) == 2
        # Parameters in a WHERE clause, binary.
        cur.execute("SELECT id FROM pg3_types WHERE d = %b AND u = %b AND by = %b AND tstz = %b",
                    (ROWS[0][13], ROWS[0][18], ROWS[0][12], ROWS[0][16]))
        assert cur.fetchall() == [(1,)]
    # The same values through a text cursor.
    with conn.cursor() as cur:
        cur.execute("SELECT n, iv, ai, at, bc FROM pg3_types WHERE id = %s", (1,))
        assert cur.fetchone() == (Decimal("12345.678"), ROWS[0][17], [1, -2, 3],
                                  ["a", "b c", "", 'q"uote', "NULL"], "ab   ")
        # NULL parameters and NULL results.
        cur.execute("INSERT INTO pg3_types (id, t, n, d, ai) VALUES (%s, %s, %s, %s, %s)",
                    (3, None, None, None, None))
        cur.execute("SELECT t, n, d, ai FROM pg3_types WHERE id = %s", (3,))
        assert cur.fetchone() == (None, None, None, None)


def executemany_and_prepared(conn):
    conn.execute("DROP TABLE IF EXISTS pg3_kv")
    conn.execute("CREATE TABLE pg3_kv (k int8 PRIMARY KEY, v text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO pg3_kv (k, v) VALUES (%s, %s)",
                        [(i, f"v{i}") for i in range(50)])
        cur.execute("SELECT count(*), min(k), max(k) FROM pg3_kv")
        assert cur.fetchone() == (50, 0, 49)
        # prepare_threshold=0: prepared on the server at first use, then
        # reused by name.
        for k in (3, 7, 3, 49):
            cur.execute("SELECT v FROM pg3_kv WHERE k = %s", (k,))
            assert cur.fetchone() == (f"v{k}",)
        # executemany with returning.
        cur.executemany("UPDATE pg3_kv SET v = %s WHERE k = %s RETURNING k",
                        [("x", 1), ("y", 2)], returning=True)
        ks = []
        while True:
            ks.extend(r[0] for r in cur.fetchall())
            if not cur.nextset():
                break
        assert ks == [1, 2], ks


def pipeline_with_an_error(conn):
    """Autocommit connection: an error in a pipeline aborts the commands
    queued after it up to the next sync point; what ran before it in the
    same implicit transaction is rolled back too."""
    conn.execute("DROP TABLE IF EXISTS pg3_pipe")
    conn.execute("CREATE TABLE pg3_pipe (id int4 PRIMARY KEY)")
    conn.execute("INSERT INTO pg3_pipe VALUES (1)")
    raised = None
    try:
        with conn.pipeline():
            conn.execute("INSERT INTO pg3_pipe VALUES (%s)", (10,))
            conn.execute("INSERT INTO pg3_pipe VALUES (%s)", (1,))  # duplicate
            conn.execute("INSERT INTO pg3_pipe VALUES (%s)", (11,))
    except psycopg.errors.UniqueViolation as e:
        raised = e
    assert raised is not None and raised.sqlstate == "23505", raised
    ids = [r[0] for r in conn.execute("SELECT id FROM pg3_pipe ORDER BY id")]
    assert ids == [1], ids
    # A pipeline with syncs between statements: the error's batch only.
    try:
        with conn.pipeline() as p:
            conn.execute("INSERT INTO pg3_pipe VALUES (%s)", (20,))
            p.sync()
            conn.execute("INSERT INTO pg3_pipe VALUES (%s)", (1,))
            p.sync()
            conn.execute("INSERT INTO pg3_pipe VALUES (%s)", (21,))
    except psycopg.errors.UniqueViolation:
        pass
    else:
        raise AssertionError("no error")
    ids = [r[0] for r in conn.execute("SELECT id FROM pg3_pipe ORDER BY id")]
    assert ids == [1, 20], ids
    # Usable afterwards, in and out of a pipeline.
    with conn.pipeline():
        c1 = conn.execute("SELECT %s::int4 + 1", (41,))
        c2 = conn.execute("SELECT count(*) FROM pg3_pipe")
    assert c1.fetchone() == (42,) and c2.fetchone() == (2,)


def transaction_block(conn):
    conn.execute("DROP TABLE IF EXISTS pg3_tx")
    conn.execute("CREATE TABLE pg3_tx (id int4 PRIMARY KEY, v text)")

    class Rollback(Exception):
        pass

    try:
        with conn.transaction():
            conn.execute("INSERT INTO pg3_tx VALUES (%s, %s)", (1, "gone"))
            assert conn.execute("SELECT count(*) FROM pg3_tx").fetchone() == (1,)
            raise Rollback()
    except Rollback:
        pass
    assert conn.execute("SELECT count(*) FROM pg3_tx").fetchone() == (0,)
    with conn.transaction():
        conn.execute("INSERT INTO pg3_tx VALUES (%s, %s)", (2, "kept"))
        # A savepoint rolled back inside the block.
        try:
            with conn.transaction():
                conn.execute("INSERT INTO pg3_tx VALUES (%s, %s)", (3, "inner"))
                conn.execute("INSERT INTO pg3_tx VALUES (%s, %s)", (2, "dup"))
        except psycopg.errors.UniqueViolation:
            pass
    assert conn.execute("SELECT id, v FROM pg3_tx").fetchall() == [(2, "kept")]
    # An error names its SQLSTATE; the connection goes on.
    try:
        conn.execute("SELECT * FROM no_such_table WHERE id = %s", (1,))
        raise AssertionError("no error")
    except psycopg.errors.UndefinedTable as e:
        assert e.sqlstate == "42P01"
    assert conn.execute("SELECT %s::text", ("ok",)).fetchone() == ("ok",)


with connect(autocommit=True, prepare_threshold=0) as conn:
    types_in_binary(conn)
    executemany_and_prepared(conn)
    pipeline_with_an_error(conn)
    transaction_block(conn)
# The default (not autocommit) connection: a transaction per block.
with connect() as conn:
    conn.execute("INSERT INTO pg3_tx VALUES (%s, %s)", (9, "uncommitted"))
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM pg3_tx").fetchone() == (1,)
    conn.rollback()
print("OK")
