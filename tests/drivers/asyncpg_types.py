"""asyncpg against a pgwire server (or PostgreSQL): every common type in
binary (asyncpg sends and reads everything in binary), arrays, a cursor
read in chunks, prepared statement reuse and its described types.
Usage: python3 asyncpg_types.py PORT. Prints OK."""
import asyncio
import datetime as dt
import sys
import uuid
from decimal import Decimal

import asyncpg

UTC = dt.timezone.utc
COLS = ["id", "b", "i2", "i4", "i8", "f4", "f8", "n", "t", "vc", "bc", "by", "d",
        "tm", "ts", "tstz", "iv", "u", "j", "jb", "o", "ai", "at", "an", "ad"]
ROW = (1, True, -32768, 2147483647, -(2**63), 1.5, -0.1, Decimal("12345.678"),
       "Zoë 🦀 'q' \"d\" \\", "varchar", "ab   ", b"\x00\x01\xff\\'",
       dt.date(2024, 2, 29), dt.time(13, 45, 7, 123456),
       dt.datetime(2024, 2, 29, 13, 45, 7, 123456),
       dt.datetime(2024, 2, 29, 13, 45, 7, 123456, tzinfo=UTC),
       dt.timedelta(days=4, seconds=3723, microseconds=1),
       uuid.UUID("01234567-89ab-cdef-0123-456789abcdef"),
       '{"a": [1, 2]}', '{"k": true}', 4000000000,
       [1, -2, 3], ["a", "b c", "", 'q"uote', "NULL"], [1, None, -9000000000],
       [dt.date(2000, 1, 1), None])


async def main(port):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres",
                                 database="test", ssl=False)
    await conn.execute("DROP TABLE IF EXISTS asyncpg_types")
    await conn.execute(
        "CREATE TABLE asyncpg_types (id int4 PRIMARY KEY, b bool, i2 int2, i4 int4, "
        "i8 int8, f4 float4, f8 float8, n numeric, t text, vc varchar(20), bc char(5), "
        "by bytea, d date, tm time, ts timestamp, tstz timestamptz, iv interval, "
        "u uuid, j json, jb jsonb, o oid, ai int4[], at text[], an int8[], ad date[])")
    marks = ", ".join(f"${i + 1}" for i in range(len(COLS)))
    insert = await conn.prepare(
        f"INSERT INTO asyncpg_types ({', '.join(COLS)}) VALUES ({marks})")
    # Type OIDs: int4, bool, int2, int4, int8, float4, float8, numeric, text,
    # varchar, bpchar, bytea, date, time, timestamp, timestamptz, interval,
    # uuid, json, jsonb, oid, int4[], text[], int8[], date[].
    want_types = [23, 16, 21, 23, 20, 700, 701, 1700, 25, 1043, 1042, 17, 1082, 1083,
                  1114, 1184, 1186, 2950, 114, 3802, 26, 1007, 1009, 1016, 1182]
    assert [t.oid for t in insert.get_parameters()] == want_types, insert.get_parameters()
    await insert.fetch(*ROW)
    sel = await conn.prepare(f"SELECT {', '.join(COLS)} FROM asyncpg_types WHERE id = $1")
    assert [a.type.oid for a in sel.get_attributes()] == want_types
    assert [a.name for a in sel.get_attributes()] == COLS
    row = await sel.fetchrow(1)
    for name, want, have in zip(COLS, ROW, row):
        if name == "jb":
            want = want.replace(" ", "")
            have = have.replace(" ", "")
        assert want == have, (name, want, have)
    # NULLs of every type.
    await conn.execute("INSERT INTO asyncpg_types (id) VALUES (2)")
    row = await sel.fetchrow(2)
    assert list(row)[1:] == [None] * (len(COLS) - 1), row
    # A cursor read in chunks, in a transaction (Execute with a row limit).
    await conn.execute("DROP TABLE IF EXISTS asyncpg_seq")
    await conn.execute("CREATE TABLE asyncpg_seq (n int8 PRIMARY KEY)")
    await conn.executemany("INSERT INTO asyncpg_seq VALUES ($1)", [(i,) for i in range(100)])
    async with conn.transaction():
        cur = await conn.cursor("SELECT n FROM asyncpg_seq WHERE n >= $1 ORDER BY n", 10)
        first = await cur.fetch(7)
        assert [r[0] for r in first] == list(range(10, 17))
        assert (await cur.fetchrow())[0] == 17
        # (Cursor.forward() sends MOVE, which the SQLite example does not
        # support: cursors are portals read with Execute only.)
        assert [r[0] for r in await cur.fetch(3)] == [18, 19, 20]
        seen = [r["n"] async for r in conn.cursor(
            "SELECT n FROM asyncpg_seq ORDER BY n", prefetch=9)]
        assert seen == list(range(100))
    # `= ANY($1)` with a list: an int8[] parameter.
    rows = await conn.fetch("SELECT n FROM asyncpg_seq WHERE n = ANY($1) ORDER BY n", [42, 3, 7, 500])
    assert [r["n"] for r in rows] == [3, 7, 42], rows
    rows = await conn.fetch("SELECT n FROM asyncpg_seq WHERE n = ANY($1::int8[]) AND n < $2", [1, 2], 2)
    assert [r["n"] for r in rows] == [1], rows
    # Statement reuse with many argument sets.
    get = await conn.prepare("SELECT n * 2 FROM asyncpg_seq WHERE n = $1")
    for i in (5, 50, 99):
        assert await get.fetchval(i) == i * 2
    # Errors at Bind/Execute with their SQLSTATE.
    try:
        await conn.execute("INSERT INTO asyncpg_seq VALUES ($1)", 5)
        raise AssertionError("no error")
    except asyncpg.UniqueViolationError as e:
        assert e.sqlstate == "23505"
    try:
        await conn.fetch("SELECT * FROM nope WHERE x = $1", 1)
        raise AssertionError("no error")
    except asyncpg.UndefinedTableError:
        pass
    assert await conn.fetchval("SELECT count(*) FROM asyncpg_seq") == 100
    await conn.close()
    print("OK")


asyncio.run(main(int(sys.argv[1])))
