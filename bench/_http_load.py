"""The HTTP load driver the benchmarks share: N keep-alive clients on loopback, latencies and statuses."""
from __future__ import annotations

import http.client
import statistics
import threading
import time


def run_requests(port: int, requests: list[tuple[str, str, bytes | None]], *, headers: dict[str, str],
                 clients: int, timeout: float = 30) -> dict:
    """Send ``(method, url, body)`` requests with ``clients`` keep-alive connections to 127.0.0.1:port.

    Returns ``{"rps", "p50", "p99" (ms), "statuses": {code: count}, "seconds", "latencies" (s, sorted)}``;
    a failed connection counts as status 0 and is reopened. ``combine`` merges several such results.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    index = iter(range(len(requests)))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        mine_lat, mine_st = [], {}
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            method, url, body = requests[i]
            started = time.perf_counter()
            try:
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            mine_lat.append(time.perf_counter() - started)
            mine_st[status] = mine_st.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine_lat)
            for key, value in mine_st.items():
                statuses[key] = statuses.get(key, 0) + value

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return _figures(latencies, elapsed, statuses)


def _figures(latencies: list[float], seconds: float, statuses: dict[int, int]) -> dict:
    return {"rps": len(latencies) / seconds, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000, "statuses": statuses,
            "seconds": seconds, "latencies": latencies}


def combine(results: list[dict]) -> dict:
    """One result for several runs of the same requests: their times added, latencies pooled."""
    statuses: dict[int, int] = {}
    for result in results:
        for key, value in result["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
    return _figures(sorted(lat for r in results for lat in r["latencies"]), sum(r["seconds"] for r in results),
                    statuses)
