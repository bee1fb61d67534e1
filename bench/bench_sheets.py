"""Sheet intake speed: bare python-calamine read, `sheet check` and `sheet import`.

Generates invoice sheets of 10,000 and 100,000 rows (about one invoice in four has a
second line), then runs each measurement in its own Python process so that the peak
resident memory (getrusage ru_maxrss) belongs to that measurement alone. Check and import
run on a fresh SQLite database with one merchant; import includes customers, products,
VAs and queued "bill issued" notices.

Run: .venv/bin/python -m bench bench_sheets   (or: .venv/bin/python -m bench.bench_sheets)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

SIZES = (10_000, 100_000)
HEADER = ["No. Invoice", "Nama Pelanggan", "Email", "No. HP", "Jatuh Tempo", "Produk", "Qty",
          "Harga Satuan", "Jumlah (Rp)"]  # fmt: skip
PRODUCTS = [("SPP Bulanan", 350_000), ("Katering", 625_000), ("Buku Paket", 275_000),
            ("Seragam", 185_000), ("Kegiatan", 150_000)]  # fmt: skip
TODAY = dt.date(2026, 12, 4)


def generate(path: Path, rows: int) -> None:
    """Write an invoice sheet with `rows` data rows below a title row and the header."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Tagihan")
    sheet.append(["Daftar tagihan (data buatan untuk benchmark)"])
    sheet.append(HEADER)
    written = invoice = 0
    while written < rows:
        invoice += 1
        customer = invoice % max(rows // 2, 1)
        lines = 2 if invoice % 4 == 0 else 1
        for line in range(min(lines, rows - written)):
            product, price = PRODUCTS[(invoice + line) % len(PRODUCTS)]
            quantity = 1 + (invoice + line) % 3
            sheet.append([
                f"BENCH-{invoice:06d}",
                f"Pelanggan {customer:06d}",
                f"pelanggan{customer:06d}@example.com",
                f"0812{customer:08d}",
                dt.date(2031, 1 + invoice % 12, 1 + invoice % 28),
                product,
                quantity,
                price,
                price * quantity,
            ])  # fmt: skip
            written += 1
    workbook.save(path)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(mode: str, path: str, database: str) -> None:
    """Run one measurement in this process and print its figures as JSON.

    Wall time suffers when other processes share the CPUs; CPU time (user + system) of
    this process is reported beside it because it suffers much less.
    """
    detail: dict[str, object] = {}
    if mode == "read":
        import python_calamine

        started, cpu = time.perf_counter(), _cpu_seconds()
        reader = python_calamine.CalamineWorkbook.from_path(path)
        detail["rows"] = len(reader.get_sheet_by_index(0).to_python(skip_empty_area=False))
    else:
        os.environ["DATABASE_URL"] = database
        from billing.imports import check_sheet, import_sheet
        from billing.orgs import get_organisation
        from models.db import session_scope

        content = Path(path).read_bytes()
        runs = 2 if mode == "check" else 1  # the second check runs on a warm connection
        result = None
        for _ in range(runs):
            result = None  # so the peak memory is that of one run
            started, cpu = time.perf_counter(), _cpu_seconds()
            with session_scope(write=mode == "import") as session:
                organisation = get_organisation(session, "bench")
                run = import_sheet if mode == "import" else check_sheet
                result = run(session, organisation, Path(path).name, content, today=TODAY)
            if "cold_seconds" not in detail and runs > 1:
                detail["cold_seconds"] = time.perf_counter() - started
        assert result is not None
        detail.update(invoices=len(result.invoices), errors=len(result.errors),
                      imported=result.imported)  # fmt: skip
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "peak_mb": peak_mb, **detail}))


def _measure(mode: str, path: Path, database: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_sheets", "--child", mode, str(path), database],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _fresh_database(folder: Path, name: str) -> str:
    """Create a migrated SQLite database holding one merchant; return its URL."""
    url = f"sqlite:///{folder / name}"
    script = (
        "from models.db import upgrade_to_head, session_scope\n"
        "from billing.orgs import create_organisation\n"
        f"upgrade_to_head({url!r})\n"
        "with session_scope(write=True) as s:\n"
        "    create_organisation(s, slug='bench', kind='invoice', name='Bench', "
        "company_code='99001', admin_phone='081200000001')\n"
    )
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env,
                   cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    return url


def main() -> None:
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print("wall and CPU seconds of the step alone; peak MB is the process's resident maximum")
    print(f"{'rows':>8} {'step':<8} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}  notes")
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        for rows in SIZES:
            path = folder / f"bench-{rows}.xlsx"
            started = time.perf_counter()
            generate(path, rows)
            generated = time.perf_counter() - started
            size_mb = path.stat().st_size / 1024 / 1024
            print(f"{rows:>8} {'generate':<8} {generated:>7.2f} {'':>7} {'':>8}  "
                  f"{size_mb:.1f} MB file")  # fmt: skip
            read = _measure("read", path, "")
            _report(rows, "read", read, "")
            check = _measure("check", path, _fresh_database(folder, f"check-{rows}.sqlite3"))
            _report(rows, "check", check,
                    f"{check['invoices']} invoices; {check['cpu'] / read['cpu']:.1f}x the read's "
                    f"CPU; first run {check['cold_seconds']:.2f} s wall")  # fmt: skip
            imported = _measure("import", path, _fresh_database(folder, f"import-{rows}.sqlite3"))
            _report(rows, "import", imported, f"{imported['imported']} invoices written")


def _report(rows: int, step: str, figures: dict, notes: str) -> None:
    print(f"{rows:>8} {step:<8} {figures['seconds']:>7.2f} {figures['cpu']:>7.2f} "
          f"{figures['peak_mb']:>8.0f}  {notes}", flush=True)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
