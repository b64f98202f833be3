"""API-key authentication cost per request, against a raw SQL lookup of the key's hash.

    .venv/bin/python bench/api_key_auth.py [--quick]

Creates accounts and keys inside a transaction that is rolled back at the end (nothing stays in the
database). Measures ``ApiKeyAuthentication.authenticate`` on a DRF request (Bearer header: parse,
SHA-256, one indexed SELECT, scope entry) and, as the baseline in the same run, a raw
``SELECT ... WHERE key_hash = %s`` with the hash precomputed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("VERBATIM_ENV", "development")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from accounts import services  # noqa: E402
from accounts.api_auth import ApiKeyAuthentication  # noqa: E402
from accounts.models import Account, hash_secret  # noqa: E402


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small run (200 keys, 2,000 requests)")
    args = parser.parse_args()
    n_keys, n_requests = (200, 2_000) if args.quick else (10_000, 50_000)
    try:
        with transaction.atomic():
            raws = []
            for i in range(max(1, n_keys // 10)):
                account = Account.objects.create(name=f"Bench {i}", slug=f"bench-apikey-{i}-{os.getpid()}")
                for _ in range(10):
                    raws.append(services.create_api_key(account=account, name="bench")[1])
            factory = APIRequestFactory()
            requests = [factory.get("/", HTTP_AUTHORIZATION=f"Bearer {raws[i % len(raws)]}")
                        for i in range(n_requests)]
            auth = ApiKeyAuthentication()
            for request in requests[:len(raws)]:  # warm up; each key's once-a-minute last_used update
                auth.authenticate(request)
            started = time.perf_counter()
            for request in requests:
                assert auth.authenticate(request) is not None
            ours = (time.perf_counter() - started) / n_requests

            hashes = [hash_secret(raws[i % len(raws)]) for i in range(n_requests)]
            with connection.cursor() as cursor:
                started = time.perf_counter()
                for key_hash in hashes:
                    cursor.execute("SELECT id, account_id FROM accounts_apikey WHERE key_hash = %s "
                                   "AND revoked_at IS NULL", [key_hash])
                    assert cursor.fetchone() is not None
                raw = (time.perf_counter() - started) / n_requests
            raise Rollback
    except Rollback:
        pass
    print(f"{n_keys} keys, {n_requests} requests, {connection.vendor}")
    print(f"ApiKeyAuthentication.authenticate: {ours * 1e6:.0f} µs/request")
    print(f"raw indexed SELECT by hash (baseline): {raw * 1e6:.0f} µs/request")
    print(f"RESULT api key auth {ours * 1e6:.0f} µs/request = {ours / raw:.2f}x a raw SELECT by hash "
          f"({n_keys} keys, {connection.vendor})")


if __name__ == "__main__":
    main()
