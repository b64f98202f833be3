"""CPU and memory of processes, read from /proc (Linux): what the benchmarks print beside their figures."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


def proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system) of another process, from /proc; with ``children``, plus those of
    its children that have exited (the postmaster reaps every backend)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def _pids_named(comm: str) -> list[int]:
    """The live processes whose command name is ``comm``."""
    pids = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):  # gone meanwhile
            if entry.name.isdecimal() and (entry / "comm").read_text().strip() == comm:
                pids.append(int(entry.name))
    return pids


def postgres_cpu() -> float:
    """CPU seconds of the local PostgreSQL server: its live processes and the backends that exited."""
    total = 0.0
    for pid in _pids_named("postgres"):
        with contextlib.suppress(OSError):  # gone meanwhile
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            postmaster = Path(f"/proc/{parent}/comm").read_text().strip() != "postgres"
            total += proc_cpu(pid, children=postmaster)
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick


def tree_pids(root: int) -> list[int]:
    """``root`` and its descendants (a celery worker and its pool processes)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            todo += [int(child) for child in task.read_text().split()]
    return pids


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # gone meanwhile
            total += proc_cpu(pid)
    return total


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants."""
    return _cpu_of(tree_pids(root))


def peak_rss_mb(pids: list[int]) -> float:
    """The largest peak RSS (VmHWM) among ``pids``."""
    peak = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024


def named_cpu(comm: str) -> float:
    """CPU seconds of the live processes whose command name is ``comm`` (e.g. ``redis-server``)."""
    return _cpu_of(_pids_named(comm))
