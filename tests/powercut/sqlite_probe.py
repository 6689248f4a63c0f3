#!/usr/bin/python3
"""SQLite on the lazyfs mount, for the filesystem's self-test (tests/it/powercut.rs).

  sqlite_probe.py write DB SYNC   WAL mode; creates table t under synchronous=FULL, then switches
                                  to synchronous=SYNC (OFF, NORMAL, FULL) and commits one row per
                                  transaction, printing each id after its COMMIT returned, until
                                  killed. Prints "ready" first.
  sqlite_probe.py check DB        prints "rows=N max=M integrity=RESULT"

Only the Python standard library: the interpreter is Debian's /usr/bin/python3.
"""

import sqlite3
import sys


def write(db, sync):
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    c.execute(f"PRAGMA synchronous={sync}")
    print("ready", flush=True)
    i = c.execute("SELECT COALESCE(MAX(id), 0) FROM t").fetchone()[0]
    while True:
        i += 1
        c.execute("BEGIN")
        c.execute("INSERT INTO t (id, body) VALUES (?, ?)", (i, f"row {i} " + "x" * 200))
        c.execute("COMMIT")
        print(i, flush=True)


def check(db):
    c = sqlite3.connect(db)
    integrity = "; ".join(r[0] for r in c.execute("PRAGMA integrity_check"))
    rows, top = c.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM t").fetchone()
    print(f"rows={rows} max={top} integrity={integrity}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
