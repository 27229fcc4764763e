"""asyncpg's copy_records_to_table (COPY ... FROM STDIN (FORMAT binary))
of 10,000 rows of every common type, read back equal; and a recursive
CTE read through a cursor as integers. Usage: python3
asyncpg_copy_records.py PORT. Prints OK. Checked against PostgreSQL 15."""
import asyncio
import datetime
import decimal
import json
import sys
import uuid

import asyncpg

COLUMNS = [
    ("i2", "smallint"), ("i4", "integer"), ("i8", "bigint"), ("f4", "real"),
    ("f8", "double precision"), ("num", "numeric"), ("t", "text"), ("vc", "varchar(20)"),
    ("b", "boolean"), ("by", "bytea"), ("d", "date"), ("tm", "time"),
    ("ts", "timestamp"), ("tz", "timestamptz"), ("iv", "interval"), ("u", "uuid"),
    ("j", "jsonb"),
]


def row(n):
    base = datetime.datetime(2020, 1, 1, 12, 30, 15, 250000)
    if n % 97 == 0:
        return (n,) + (None,) * (len(COLUMNS) - 1)
    return (
        n % 32000 - 16000, n * 7 - 35000, n * 10**12, n / 8,
        n / 3, decimal.Decimal(n) / 100, f"text {n} ünï \\ \t quote'\"", f"v{n}",
        n % 2 == 0, bytes([n % 256, 0, 255]) * 3, base.date() + datetime.timedelta(days=n),
        (base + datetime.timedelta(seconds=n)).time(), base + datetime.timedelta(minutes=n),
        (base + datetime.timedelta(hours=n)).replace(tzinfo=datetime.timezone.utc),
        datetime.timedelta(days=n % 40, seconds=n % 86400, microseconds=n),
        uuid.UUID(int=n * 7919), json.dumps({"n": n, "s": [1, "x"]}),
    )


async def main():
    conn = await asyncpg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres",
                                 database="postgres", ssl=False)
    await conn.execute("DROP TABLE IF EXISTS copy_records")
    # i2 first is not a key: the first column is i4 so rows can be ordered.
    cols = ", ".join(f"{n} {t}" for n, t in COLUMNS)
    await conn.execute(f"CREATE TABLE copy_records (k integer PRIMARY KEY, {cols})")
    rows = [(n,) + row(n) for n in range(10000)]
    result = await conn.copy_records_to_table(
        "copy_records", records=rows, columns=["k"] + [n for n, _ in COLUMNS])
    assert result == "COPY 10000", result
    back = await conn.fetch(f"SELECT k, {', '.join(n for n, _ in COLUMNS)} FROM copy_records ORDER BY k")
    assert len(back) == 10000, len(back)
    for want, got in zip(rows, back):
        got = tuple(got)
        for (name, _), w, g in zip([("k", "")] + COLUMNS, want, got):
            if name == "j" and w is not None:
                assert json.loads(g) == json.loads(w), (name, w, g)
            else:
                assert w == g, (name, w, g)

    # A recursive CTE's column is an integer, in a cursor (extended protocol).
    async with conn.transaction():
        xs = [r[0] async for r in conn.cursor(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c")]
    assert xs == [1, 2, 3, 4, 5], xs
    await conn.close()
    print("OK")


asyncio.run(main())
