"""Run every benchmark module (bench/bench_*.py), or the ones named on the command line."""

from __future__ import annotations

import importlib
import platform
import sys
from pathlib import Path


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== {name} ==", flush=True)
        module.main()


if __name__ == "__main__":
    main()
