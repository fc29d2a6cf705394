"""How long a full run takes to read each stored entity, through the reader it uses
(``app.db.snapshot.everything``), without building the columns afterwards.

    python -m bench.stored_read --database-url sqlite:///path/to/mrd.db

Prints rows and seconds per entity. The database is read as it is (no migration), so
two copies of one database, one upgraded and one not, compare a schema change.
"""

from __future__ import annotations

import argparse
import time

from app.db import snapshot
from app.db.engine import Database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    db = Database(args.database_url)
    with db.engine.connect() as conn:
        stored = snapshot.everything(conn)
        total = 0.0
        for kind in ("accounts", "edges", "posts", "reports", "decisions"):
            began = time.perf_counter()
            rows = sum(len(next(iter(batch.values()))) for batch in getattr(stored, kind))
            spent = time.perf_counter() - began
            total += spent
            print(f"{kind:>9}: {rows:>10,} rows in {spent:6.1f} s", flush=True)
    print(f"{'all':>9}: {total:6.1f} s (posts' mentions and hashtags read before)")
    db.dispose()


if __name__ == "__main__":
    main()
