"""The store reads which migrations it has had without sqlite-utils, the same way
sqlite-utils' migration set does, and applies them with it only when some are pending."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlite_utils import Database

from store.db import open_reader, open_store
from store.schema import MIGRATIONS, migration_runner, pending_migrations


def test_pending_migrations_agree_with_sqlite_utils(tmp_path: Path) -> None:
    db = Database(tmp_path / "m.db")
    runner = migration_runner()
    assert pending_migrations(db.conn) == [m.__name__ for m in MIGRATIONS]
    runner.apply(db, stop_before="m004_trusted_works")
    ours = pending_migrations(db.conn)
    assert ours == [m.name for m in runner.pending(db)]
    assert ours[0] == "m004_trusted_works" and len(ours) == len(MIGRATIONS) - 3
    store = open_store(tmp_path / "m.db")  # applies the rest
    assert pending_migrations(store.conn) == [] == runner.pending(db)
    store.close()


def test_opening_a_current_store_does_not_import_sqlite_utils(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_store(path).close()
    code = (
        "import sys; from store.db import open_reader, open_store;"
        f"open_store({str(path)!r}).close(); open_reader({str(path)!r}).close();"
        "print('sqlite_utils' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    open_reader(path).close()
