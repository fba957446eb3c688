"""Static PNG figures (matplotlib): one meter's actuals, forecast and band."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from wattcast.errors import InputError

if TYPE_CHECKING:
    from wattcast.settings import RunSpec
    from wattcast.store.store import ForecastStore


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'wattcast[plots]'.") from None
    return plt


def draw_meter(ax: object, frame: pd.DataFrame, meter: str, unit: str, tz: str | None) -> None:
    """Band, mean forecast and actuals of ``frame`` (timestamp, mean, lower, upper, actual)."""
    times = pd.DatetimeIndex(frame["timestamp"])
    if times.tz is not None:
        times = times.tz_localize(None)  # local wall-clock times on the axis
    frame, times = _broken_at_gaps(frame, times)
    ax.fill_between(times, frame["lower"], frame["upper"], color="#9ecae1", alpha=0.6,  # type: ignore[attr-defined]
                    label="band", step="post", linewidth=0)  # fmt: skip
    ax.plot(times, frame["mean"], color="#08519c", linewidth=1.2, label="forecast")  # type: ignore[attr-defined]
    if "actual" in frame and frame["actual"].notna().any():
        ax.plot(times, frame["actual"], color="#222222", linewidth=0.9, label="actual")  # type: ignore[attr-defined]
        above = frame["actual"] > frame["upper"]
        ax.scatter(times[above.to_numpy()], frame["actual"][above], color="#d62728", s=10,  # type: ignore[attr-defined]
                   zorder=3, label="above band")  # fmt: skip
    ax.set_title(meter)  # type: ignore[attr-defined]
    ax.set_ylabel(unit)  # type: ignore[attr-defined]
    ax.set_xlabel(f"local time ({tz})" if tz else "time")  # type: ignore[attr-defined]
    ax.grid(alpha=0.3)  # type: ignore[attr-defined]
    ax.legend(loc="upper left", fontsize=8)  # type: ignore[attr-defined]


def _broken_at_gaps(
    frame: pd.DataFrame, times: pd.DatetimeIndex
) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """``frame`` with a row of no values where its times skip more than one and a half of
    their usual step, so that the lines and the band break over a day without forecast
    or readings instead of drawing straight across it."""
    import numpy as np

    if len(times) < 3:
        return frame, times
    steps = pd.Series(times).diff().iloc[1:]
    step = steps.median()
    after = np.flatnonzero((steps > 1.5 * step).to_numpy())
    if not len(after):
        return frame, times
    blank = pd.DataFrame({c: np.nan for c in ("mean", "lower", "upper", "actual")
                          if c in frame}, index=range(len(after)))  # fmt: skip
    joined = pd.concat([frame.reset_index(drop=True), blank], ignore_index=True)
    stamps = times.append(times[after] + step)
    order = stamps.argsort(kind="stable")
    return joined.iloc[order].reset_index(drop=True), stamps[order]


def meter_png(frame: pd.DataFrame, meter: str, unit: str, tz: str | None, out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4), dpi=110)
    draw_meter(ax, frame, meter, unit, tz)
    fig.autofmt_xdate()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def meters_png(frame: pd.DataFrame, units: dict[str, str], tz: str | None, out: Path) -> Path:
    """One panel per meter (e.g. a whole backtest)."""
    plt = _pyplot()
    meters = list(dict.fromkeys(frame["meter"]))
    fig, axes = plt.subplots(len(meters), 1, figsize=(12, 2.8 * len(meters)), dpi=90, squeeze=False)
    for ax, meter in zip(axes[:, 0], meters, strict=True):
        draw_meter(ax, frame[frame["meter"] == meter], meter, units.get(meter, "kW"), tz)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def forecast_png(
    data: Path, forecast_file: Path, meter: str, out: Path, days_before: int, tz: str | None
) -> Path:
    """A meter's actuals before and during a forecast file's period, with its band.

    Both are drawn on the readings' wall clock: in ``tz`` when given, else in the zone
    the forecast file's times say by their UTC offset (naive times: as written).
    """
    import numpy as np

    from wattcast.data.sources import read_table
    from wattcast.units import given_unit

    forecast, offsets = _forecast_of(read_table(forecast_file), forecast_file, meter)
    stamps = pd.DatetimeIndex(forecast["timestamp"])
    zone = tz or _zone_of(offsets, forecast_file, meter)
    history = _readings_of(data, meter, zone)
    wall = _wall(stamps, zone)
    start = _start(history, wall[0], days_before)
    before = history[(history.index >= start) & (history.index < wall[0])]
    nan = np.full(len(before), np.nan)
    table = pd.concat([
        pd.DataFrame({"timestamp": before.index, "actual": before.to_numpy(), "mean": nan,
                      "lower": nan, "upper": nan}),
        forecast.assign(timestamp=wall, actual=history.reindex(wall).to_numpy())[
            ["timestamp", "actual", "mean", "lower", "upper"]],
    ], ignore_index=True)  # fmt: skip
    if table["actual"].isna().all():
        import warnings

        from wattcast.errors import WattcastWarning

        known = history.dropna()
        held = (f"its readings run {known.index[0]} .. {known.index[-1]}" if len(known)
                else "it has no readings")  # fmt: skip
        if history.name is None:  # not a meter of the file
            held = (f"the file has no meter {meter!r}: a site's remainder is computed from "
                    "its feed and panels, and `wattcast plot --config` draws it with its "
                    "actuals from the store")  # fmt: skip
        warnings.warn(f"{data}: no readings of {meter!r} from {start} to "
                      f"{wall[-1]} ({held}); the plot shows the forecast alone.",
                      WattcastWarning, stacklevel=2)  # fmt: skip
    label = tz or (None if zone is None else str(stamps.tz))  # e.g. UTC-04:00
    return meter_png(table, meter, given_unit(meter), label, out)  # a forecast file's unit


def stored_frame(store: ForecastStore, spec: RunSpec, meter: str, days_before: int
                 ) -> pd.DataFrame:  # fmt: skip
    """A meter's forecasts and band as the nightly job stored them, with the actuals that
    arrived: the local days of its newest forecast period and ``days_before`` days before
    them (``timestamp`` on the meter's wall clock, ``zone``, ``unit``, ``mean``, ``lower``,
    ``upper``, ``actual``)."""
    from wattcast.reporting.report import collect

    days = days_before + -(-spec.model.output // pd.Timedelta(days=1))
    frame = collect(store, spec, days, [meter]).readings
    if frame.empty:
        raise InputError(f"{store.path}: no forecasts of {meter!r} in the {days} days up "
                         "to the store's newest.")  # fmt: skip
    return frame.rename(columns={"wall": "timestamp"})


def stored_png(store: ForecastStore, spec: RunSpec, meter: str, out: Path,
               days_before: int) -> Path:  # fmt: skip
    """The PNG of :func:`stored_frame`."""
    frame = stored_frame(store, spec, meter, days_before)
    zone = frame["zone"].dropna()
    unit = str(frame["unit"].iloc[-1])
    return meter_png(frame, meter, unit, zone.iloc[-1] if len(zone) else None, out)


def _readings_of(data: Path, meter: str, zone: str | None) -> pd.Series:
    """``meter``'s readings in ``data``; an unnamed empty series where the file has no such
    meter (a forecast file also holds the remainders a site's hierarchy computes)."""
    from wattcast.data.sources import load_meters, open_source

    try:
        return load_meters(data, tz=zone, meters=[meter]).to_frame()[meter]
    except InputError:
        if meter in open_source(data, zone_of=lambda _: zone).meters():
            raise
    return pd.Series(index=pd.DatetimeIndex([]), dtype=float)


def _start(history: pd.Series, first: pd.Timestamp, days_before: int) -> pd.Timestamp:
    """The first time drawn: ``days_before`` days before ``first``, no earlier than the
    readings (a very large number of days is all of them)."""
    if history.empty or history.index[0] >= first:
        return first
    days = min(days_before, (first - history.index[0]).days + 1)
    return first - pd.Timedelta(days=days)


def _wall(stamps: pd.DatetimeIndex, zone: str | None) -> pd.DatetimeIndex:
    """Forecast times as wall-clock times of ``zone`` (naive ones are already)."""
    if stamps.tz is None:
        return stamps
    return stamps.tz_convert(zone).tz_localize(None) if zone else stamps.tz_localize(None)


def _zone_of(offsets: list[str], path: Path, meter: str) -> str | None:
    """The zone the forecast's times say by their one whole-hour UTC offset (None: naive
    times); refused when several offsets (a DST change), or an odd one, name no zone."""
    if offsets == ["none"]:
        return None
    hours = _whole_hours(offsets[0]) if len(offsets) == 1 else None
    if hours is None:
        raise _unmatched(path, meter, offsets)
    return f"Etc/GMT{-hours:+d}" if hours else "UTC"  # POSIX sign: Etc/GMT+4 is UTC-04:00


def _whole_hours(offset: str) -> int | None:
    """``-04:00`` as -4 (``Z``: 0); None for an offset of not whole hours."""
    if offset.upper() == "Z":
        return 0
    digits = offset[1:].replace(":", "")
    if digits[2:] not in ("", "00"):
        return None
    return int(offset[0] + digits[:2])


def _unmatched(path: Path, meter: str, offsets: list[str]) -> InputError:
    return InputError(
        f"{path}: the times of meter {meter!r} are written with the UTC offsets "
        f"{', '.join(offsets)}, which tell no one zone to read the readings in; pass --tz "
        "with the readings' zone (e.g. --tz America/New_York)."
    )


def _forecast_of(table: pd.DataFrame, path: Path, meter: str) -> tuple[pd.DataFrame, list[str]]:
    """The forecast of ``meter`` (times as :func:`_parsed` reads them) and the UTC
    offsets its times are written with."""
    missing = [c for c in ("meter", "timestamp", "mean", "lower", "upper") if c not in table]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected a wattcast forecast file.")
    from wattcast.data.columns import to_numeric_column
    from wattcast.data.files import row_label

    table = table[table["meter"] == meter]
    if table.empty:
        raise InputError(f"{path}: no forecast of meter {meter!r}.")
    numbers = {c: to_numeric_column(table, c) for c in ("mean", "lower", "upper")}
    stamps, offsets = _parsed(table)
    if stamps.isna().any():
        first = int(stamps.isna().to_numpy().argmax())
        raise InputError(f"{path}, column 'timestamp', {row_label(table, first)}: "
                         f"{table['timestamp'].iloc[first]!r} is not an ISO 8601 time such as "
                         "a wattcast forecast file holds.")  # fmt: skip
    return table.assign(timestamp=stamps, **numbers).reset_index(drop=True), offsets


def _parsed(table: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Times as written (several UTC offsets: in UTC), and the distinct UTC offsets they
    are written with (``none``: a naive time)."""
    import warnings

    text = table["timestamp"].astype("string")
    try:
        with warnings.catch_warnings():  # pandas 2.1 warns (later ones raise) on mixed offsets
            warnings.simplefilter("error", FutureWarning)
            stamps = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, FutureWarning):  # several UTC offsets (a DST change), or some without
        stamps = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if not pd.api.types.is_datetime64_any_dtype(stamps):  # offsets kept apart, as objects
        stamps = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    offsets = text.str.extract(r"([+-]\d{2}:?\d{2}|[zZ])\s*$")[0].fillna("none")
    return stamps, list(dict.fromkeys(offsets))
