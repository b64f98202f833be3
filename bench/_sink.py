"""The benchmarks' SMTP sink: aiosmtpd's Sink that also writes one byte to stdout per message accepted.

    python -m aiosmtpd -n -c _sink.CountingSink -l 127.0.0.1:PORT   (with bench/ on PYTHONPATH)

A benchmark reads the bytes to know, without polling anything, when a batch has reached the mail server.
"""
from __future__ import annotations

import os
from typing import Any

from aiosmtpd.handlers import Sink


class CountingSink(Sink):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        os.write(1, b".")
        return "250 OK"
