"""The demo runs the whole bill-to-paid story and reports it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_pays_one_invoice(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    completed = subprocess.run(
        [sys.executable, "-m", "tagih.cli", "demo", "--json", "--folder", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    assert summary["invoices_issued"] >= 5
    assert summary["invoices_paid"] == 1
    assert summary["payments_rejected"] == 1
    assert summary["rejection_code"] == "4042514"
    assert summary["receipts_sent"] == 1
    assert list((tmp_path / "console").glob("*.pdf")), "no receipt PDF was delivered"
    assert "Rp" in completed.stdout
