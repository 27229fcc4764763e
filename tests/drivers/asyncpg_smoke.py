"""asyncpg against a pgwire server (or PostgreSQL): the usual calls of an
asyncio application. Usage: python3 asyncpg_smoke.py PORT. Prints OK."""
import asyncio
import sys

import asyncpg


async def main(port):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres",
                                 database="test", ssl=False)
    await conn.execute("DROP TABLE IF EXISTS asyncpg_smoke")
    await conn.execute("CREATE TABLE asyncpg_smoke (id INTEGER PRIMARY KEY, name TEXT, score DOUBLE PRECISION, ok BOOLEAN)")
    await conn.executemany(
        "INSERT INTO asyncpg_smoke (id, name, score, ok) VALUES ($1, $2, $3, $4)",
        [(1, "ada", 1.5, True), (2, "grace", None, False), (3, "ünïcödé", -2.25, None)],
    )
    rows = await conn.fetch("SELECT id, name, score, ok FROM asyncpg_smoke ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "ada", 1.5, True), (2, "grace", None, False),
                                        (3, "ünïcödé", -2.25, None)], rows
    # A prepared statement, reused.
    stmt = await conn.prepare("SELECT name FROM asyncpg_smoke WHERE id = $1")
    assert await stmt.fetchval(2) == "grace"
    assert await stmt.fetchval(3) == "ünïcödé"
    # A transaction rolled back leaves nothing behind.
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO asyncpg_smoke (id, name) VALUES (4, 'tmp')")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await conn.fetchval("SELECT count(*) FROM asyncpg_smoke") == 3
    # A constraint violation has its SQLSTATE, and the connection goes on.
    try:
        await conn.execute("INSERT INTO asyncpg_smoke (id, name) VALUES (1, 'dup')")
        raise AssertionError("no error")
    except asyncpg.UniqueViolationError as e:
        assert e.sqlstate == "23505"
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
    print("OK")


asyncio.run(main(int(sys.argv[1])))
