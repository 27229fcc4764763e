"""asyncpg's binary COPY out and in: copy_from_table and copy_from_query
(COPY ... TO STDOUT (FORMAT binary)) of rows of every common type, then
copy_to_table (COPY ... FROM STDIN (FORMAT binary)) of those bytes into a
second table, read back equal to what was inserted. Usage: python3
asyncpg_copy_binary.py PORT. Prints the SHA-256 of the binary COPY of a
query (to compare servers), then OK. Checked against PostgreSQL 15."""
import asyncio
import datetime
import decimal
import hashlib
import io
import sys
import uuid

import asyncpg

COLUMNS = [
    ("i2", "smallint"), ("i4", "integer"), ("i8", "bigint"), ("f4", "real"),
    ("f8", "double precision"), ("num", "numeric"), ("t", "text"), ("vc", "varchar(20)"),
    ("b", "boolean"), ("by", "bytea"), ("d", "date"), ("tm", "time"),
    ("ts", "timestamp"), ("tz", "timestamptz"), ("iv", "interval"), ("u", "uuid"),
]
NAMES = ["k"] + [n for n, _ in COLUMNS]


def row(n):
    base = datetime.datetime(2020, 1, 1, 12, 30, 15, 250000)
    if n % 97 == 0:
        return (n,) + (None,) * len(COLUMNS)
    return (
        n, n % 32000 - 16000, n * 7 - 35000, n * 10**12, n / 8,
        n / 3, decimal.Decimal(n) / 100, f"text {n} ünï \\ \t quote'\"", f"v{n}",
        n % 2 == 0, bytes([n % 256, 0, 255]) * 3, base.date() + datetime.timedelta(days=n),
        (base + datetime.timedelta(seconds=n)).time(), base + datetime.timedelta(minutes=n),
        (base + datetime.timedelta(hours=n)).replace(tzinfo=datetime.timezone.utc),
        datetime.timedelta(days=n % 40, seconds=n % 86400, microseconds=n),
        uuid.UUID(int=n * 7919),
    )


async def main():
    conn = await asyncpg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres",
                                 database="postgres", ssl=False)
    cols = ", ".join(f"{n} {t}" for n, t in COLUMNS)
    for table in ["bin_src", "bin_dst"]:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(f"CREATE TABLE {table} (k integer PRIMARY KEY, {cols})")
    rows = [row(n) for n in range(2000)]
    result = await conn.copy_records_to_table("bin_src", records=rows, columns=NAMES)
    assert result == "COPY 2000", result

    # COPY TO binary of a table: the file format's header and trailer.
    out = io.BytesIO()
    result = await conn.copy_from_table("bin_src", output=out, columns=NAMES, format="binary")
    assert result == "COPY 2000", result
    data = out.getvalue()
    assert data.startswith(b"PGCOPY\n\xff\r\n\x00"), data[:19]
    assert data.endswith(b"\xff\xff"), data[-2:]

    # ... read back in by COPY FROM binary: the same values.
    result = await conn.copy_to_table("bin_dst", source=io.BytesIO(data), columns=NAMES,
                                      format="binary")
    assert result == "COPY 2000", result
    select = f"SELECT {', '.join(NAMES)} FROM bin_dst ORDER BY k"
    back = [tuple(r) for r in await conn.fetch(select)]
    assert len(back) == len(rows), len(back)
    for want, got in zip(rows, back):
        for name, w, g in zip(NAMES, want, got):
            assert w == g, (name, w, g)

    # COPY (query) TO binary: printed as a digest the test compares with
    # PostgreSQL's.
    out = io.BytesIO()
    result = await conn.copy_from_query(
        f"SELECT {', '.join(NAMES)} FROM bin_src WHERE k < 500 ORDER BY k", output=out,
        format="binary")
    assert result == "COPY 500", result
    print("sha256", hashlib.sha256(out.getvalue()).hexdigest())

    # An empty result: header and trailer only.
    out = io.BytesIO()
    result = await conn.copy_from_query("SELECT k FROM bin_src WHERE k < 0", output=out,
                                        format="binary")
    assert result == "COPY 0", result
    assert out.getvalue() == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff", out.getvalue()
    await conn.close()
    print("OK")


asyncio.run(main())
