"""psycopg2 against a pgwire server (or PostgreSQL). Usage: python3
psycopg2_smoke.py PORT. Prints OK."""
import sys

import psycopg2
import psycopg2.errors

conn = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres",
                        dbname="test", sslmode="disable")
cur = conn.cursor()  # psycopg2 opens a transaction (BEGIN) before the first statement
cur.execute("DROP TABLE IF EXISTS psycopg2_smoke")
cur.execute("CREATE TABLE psycopg2_smoke (id INTEGER PRIMARY KEY, name TEXT, n BIGINT)")
cur.executemany("INSERT INTO psycopg2_smoke (id, name, n) VALUES (%s, %s, %s)",
                [(1, "one", 10**12), (2, None, -7), (3, "it's quoted", 0)])
conn.commit()
cur.execute("SELECT id, name, n FROM psycopg2_smoke ORDER BY id")
assert cur.fetchall() == [(1, "one", 10**12), (2, None, -7), (3, "it's quoted", 0)]
conn.rollback()
cur.execute("INSERT INTO psycopg2_smoke (id, name) VALUES (9, 'gone')")
conn.rollback()
cur.execute("SELECT count(*) FROM psycopg2_smoke")
assert cur.fetchone()[0] == 3
try:
    cur.execute("SELECT * FROM no_such_table")
    raise AssertionError("no error")
except psycopg2.errors.UndefinedTable as e:
    assert e.pgcode == "42P01"
conn.rollback()
cur.execute("SELECT name FROM psycopg2_smoke WHERE id = %s", (3,))
assert cur.fetchone()[0] == "it's quoted"
conn.close()
print("OK")
