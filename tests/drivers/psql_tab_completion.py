"""psql's tab completion (readline, through a pseudo-terminal) of a table
name and of a column name. Usage: python3 psql_tab_completion.py PORT
TABLE (a table with a column `price`). Prints OK."""
import os
import pty
import select
import sys
import time

port, table = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "dumb"
    os.execvp("psql", ["psql", "-X", "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                       "-d", "postgres"])


def read_until(want, timeout=10.0):
    out = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
            if want.encode() in out:
                break
    return out.decode(errors="replace")


read_until("=#")
os.write(fd, f"SELECT * FROM {table[:-2]}\t".encode())
got = read_until(f"FROM {table} ")
assert f"FROM {table} " in got, repr(got)
os.write(fd, b" WHERE pri\t")
got = read_until("WHERE price ")
assert "WHERE price " in got, repr(got)
os.write(fd, b"\x15\\q\n")
os.waitpid(pid, 0)
print("OK")
