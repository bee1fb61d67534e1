"""Rewrite the initial migration from the current models.

Used while the schema has no released version: it deletes versions/0001_initial.py and
autogenerates it again against an empty SQLite database. Once a release exists, add new
revisions with `alembic revision --autogenerate` instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from models.db import MIGRATIONS_DIR, alembic_config


def main() -> None:
    target = MIGRATIONS_DIR / "versions" / "0001_initial.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'empty.sqlite3'}"
        command.revision(
            alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001"
        )
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    generated.rename(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
