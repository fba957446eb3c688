"""Static PNG figures (matplotlib): one meter's actuals, forecast and band."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wattcast.errors import InputError


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
    """A meter's actuals before and during a forecast file's period, with its band."""
    import numpy as np

    from wattcast.data.sources import load_meters, read_table
    from wattcast.events.detection import unit_of

    frame = load_meters(data, tz=tz, meters=[meter])
    forecast = _forecast_of(read_table(forecast_file), forecast_file, meter, frame.tz)
    times = pd.DatetimeIndex(forecast["timestamp"])
    wall = times.tz_localize(None) if times.tz is not None else times
    history = frame.to_frame()[meter]
    start = wall[0] - pd.Timedelta(days=days_before)
    before = history[(history.index >= start) & (history.index < wall[0])]
    nan = np.full(len(before), np.nan)
    before_times = before.index.tz_localize(frame.tz, ambiguous="NaT", nonexistent="NaT") \
        if frame.tz else before.index  # fmt: skip
    table = pd.concat([
        pd.DataFrame({"timestamp": before_times, "actual": before.to_numpy(), "mean": nan,
                      "lower": nan, "upper": nan}),
        forecast.assign(actual=history.reindex(wall).to_numpy())[
            ["timestamp", "actual", "mean", "lower", "upper"]],
    ], ignore_index=True)  # fmt: skip
    return meter_png(table.dropna(subset=["timestamp"]), meter, unit_of(meter), frame.tz, out)


def _forecast_of(table: pd.DataFrame, path: Path, meter: str, tz: str | None) -> pd.DataFrame:
    missing = [c for c in ("meter", "timestamp", "mean", "lower", "upper") if c not in table]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected a wattcast forecast file.")
    from wattcast.data.columns import to_numeric_column
    from wattcast.data.files import row_label

    table = table[table["meter"] == meter]
    if table.empty:
        raise InputError(f"{path}: no forecast of meter {meter!r}.")
    numbers = {c: to_numeric_column(table, c) for c in ("mean", "lower", "upper")}
    stamps = pd.to_datetime(table["timestamp"], utc=tz is not None, format="ISO8601",
                            errors="coerce")  # fmt: skip
    if stamps.isna().any():
        first = int(stamps.isna().to_numpy().argmax())
        raise InputError(f"{path}, column 'timestamp', {row_label(table, first)}: "
                         f"{table['timestamp'].iloc[first]!r} is not an ISO 8601 time such as "
                         "a wattcast forecast file holds.")  # fmt: skip
    stamps = stamps.dt.tz_convert(tz) if tz else stamps
    return table.assign(timestamp=stamps, **numbers).reset_index(drop=True)
