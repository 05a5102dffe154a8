"""Loading the document records: what opening a store costs per document.

A store keeps every document's record in memory (``stores.base.Documents``),
read from its documents table when it opens. This times that read for a
table of 100,000 documents (a temporary SQLite file shaped like the local
store's): the query and the records made from its rows, median of 9.

    python benchmarks/document_records.py [--documents 100000] [--repeat 9] [--package /other/checkout]

``--package``: time another checkout's ``Documents`` (before/after a change, in one run).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--package", action="append", default=[], help="a checkout to time (repeat; default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        con = sqlite3.connect(os.path.join(folder, "store.sqlite"))
        con.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, source TEXT, title TEXT, sha256 TEXT, size INT, "
                    "mtime_ns INT, first_row INT, rows INT, date TEXT)")
        con.executemany("INSERT INTO documents (source, title, sha256, size, mtime_ns, first_row, rows, date) VALUES (?,?,?,?,?,?,?,?)",
                        ((f"map-{i % 50}/document-{i}.pdf", f"Titel van document {i}", f"{i:064x}", 10_000 + i, 1_700_000_000_000_000_000 + i,
                          5 * i, 5, "2024-03-12") for i in range(args.documents)))
        con.commit()
        for package in args.package or [str(ROOT)]:
            print(f"{package}: {time_package(package, con, args.repeat) * 1000:.0f} ms for {args.documents:,} documents (median of {args.repeat})")


def time_package(package: str, con: sqlite3.Connection, repeat: int) -> float:
    """Median seconds of ``Documents(cursor)`` with the ``vraagbaak`` of ``package`` (in a fresh interpreter state per package)."""
    for name in [m for m in sys.modules if m == "vraagbaak" or m.startswith("vraagbaak.")]:
        del sys.modules[name]
    sys.path.insert(0, package)
    try:
        from vraagbaak.stores.base import DocumentRecord, Documents
    finally:
        sys.path.pop(0)
    fields = len(getattr(DocumentRecord, "_fields", None) or DocumentRecord.__dataclass_fields__)
    columns = ", ".join(["source", "title", "sha256", "size", "mtime_ns", "first_row", "rows", "date"][:fields])
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        records = Documents(con.execute(f"SELECT {columns} FROM documents"))
        times.append(time.perf_counter() - started)
        assert len(records) and records[next(iter(records))].rows == 5
    return statistics.median(times)


if __name__ == "__main__":
    main()
