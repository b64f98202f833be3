"""Run every benchmark in bench/ and print one table.

    .venv/bin/python bench/run_all.py            # quick sizes (minutes)
    .venv/bin/python bench/run_all.py --full     # the sizes the issues name (long)

Each benchmark is a plain script that prints its figures and their ratio to a baseline measured in
the same run; lines starting with ``RESULT`` are collected into the table. Needs DATABASE_URL
(PostgreSQL) and REDIS_URL where a benchmark uses them.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="run at full size instead of --quick")
    parser.add_argument("only", nargs="*", help="names of benchmarks to run (default: all)")
    args = parser.parse_args()
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in {"run_all.py"} and not p.name.startswith("_"))
    if args.only:
        scripts = [p for p in scripts if p.stem in args.only]
    rows: list[tuple[str, str]] = []
    failures = 0
    for script in scripts:
        cmd = [sys.executable, str(script)] + ([] if args.full else ["--quick"])
        print(f"== {script.stem}: {' '.join(cmd[1:])}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "VERBATIM_ENV": os.environ.get("VERBATIM_ENV", "test")},
                              capture_output=True, text=True)
        print(proc.stdout, end="")
        if proc.returncode:
            failures += 1
            print(proc.stderr[-3000:], file=sys.stderr)
            rows.append((script.stem, f"FAILED (exit {proc.returncode})"))
            continue
        results = [line[len("RESULT"):].strip() for line in proc.stdout.splitlines() if line.startswith("RESULT")]
        for line in results or ["(no RESULT lines)"]:
            rows.append((script.stem, line))
        print(f"   ({time.monotonic() - started:.0f} s)")
    width = max((len(name) for name, _ in rows), default=10)
    print("\n" + "benchmark".ljust(width) + "  result")
    for name, line in rows:
        print(name.ljust(width) + "  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
