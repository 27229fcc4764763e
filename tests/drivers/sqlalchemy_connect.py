"""SQLAlchemy 2 connects (its dialect's first queries) and runs a
statement. Usage: python3 sqlalchemy_connect.py PORT DRIVER. Prints OK."""
import sys

from sqlalchemy import create_engine, text

port, driver = int(sys.argv[1]), sys.argv[2]
engine = create_engine(f"postgresql+{driver}://postgres@127.0.0.1:{port}/postgres")
with engine.connect() as conn:
    assert conn.execute(text("SELECT 1 + 1")).scalar() == 2
    assert engine.dialect.server_version_info >= (9, 0), engine.dialect.server_version_info
print("OK")
