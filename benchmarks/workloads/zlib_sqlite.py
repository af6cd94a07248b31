"""Workload: C-extension-heavy stdlib work: zlib compression and an in-memory sqlite3 database.

Usage: python zlib_sqlite.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sqlite3
import sys
import zlib


def compress_round(index: int) -> int:
    """Compresses and decompresses a few blocks, through one-shot calls and stream objects."""
    text = (f"record {index} " * 2000).encode()
    packed = zlib.compress(text, 6)
    stream = zlib.compressobj(9)
    chunks = [stream.compress(text[i : i + 4096]) for i in range(0, len(text), 4096)]
    chunks.append(stream.flush())
    return len(zlib.decompress(packed)) + len(b"".join(chunks))


def database_round(db: sqlite3.Connection, index: int) -> int:
    """Inserts a batch, queries it with an index and a sort, then deletes most of it."""
    rows = [(index * 1000 + i, f"name-{i % 97}", "x" * (i % 200)) for i in range(1000)]
    db.executemany("insert into items values (?, ?, ?)", rows)
    found = db.execute(
        "select name, count(*), max(length(body)) from items where id > ? group by name order by 2",
        (index * 1000,),
    ).fetchall()
    db.execute("delete from items where id % 10 != 0")
    return len(found)


def main(scale: float) -> None:
    rounds = max(1, int(40 * scale))
    db = sqlite3.connect(":memory:")
    db.execute("create table items (id integer primary key, name text, body text)")
    db.execute("create index by_name on items (name)")
    total = 0
    for index in range(rounds):
        total += compress_round(index) + database_round(db, index)
    db.close()
    print(f"zlib_sqlite: {total}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
