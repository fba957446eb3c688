"""A local stand-in of Open-Meteo that answers ``/v1/forecast`` and ``/v1/archive`` with the
JSON the provider documents, for tests (no network).

``StandIn(values)`` serves ``values(day) -> float | None`` as the daily mean temperature
of any day asked; ``mode`` makes it misbehave: ``"ok"``, ``"slow"`` (answers after the
client gave up), ``"error"`` (HTTP 500), ``"garbage"`` (not JSON), ``"short"`` (the
range stops two days early), ``"refuse"`` (HTTP 400 with Open-Meteo's error JSON).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ZONE_OFFSETS = {"America/New_York": -18000, "GMT": 0, "UTC": 0}


class StandIn:
    def __init__(self, values: Callable[[dt.date], float | None], mode: str = "ok") -> None:
        self.values, self.mode = values, mode
        self.requests: list[tuple[str, dict[str, str]]] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        self.requests.append((path, query))
        if path not in ("/v1/forecast", "/v1/archive"):
            return 404, b'{"error": true, "reason": "Not found"}'
        if self.mode == "slow":
            time.sleep(2.0)
        if self.mode == "error":
            return 500, b"<html>Internal Server Error</html>"
        if self.mode == "garbage":
            return 200, b"<html>this is not json"
        if self.mode == "refuse":
            return 400, b'{"error": true, "reason": "Parameter start_date is out of range"}'
        first = dt.date.fromisoformat(query["start_date"])
        last = dt.date.fromisoformat(query["end_date"])
        if self.mode == "short":
            last -= dt.timedelta(days=2)
        days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
        variable = query["daily"]
        document = {
            "latitude": float(query["latitude"]), "longitude": float(query["longitude"]),
            "generationtime_ms": 0.2, "utc_offset_seconds": ZONE_OFFSETS.get(query["timezone"], 0),
            "timezone": query["timezone"], "timezone_abbreviation": "EST", "elevation": 28.0,
            "daily_units": {"time": "iso8601", variable: "°C"},
            "daily": {"time": [d.isoformat() for d in days],
                      variable: [self.values(d) for d in days]},
        }  # fmt: skip
        return 200, json.dumps(document).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, body = stand_in.answer(url.path, query)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)  # the client may have given up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
