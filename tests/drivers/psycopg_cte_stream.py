"""A recursive CTE's column read as integers through psycopg's
cursor.stream() (extended protocol, single-row mode) and a plain execute.
Usage: python3 psycopg_cte_stream.py PORT. Prints OK. Checked against
PostgreSQL 15."""
import sys

import psycopg

QUERY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c"

with psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres",
                     dbname="postgres", sslmode="disable") as conn:
    cur = conn.cursor()
    streamed = [r[0] for r in cur.stream(QUERY)]
    assert streamed == [1, 2, 3, 4, 5], streamed
    assert cur.description[0].type_code == 23, cur.description[0]
    executed = [r[0] for r in conn.execute(QUERY)]
    assert executed == [1, 2, 3, 4, 5], executed
    # Binary results too.
    binary = [r[0] for r in conn.cursor(binary=True).execute(QUERY)]
    assert binary == [1, 2, 3, 4, 5], binary
print("OK")
