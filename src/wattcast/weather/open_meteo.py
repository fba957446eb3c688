"""Open-Meteo: forecasts and the weather of past days, as the provider documents its JSON.

* ``/v1/forecast`` gives the coming days (and, with ``start_date``/``end_date`` on
  the historical-forecast service, the forecasts that were issued for past days);
* ``/v1/archive`` gives past days (reanalysis, a few days behind).

Every answer has ``utc_offset_seconds``, ``timezone``, the ``daily`` (or
``hourly``) block with a ``time`` array and one array per variable (``null``
where there is no value), and ``daily_units``. No API key. Requests have a
timeout and are retried a few times with backoff on connection errors and on
429/5xx answers; an error answer (``{"error": true, "reason": ...}``), a body
that is not that JSON, or a failed connection end in :class:`WeatherError`,
which the nightly job turns into its fallback. Once the service has failed
that way, the client asks it nothing more (a night does not wait out the
retries of every request when the service is down).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any

from wattcast.errors import WattcastError

PUBLIC = {
    "forecast": "https://api.open-meteo.com",
    "archive": "https://archive-api.open-meteo.com",
    "historical": "https://historical-forecast-api.open-meteo.com",
}
PATHS = {"forecast": "/v1/forecast", "archive": "/v1/archive", "historical": "/v1/forecast"}
RETRIES = 3
BACKOFF = 0.5  # seconds, doubled at each retry


class WeatherError(WattcastError):
    """The weather service could not give what was asked (the message says why)."""


@dataclass(frozen=True)
class Answer:
    """One provider answer: local times (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``), values by
    variable (None where missing), and their units."""

    times: list[str]
    values: dict[str, list[float | None]]
    units: dict[str, str]
    utc_offset_seconds: int
    timezone: str


class OpenMeteo:
    """A client of one Open-Meteo location.

    Parameters
    ----------
    latitude, longitude : the site's coordinates (WGS84).
    url : base URL of a self-hosted service (or a test's stand-in); it then
        answers every endpoint. By default the public services.
    timeout : seconds to connect, and to read an answer.
    """

    def __init__(
        self, latitude: float, longitude: float, url: str | None = None, timeout: float = 20.0
    ) -> None:
        self.latitude, self.longitude, self.url, self.timeout = latitude, longitude, url, timeout
        self._pool: Any = None
        self._down: str | None = None  # why the service is not answering, once it failed

    @property
    def location(self) -> str:
        return f"{self.latitude:.4f},{self.longitude:.4f}"

    def fetch(
        self, endpoint: str, frequency: str, variables: list[str], start: str, end: str,
        timezone: str, temperature_unit: str = "celsius",
    ) -> Answer:  # fmt: skip
        """``variables`` per day (``frequency="daily"``) or hour, local to ``timezone``,
        from ``start`` to ``end`` (ISO dates, both included)."""
        query = {
            "latitude": f"{self.latitude}", "longitude": f"{self.longitude}",
            frequency: ",".join(variables), "timezone": timezone,
            "start_date": start, "end_date": end, "temperature_unit": temperature_unit,
        }  # fmt: skip
        base = (self.url or PUBLIC[endpoint]).rstrip("/")
        return parse(self._get(base + PATHS[endpoint], query), frequency, variables)

    def _get(self, url: str, query: dict[str, str]) -> bytes:
        if self._down is not None:
            raise WeatherError(self._down)
        try:
            return self._request(url, query)
        except WeatherError as exc:
            if "no answer" in str(exc) or "HTTP 5" in str(exc):
                self._down = str(exc)
            raise

    def _request(self, url: str, query: dict[str, str]) -> bytes:
        import urllib3

        if self._pool is None:
            retry = urllib3.Retry(total=RETRIES, backoff_factor=BACKOFF, raise_on_status=False,
                                  status_forcelist=(429, 500, 502, 503, 504))  # fmt: skip
            timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
            self._pool = urllib3.PoolManager(retries=retry, timeout=timeout)
        try:
            response = self._pool.request("GET", url, fields=query)
        except urllib3.exceptions.HTTPError as exc:  # connection refused, timeouts, retries spent
            reason = getattr(exc, "reason", None) or exc
            raise WeatherError(f"{url}: no answer ({type(reason).__name__}).") from None
        if response.status != 200:
            raise WeatherError(f"{url}: HTTP {response.status}{_reason(response.data)}.")
        return bytes(response.data)


def _reason(body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    return f" ({document['reason']})" if isinstance(document, dict) and "reason" in document else ""


def parse(body: bytes, frequency: str, variables: list[str]) -> Answer:
    """An Open-Meteo JSON answer, checked: the block, its ``time`` array and each variable."""
    try:
        document = json.loads(body)
    except ValueError:
        raise WeatherError(
            "the weather service answered with something that is not JSON."
        ) from None
    if not isinstance(document, dict):
        raise WeatherError("the weather service answered with JSON that is not an object.")
    if document.get("error"):
        raise WeatherError(f"the weather service refused: {document.get('reason', 'no reason')}.")
    block = document.get(frequency)
    if not isinstance(block, dict) or not isinstance(block.get("time"), list):
        raise WeatherError(f"the weather service's answer has no {frequency} block with times.")
    times = [str(t) for t in block["time"]]
    _check_times(times, frequency)
    values: dict[str, list[float | None]] = {}
    for name in variables:
        column = block.get(name)
        if not isinstance(column, list) or len(column) != len(times):
            raise WeatherError(f"the weather service's answer has no {frequency} {name!r} values.")
        values[name] = [_number(v) for v in column]
    units = document.get(f"{frequency}_units", {})
    shown = {n: str(units.get(n, "")) if isinstance(units, dict) else "" for n in variables}
    for name, unit in shown.items():
        if unit.strip().upper() in FAHRENHEIT:
            raise WeatherError(f"the weather service gave {name!r} in {unit!r}; celsius was asked.")
    offset = document.get("utc_offset_seconds", 0)
    if isinstance(offset, bool) or not isinstance(offset, int | float) or offset != int(offset):
        raise WeatherError(f"the weather service's utc_offset_seconds is {offset!r}, not seconds.")
    offset = int(offset)
    return Answer(times, values, shown, offset, str(document.get("timezone", "")))


#: Units of temperatures in Fahrenheit, as a service may write them (celsius is asked).
FAHRENHEIT = ("°F", "F", "℉", "FAHRENHEIT")


def _check_times(times: list[str], frequency: str) -> None:
    """Refuse times that are not the local ISO dates or hours the service writes (a time
    with an offset would be compared with the site's wall clock)."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas 2.1 warns on mixed offsets
            parsed = pd.to_datetime(pd.Series(times, dtype=object), format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        each = pd.to_datetime(pd.Series(times, dtype=object), format="ISO8601", errors="coerce",
                              utc=True)  # fmt: skip
        shown = times[int(each.isna().to_numpy().argmax())] if each.isna().any() else times[0]
        raise WeatherError(
            f"the weather service's {frequency} times are not ISO dates or times "
            f"(such as {shown!r})."
        ) from None
    if not pd.api.types.is_datetime64_dtype(parsed):  # zone-aware, or several offsets
        raise WeatherError(
            f"the weather service's {frequency} times carry a UTC offset ({times[0]!r}); "
            "expected the local times it was asked for."
        )


#: A weather value beyond this is no measurement (a float32 model input would overflow).
LARGEST = 1e6


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and abs(value) <= LARGEST else None
