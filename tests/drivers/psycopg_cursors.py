"""SQL cursors through psycopg (the extended protocol): DECLARE, FETCH in
every direction, MOVE, CLOSE and their errors on a plain cursor, then a
named (server-side) cursor. Prints one line per result; the Rust test
compares them between PostgreSQL 15 and the SQLite example.
Usage: python3 psycopg_cursors.py PORT. Ends with OK."""
import sys

import psycopg

port = int(sys.argv[1])
out = []
with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres") as conn:
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS pcur")
        conn.execute("CREATE TABLE pcur (id integer PRIMARY KEY, name text, price numeric(6,2))")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO pcur VALUES (%s, %s, %s)",
                            [(i, f"n{i}", f"{i}.25") for i in range(1, 26)])
    cur = conn.cursor()
    for sql in [
        "DECLARE pc SCROLL CURSOR FOR SELECT id, name, price FROM pcur ORDER BY id",
        "FETCH 3 FROM pc",
        "FETCH NEXT FROM pc",
        "MOVE FORWARD 5 IN pc",
        "FETCH PRIOR FROM pc",
        "FETCH BACKWARD 3 FROM pc",
        "FETCH ABSOLUTE 20 FROM pc",
        "FETCH RELATIVE -2 FROM pc",
        "FETCH LAST FROM pc",
        "FETCH FORWARD 10 FROM pc",
        "MOVE ABSOLUTE 0 FROM pc",
        "FETCH FIRST FROM pc",
        "FETCH FORWARD 0 FROM pc",
        "MOVE LAST IN pc",
        "FETCH BACKWARD ALL FROM pc",
        "FETCH ALL FROM pc",
        "FETCH 1 FROM nosuch",
    ]:
        try:
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else None
            out.append(f"{sql}: {cur.statusmessage} {rows}")
        except psycopg.Error as e:
            out.append(f"{sql}: {e.sqlstate} {str(e).splitlines()[0]}")
            conn.rollback()
    conn.rollback()
    for sql in ["CLOSE pc",
                "DECLARE held CURSOR WITH HOLD FOR SELECT id, price FROM pcur WHERE id > 20 ORDER BY id"]:
        try:
            with conn.transaction():
                cur.execute(sql)
            out.append(f"{sql}: {cur.statusmessage}")
        except psycopg.Error as e:
            out.append(f"{sql}: {e.sqlstate} {str(e).splitlines()[0]}")
    # The held cursor outlives its transaction.
    for sql in ["FETCH 2 FROM held", "FETCH ALL FROM held", "CLOSE held"]:
        with conn.transaction():
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else None
            out.append(f"{sql}: {cur.statusmessage} {rows}")
    # A DECLARE with bound parameters ($n in the extended protocol).
    for sql, params in [
        ("DECLARE pp CURSOR FOR SELECT id, name FROM pcur WHERE id > %s AND name LIKE %s ORDER BY id",
         (20, "n2%")),
        ("DECLARE ph CURSOR WITH HOLD FOR SELECT id FROM pcur WHERE id <= %s ORDER BY id DESC", (3,)),
    ]:
        with conn.transaction():
            cur.execute(sql, params)
            out.append(f"{sql} {params}: {cur.statusmessage}")
            name = sql.split()[1]
            cur.execute(f"FETCH ALL FROM {name}")
            out.append(f"FETCH ALL FROM {name}: {cur.statusmessage} {cur.fetchall()}")
    cur.execute("CLOSE ph")
    conn.commit()
    # Named cursors: psycopg DECLAREs, then describes the portal named as
    # the cursor, then FETCHes.
    try:
        with conn.cursor(name="named_c") as nc:
            nc.execute("SELECT id, name FROM pcur WHERE id <= 12 ORDER BY id")
            first = nc.fetchmany(5)
            nc.scroll(2)
            rest = nc.fetchall()
            out.append(f"named cursor: {first} {rest}")
    except psycopg.Error as e:
        out.append(f"named cursor: {e.sqlstate} {str(e).splitlines()[0]}")
    conn.rollback()

for line in out:
    print(line)
print("OK")
