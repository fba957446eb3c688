"""Does wattcast find energy waste? Known waste injected into real meters, nights replayed.

For one dataset: pick the meters (skip idle ones), plan faults of several kinds
at several sizes on the judged nights (seeded), write one copy of the readings
per kind and size with the faults added, and replay the nightly job over each
copy and over the clean readings as a user runs it: a site.toml per scenario,
``wattcast run --config site.toml --as-of DATE`` night after night, the events
from ``wattcast export --what anomalies`` after every night. The CLI is invoked
in-process (one worker process per core) and nothing else of wattcast is used
but ``wattcast.load_meters``, so the benchmark measures whatever wattcast
reports. Two peer rules run on the same readings: the same-slot rule (same
weekday and time of day, median of the 4 weeks before + k robust sigma and
+10 %, flagged readings joined and triaged with wattcast's thresholds), the
same rule made stricter until it alerts no more than wattcast on the clean
readings, and a CUSUM of daily energy against the same-weekday median of the 4
weeks before.

Per method, kind and size: the share of faults found (an alerted event that the
clean replay had not already alerted, no clean event of the same meter and kind
alerted by then overlapping it, overlaps the fault), the median days from the fault's
start to the night of its first alert, the energy of those events over the
injected energy (per energy field the method reports), and, on the clean
readings, alerted events per meter-week. Printed, and saved to
bench/results/waste-NAME.json; ``--docs`` rewrites the results table of
docs/waste.md and draws docs/waste.png from every saved result.

    python bench/waste.py --dataset andover [--meters 8] [--nights 21] [--trees 100]
        [--kinds overnight,creep] [--sizes 0.075,0.15,0.3] [--jobs 2] [--docs]

Datasets: andover and andover-nightly (the bundled school panels, extras as
recorded or as each night knew them), synthetic (bench/make_fleet.py, seed 0),
fontana and cambridge (converted first by ``python bench/datasets.py NAME``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "waste.md"
CHART = ROOT / "docs" / "waste.png"
CONVERTED = ROOT / "bench" / "data" / "datasets"
FLEET = ROOT / "bench" / "data" / "fleets" / "m50-d120-s0"
NOAA = ROOT / "bench" / "data" / "noaa_daily_temperature.csv"
BEGIN, END = "<!-- results: made by bench/waste.py --docs -->", "<!-- /results -->"
DAY = pd.Timedelta("1D")

#: Fault kinds, in the order of every table; the unit their size is given in.
KINDS = {
    "overnight": "x p95",  # left on 19:00-06:00 on one weekday night
    "weekend": "x p95",  # a Saturday run 07:00-17:00
    "shift": "h",  # the morning ramp this many hours earlier on 3 weekdays
    "spike": "x p95",  # short spikes (45 min, or one hourly reading)
    "creep": "x mean",  # baseload up from a weekday to the end of the judged nights
}
SIZES = {
    "overnight": (0.075, 0.15, 0.30),
    "weekend": (0.075, 0.15, 0.30),
    "shift": (1.0, 2.0, 3.0),
    "spike": (0.075, 0.15, 0.30),
    "creep": (0.05, 0.10),
}
#: Faults per meter and scenario: distinct days, far enough apart not to share an event.
REPEATS = {"overnight": 2, "weekend": 2, "shift": 1, "spike": 3, "creep": 1}
METHODS = ("wattcast", "slot rule", "slot rule, matched", "cusum")
#: wattcast's alert thresholds (its defaults; a dataset may set others in its site file).
THRESHOLDS = {"min_duration": "30min", "min_energy": 5.0, "min_energy_hours": 0.1,
              "join_gap": "30min"}  # fmt: skip
SLOT_K, SLOT_MARGIN, WEEKS = 4.0, 0.10, 4
#: The slot rule made stricter, step by step, until its clean alert load is at most
#: wattcast's (``slot rule, matched``): (k robust sigma, margin above the median).
SLOT_LADDER = (
    (4.0, 0.10),
    (5.0, 0.15),
    (6.0, 0.20),
    (8.0, 0.25),
    (10.0, 0.30),
    (12.0, 0.40),
    (16.0, 0.50),
    (20.0, 0.75),
    (30.0, 1.00),
)
CUSUM_K, CUSUM_H, CUSUM_FLOOR = 0.5, 5.0, 0.05


# ---------------------------------------------------------------------------- data


@dataclass
class Meter:
    """One meter's readings: values at local wall-clock times, as its file has them."""

    name: str
    local: pd.DatetimeIndex  # naive local times (the meter's own zone)
    original: pd.Index  # the timestamps as written to the scenario's file
    values: np.ndarray
    unit: str  # kW (power) or kWh (energy per reading)
    hours: float  # the reading interval in hours
    zone: str | None = None

    def energy(self, values: np.ndarray) -> np.ndarray:
        """kWh of readings (or of amounts added to them)."""
        return values * self.hours if self.unit == "kW" else values

    def grid(self, values: np.ndarray | None = None) -> pd.Series:
        """Readings on a regular local grid (repeated times averaged, skipped ones NaN)."""
        series = pd.Series(self.values if values is None else values, index=self.local)
        series = series.groupby(level=0).mean()
        return series.asfreq(pd.Timedelta(hours=self.hours))


@dataclass(frozen=True)
class Dataset:
    what: str
    load: Callable[[], list[Meter]]
    judged: tuple[str, str]  # first and last judged day (local dates)
    site: dict[str, dict[str, object]]  # site.toml sections beyond data and store
    layout: str = "wide"  # how scenario files are written: wide CSV or long Parquet (UTC)
    sample: int | None = None  # meters drawn (seeded) from those eligible
    history_days: int | None = None  # readings kept before the first judged day
    min_mean: float = 0.0  # meters with a lower mean (kW or kWh per reading) are left out
    parent: str | None = None  # the main feed the other meters are below ([site] meters)


def _wide(path: Path, tz: str | None = None) -> list[Meter]:
    from wattcast import load_meters

    frame = load_meters(path)
    local = pd.DatetimeIndex(pd.date_range(frame.start, periods=frame.n_steps, freq=frame.interval))
    hours = frame.interval / pd.Timedelta("1h")
    return [
        Meter(name, local, local, frame.values[:, i].copy(), _unit(name), hours, tz)
        for i, name in enumerate(frame.meters)
    ]


def _unit(name: str) -> str:
    return "kWh" if "(kwh)" in name.lower() else "kW"


def _andover_folder() -> Path:
    return Path(str(resources.files("wattcast") / "datasets" / "andover"))


def _andover() -> list[Meter]:
    return _wide(_andover_folder() / "meters.csv.gz", "America/New_York")


def _synthetic() -> list[Meter]:
    if not (FLEET / "meters.csv").exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "make_fleet.py"),
                "--meters",
                "50",
                "--days",
                "120",
                "--seed",
                "0",
                "--out",
                str(FLEET),
            ],
            check=True,
        )
    zones = pd.read_csv(FLEET / "meters.csv").set_index("meter")["zone"]
    parts = sorted(FLEET.glob("group=*/*.parquet"))
    table = pd.concat(pd.read_parquet(p, columns=["timestamp", "meter", "value"]) for p in parts)
    meters = []
    for name, rows in table.groupby("meter", sort=True):
        rows = rows.sort_values("timestamp")
        utc = pd.DatetimeIndex(rows["timestamp"]).tz_convert("UTC")
        zone = str(zones[name])
        local = utc.tz_convert(zone).tz_localize(None)
        meters.append(
            Meter(str(name), local, utc, rows["value"].to_numpy(float), _unit(name), 0.25, zone)
        )
    return meters


def _converted(name: str) -> Callable[[], list[Meter]]:
    def load() -> list[Meter]:
        path = CONVERTED / name / "meters.csv"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `python bench/datasets.py {name}` first.")
        return _wide(path)

    return load


_ANDOVER_OBSERVED = {
    "extras": {"common": ["{andover}/daily_extras.csv"], "closed_flags": ["noschool"]}
}
_ANDOVER_NIGHTLY = {
    "extras": {
        "calendars": ["{andover}/no_school_2016-17.ics"],
        "half_days": ["{andover}/half_days_2016-17.ics"],
    },
    "weather": {"provider": "ghcnd", "path": "{noaa}", "units": "F"},
}
DATASETS: dict[str, Dataset] = {
    "andover": Dataset(
        "school panels, 15-min kW, extras as recorded",
        _andover,
        ("2017-03-01", "2017-03-17"),
        _ANDOVER_OBSERVED,
        parent="Main (kW)",
    ),
    "andover-nightly": Dataset(
        "school panels, 15-min kW, what each night knew",
        _andover,
        ("2017-03-01", "2017-03-17"),
        _ANDOVER_NIGHTLY,
        parent="Main (kW)",
    ),
    "synthetic": Dataset(
        "synthetic fleet, 15-min kW, own zones",
        _synthetic,
        ("2023-04-10", "2023-04-30"),
        {},
        layout="long",
        sample=8,
    ),
    "fontana": Dataset(
        "homes, hourly kWh",
        _converted("fontana"),
        ("2017-03-06", "2017-03-26"),
        {"alerts": {"min_energy": 1.0}},
        sample=8,
        history_days=364,
    ),
    "cambridge": Dataset(
        "university buildings, hourly kWh",
        _converted("cambridge"),
        ("2019-10-28", "2019-11-17"),
        {"extras": {"holidays": "GB-ENG"}},
        sample=8,
        history_days=364,
        min_mean=10.0,
    ),
}
THRESHOLD_NOTES = {"fontana": "min_energy 1 kWh (homes: the README's advice for small meters)"}


def _paths(value: object) -> object:
    """Site values with the bundled and bench paths filled in."""
    if isinstance(value, str):
        return value.format(andover=_andover_folder(), noaa=NOAA)
    if isinstance(value, list):
        return [_paths(v) for v in value]
    return value


# ---------------------------------------------------------------------------- faults


@dataclass
class Fault:
    meter: str
    kind: str
    size: float
    start: pd.Timestamp  # local
    end: pd.Timestamp
    kwh: float = 0.0  # injected within the judged nights

    def row(self) -> dict[str, object]:
        return {
            **asdict(self),
            "start": str(self.start),
            "end": str(self.end),
            "kwh": round(self.kwh, 3),
        }


@dataclass
class Level:
    """A meter's own level over the 8 weeks before the judged nights."""

    p95: float
    mean: float
    ramp: pd.Timedelta  # the morning ramp of its weekday profile

    @staticmethod
    def of(meter: Meter, first: pd.Timestamp) -> Level:
        grid = meter.grid()
        history = grid[first - pd.Timedelta("56D") : first - pd.Timedelta(hours=meter.hours) / 2]
        values = history.dropna()
        if values.empty:
            return Level(0.0, 0.0, pd.Timedelta("7h"))
        weekday = history[history.index.day_of_week < 5]
        profile = weekday.groupby(weekday.index.hour * 60 + weekday.index.minute).median()
        low, high = profile.quantile(0.1), profile.quantile(0.9)
        morning = profile[(profile.index < 12 * 60) & (profile >= low + (high - low) / 2)]
        ramp = pd.Timedelta(minutes=int(morning.index[0])) if len(morning) else pd.Timedelta("7h")
        return Level(float(np.quantile(values, 0.95)), float(values.mean()), ramp)

    @property
    def idle(self) -> bool:
        return not self.p95 > 0 or self.mean < 0.02 * self.p95


def judged_days(dataset: Dataset, nights: int | None) -> list[pd.Timestamp]:
    days = list(pd.date_range(*dataset.judged, freq="D"))
    return days[:nights] if nights else days


def _pick(
    candidates: list[pd.Timestamp], count: int, apart: int, rng: np.random.Generator
) -> list[pd.Timestamp]:
    """Up to ``count`` candidate days, in random order, at least ``apart`` days apart."""
    chosen: list[pd.Timestamp] = []
    for i in rng.permutation(len(candidates)):
        day = candidates[i]
        if all(abs((day - c).days) >= apart for c in chosen):
            chosen.append(day)
        if len(chosen) == count:
            break
    return sorted(chosen)


def plan_windows(
    kind: str, days: list[pd.Timestamp], level: Level, hours: float, rng: np.random.Generator
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Fault windows of one kind on one meter (size aside: every size shares them)."""
    last = days[-1]
    h = pd.Timedelta
    if kind == "overnight":
        picks = _pick([d for d in days if d.day_of_week < 4 and d < last], REPEATS[kind], 5, rng)
        return [(d + h("19h"), d + h("30h")) for d in picks]
    if kind == "weekend":
        picks = _pick([d for d in days if d.day_of_week == 5], REPEATS[kind], 5, rng)
        return [(d + h("7h"), d + h("17h")) for d in picks]
    if kind == "shift":
        tuesdays = [d for d in days if d.day_of_week == 1 and d + 2 * DAY <= last]
        picks = _pick(tuesdays, REPEATS[kind], 7, rng)
        return [(d + i * DAY, d + i * DAY + DAY) for d in picks for i in range(3)]
    if kind == "spike":
        length = h("45min") if hours < 1 else h(hours=hours)
        picks = _pick(days, REPEATS[kind], 3, rng)
        slots = int((DAY - length) / h(hours=hours))
        return [(d + h(hours=hours) * int(rng.integers(slots + 1)),) * 2 for d in picks]
    if kind == "creep":
        weekdays = [d for d in days[:7] if d.day_of_week < 5]
        start = weekdays[int(rng.integers(len(weekdays)))]
        return [(start, last + DAY)]
    raise ValueError(kind)


def inject(
    meter: Meter,
    kind: str,
    size: float,
    windows: list[tuple[pd.Timestamp, pd.Timestamp]],
    level: Level,
    values: np.ndarray,
    judged: tuple[pd.Timestamp, pd.Timestamp],
) -> list[Fault]:
    """Add the faults to ``values`` (in place); each fault with the kWh it added."""
    step = pd.Timedelta(hours=meter.hours)
    faults = []
    for start, end in windows:
        before = values.copy()
        if kind == "spike":
            end = start + (pd.Timedelta("45min") if meter.hours < 1 else step)
        if kind == "shift":
            _shift(meter, values, start, level.ramp, size)
            ramp = start + level.ramp
            start, end = ramp - pd.Timedelta(hours=size), ramp + pd.Timedelta("1h")
        else:
            amount = size * (level.mean if kind == "creep" else level.p95)
            inside = (meter.local >= start) & (meter.local < end) & np.isfinite(values)
            values[inside] += amount
        counted = (meter.local >= judged[0]) & (meter.local < judged[1])
        added = np.nan_to_num(values - before)[counted]
        faults.append(Fault(meter.name, kind, size, start, end, float(meter.energy(added).sum())))
    return faults


def _shift(
    meter: Meter, values: np.ndarray, day: pd.Timestamp, ramp: pd.Timedelta, hours: float
) -> None:
    """The day's morning ramp ``hours`` earlier: from ramp - hours to ramp + 1 h each reading
    takes the larger of itself and the reading ``hours`` later."""
    shift = pd.Timedelta(hours=hours)
    begin, stop = day + ramp - shift, day + ramp + pd.Timedelta("1h")
    where = np.flatnonzero((meter.local >= begin) & (meter.local < stop))
    if not len(where):
        return
    lookup = pd.Series(np.arange(len(meter.local)), index=meter.local)
    lookup = lookup[~lookup.index.duplicated()]
    later = lookup.reindex(meter.local[where] + shift).to_numpy()
    ok = np.isfinite(later)
    source = values[later[ok].astype(int)]
    targets = where[ok]
    values[targets] = np.fmax(values[targets], np.where(np.isfinite(source), source, -np.inf))


@dataclass
class Scenario:
    name: str  # "clean" or KIND-SIZE
    kind: str | None
    size: float | None
    values: dict[str, np.ndarray] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)


def plan(
    meters: list[Meter],
    levels: dict[str, Level],
    days: list[pd.Timestamp],
    kinds: dict[str, tuple[float, ...]],
    seed: int,
    parent: str | None = None,
) -> list[Scenario]:
    """The clean scenario and one per kind and size, faults drawn with ``seed``.

    With a ``parent`` (a main feed that is the sum of the other meters and what no
    panel meters), what is added to the others is added to it too, as it would be;
    its own faults are of what no panel meters."""
    judged = (days[0], days[-1] + DAY)
    scenarios = [Scenario("clean", None, None, {m.name: m.values for m in meters})]
    for k, kind in enumerate(KINDS):
        if kind not in kinds:
            continue
        windows = {}
        for i, meter in enumerate(meters):
            rng = np.random.default_rng([seed, k, i])
            windows[meter.name] = plan_windows(kind, days, levels[meter.name], meter.hours, rng)
        for size in kinds[kind]:
            scenario = Scenario(f"{kind}-{size:g}", kind, size)
            for meter in meters:
                values = meter.values.copy()
                scenario.faults += inject(
                    meter, kind, size, windows[meter.name], levels[meter.name], values, judged
                )
                scenario.values[meter.name] = values
            scenario.faults = [f for f in scenario.faults if f.kwh > 0]
            _add_to_parent(scenario, meters, parent)
            scenarios.append(scenario)
    return scenarios


def _add_to_parent(scenario: Scenario, meters: list[Meter], parent: str | None) -> None:
    """The faults added to the meters below ``parent`` added to its readings as well."""
    above = next((m for m in meters if m.name == parent), None)
    if above is None:
        return
    for meter in meters:
        if meter is not above:
            assert meter.local.equals(above.local), "a main feed and its panels share times"
            added = np.nan_to_num(scenario.values[meter.name] - meter.values)
            scenario.values[parent] = scenario.values[parent] + added


# ---------------------------------------------------------------------------- replay


def write_scenario(
    dataset: Dataset,
    meters: list[Meter],
    values: dict[str, np.ndarray],
    folder: Path,
    since: pd.Timestamp | None,
) -> dict[str, object]:
    """The scenario's readings in the dataset's layout; its [data] section."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [m.name for m in meters]
    if dataset.layout == "long":
        parts = []
        for m in meters:
            keep = np.isfinite(values[m.name])
            if since is not None:
                keep &= m.local >= since
            parts.append(
                pd.DataFrame(
                    {"timestamp": m.original[keep], "meter": m.name, "value": values[m.name][keep]}
                )
            )
        pd.concat(parts).to_parquet(folder / "meters.parquet", index=False)
        zones = pd.DataFrame({"meter": names, "zone": [m.zone for m in meters]})
        zones.to_csv(folder / "zones.csv", index=False)
        return {"source": "meters.parquet", "zones": "zones.csv", "meters": names}
    frame = pd.DataFrame({m.name: values[m.name] for m in meters}, index=meters[0].original)
    if since is not None:
        frame = frame[frame.index >= since]
    frame.rename_axis("timestamp").to_csv(folder / "meters.csv")
    data: dict[str, object] = {"source": "meters.csv", "meters": names}
    if meters[0].zone:
        data["tz"] = meters[0].zone
    return data


def write_hierarchy(parent: str | None, meters: list[Meter], folder: Path) -> dict[str, str]:
    """The [site] meters file that lists the other meters below ``parent`` (the main feed);
    the [site] section, or nothing."""
    names = [m.name for m in meters]
    if parent not in names:
        return {}
    rows = [f"{parent},"] + [f"{n},{parent}" for n in names if n != parent]
    (folder / "hierarchy.csv").write_text("meter,parent\n" + "\n".join(rows) + "\n")
    return {"meters": "hierarchy.csv"}


def remainders(parent: str | None, meters: list[Meter]) -> dict[str, str]:
    """How wattcast's events are matched with the faults where ``parent`` has the other
    meters below it: its remainder's events are the main feed's (its own faults are of
    what no panel meters), and the main feed's own events, which also carry the panels'
    faults, match none (they still count in the clean load)."""
    from wattcast.events.hierarchy import remainder_name

    if parent not in [m.name for m in meters]:
        return {}
    return {remainder_name(parent): parent, parent: f"{parent}, with its panels"}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_site(folder: Path, sections: dict[str, dict[str, object]]) -> Path:
    """A site.toml, as a user writes one (`wattcast init` gives every option)."""
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(_paths(v))}" for key, v in options.items()]
        lines.append("")
    path = folder / "site.toml"
    path.write_text("\n".join(lines))
    return path


def cli(*args: str) -> str:
    """Run one wattcast command in this process; its output, or an error with it."""
    from wattcast.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    if code not in (0, None):
        raise RuntimeError(f"wattcast {' '.join(args)} exited {code}:\n{out.getvalue()}")
    return out.getvalue()


def replay(folder: str, nights: list[str], since: str) -> list[dict[str, object]]:
    """Replay the nights of one scenario; its listed events, each with the night it was
    first listed (``first_night``). Runs in a worker process."""
    warnings.simplefilter("ignore")
    site = str(Path(folder) / "site.toml")
    export = str(Path(folder) / "events.csv")
    first: dict[int, str] = {}
    events = pd.DataFrame()
    for night in nights:
        cli("run", "--config", site, "--as-of", night)
        cli("export", "--config", site, "--what", "anomalies", "--since", since, "--out", export)
        events = pd.read_csv(export)
        for event_id, status in zip(events["id"], events["status"], strict=True):
            if status in ("new", "alerted"):  # what a digest sends (never explained ones)
                first.setdefault(int(event_id), night)
    events["first_night"] = [first.get(int(i)) for i in events["id"]]
    return events.to_dict("records")


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (the warm-up nights every scenario starts from)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


# ---------------------------------------------------------------------------- events


@dataclass
class Event:
    meter: str
    start: pd.Timestamp  # local
    end: pd.Timestamp
    alerted_at: pd.Timestamp  # the night it was first alerted (local midnight)
    kwh: dict[str, float]
    kind: str = "excess"  # wattcast's event kind: "excess" (above the band), "change", "surge"


def wattcast_events(
    rows: Iterable[dict[str, object]], above: dict[str, str] | None = None
) -> list[Event]:
    """Alerted events from the export (those a night listed as new: its digest sent
    them), every ``kwh_*`` column read by name; one explained by another event since
    keeps its alert but adds no kWh (the other holds it). ``above`` renames meters for
    matching (:func:`remainders`)."""
    above = above or {}
    events = []
    for row in rows:
        first = row.get("first_night")
        if first is None or pd.isna(first):
            continue
        kwh = {k: float(v) for k, v in row.items() if k.startswith("kwh_") and pd.notna(v)}
        if row["status"] == "explained":
            kwh = dict.fromkeys(kwh, 0.0)
        events.append(
            Event(
                above.get(str(row["meter"]), str(row["meter"])),
                _local(row["start"]),
                _local(row["end"]),
                pd.Timestamp(str(row["first_night"])),
                kwh,
                str(row.get("kind") or "excess"),
            )
        )
    return events


def _local(text: object) -> pd.Timestamp:
    """A time as exported (the meter's local time with its offset), offset dropped."""
    return pd.Timestamp(str(text)[:19])


def slot_events(
    meter: Meter,
    values: np.ndarray,
    days: list[pd.Timestamp],
    thresholds: dict[str, object],
    k: float = SLOT_K,
    margin: float = SLOT_MARGIN,
) -> list[Event]:
    """Peer rule: a reading is flagged above the median of the same weekday and time of
    day over the 4 weeks before + k robust sigma (MAD x 1.4826), and ``margin`` (10 %)
    above that median; flagged readings joined and triaged with wattcast's thresholds."""
    span, table, per_day = _day_table(meter, values, days)
    history = np.stack([table[7 * (WEEKS - w) : len(table) - 7 * w] for w in range(1, WEEKS + 1)])
    judged = table[7 * WEEKS :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        enough = np.isfinite(history).sum(axis=0) >= 3
        median = np.nanmedian(history, axis=0)
        sigma = 1.4826 * np.nanmedian(np.abs(history - median), axis=0)
    limit = np.maximum(median + k * sigma, (1 + margin) * median)
    flagged = (judged > limit) & enough & np.isfinite(judged)
    times = span[7 * WEEKS * per_day :]
    above = meter.energy(np.where(flagged, judged - limit, 0.0)).ravel()
    over_median = meter.energy(np.where(flagged, judged - median, 0.0)).ravel()
    floors = _min_energy(meter, median, thresholds, per_day)
    return _join(meter.name, times, flagged.ravel(), above, over_median, meter.hours,
                 thresholds, floors)  # fmt: skip


def _min_energy(
    meter: Meter, expected: np.ndarray, thresholds: dict[str, object], per_day: int
) -> np.ndarray:
    """Per reading, the kWh an event it starts needs: wattcast's ``min_energy`` and
    ``min_energy_hours`` of the rule's expected use (its mean over the day)."""
    floor = float(thresholds["min_energy"])  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected_kw = meter.energy(np.nanmean(expected, axis=1)) / meter.hours
    hours = float(thresholds["min_energy_hours"])  # type: ignore[arg-type]
    per_day_floor = np.maximum(floor, np.nan_to_num(hours * expected_kw, nan=0.0))
    return np.repeat(per_day_floor, per_day)


def _join(
    name: str,
    times: pd.DatetimeIndex,
    flagged: np.ndarray,
    above: np.ndarray,
    over: np.ndarray,
    hours: float,
    thresholds: dict[str, object],
    min_energy: np.ndarray,
) -> list[Event]:
    """Flagged readings joined into events, alerted once they last ``min_duration`` and
    reach the ``min_energy`` of the reading that starts them (kWh above the limit)."""
    step = pd.Timedelta(hours=hours)
    gap = pd.Timedelta(str(thresholds["join_gap"]))
    min_duration = pd.Timedelta(str(thresholds["min_duration"]))
    events: list[Event] = []
    where = np.flatnonzero(flagged)
    if not len(where):
        return events
    breaks = np.flatnonzero(np.diff(where) * step - step > gap) + 1
    for run in np.split(where, breaks):
        start = times[run[0]]
        cumulative = np.cumsum(above[run])
        long_enough = (times[run] + step - start) >= min_duration
        ok = np.flatnonzero(long_enough & (cumulative >= min_energy[run[0]]))
        if not len(ok):
            continue
        alerted = times[run[ok[0]]].normalize() + DAY
        events.append(
            Event(
                name,
                start,
                times[run[-1]] + step,
                alerted,
                {
                    "kwh_above_limit": float(cumulative[-1]),
                    "kwh_above_median": float(over[run].sum()),
                },
            )
        )
    return events


def _day_table(
    meter: Meter, values: np.ndarray, days: list[pd.Timestamp]
) -> tuple[pd.DatetimeIndex, np.ndarray, int]:
    """The readings from 4 weeks before the judged days to their end, one row a day."""
    per_day = round(24 / meter.hours)
    first = days[0] - pd.Timedelta(weeks=WEEKS)
    span = pd.date_range(
        first, days[-1] + DAY, freq=pd.Timedelta(hours=meter.hours), inclusive="left"
    )
    table = meter.grid(values).reindex(span).to_numpy().reshape(-1, per_day)
    return span, table, per_day


def cusum_events(meter: Meter, values: np.ndarray, days: list[pd.Timestamp]) -> list[Event]:
    """Peer rule: CUSUM of daily energy against the median of the same weekday over the
    4 weeks before, standardised by its robust sigma (at least CUSUM_FLOOR of the
    median), k = 0.5, h = 5; one event per alarm, from the day the sum left zero."""
    _, table, per_day = _day_table(meter, values, days)
    complete = np.isfinite(table).mean(axis=1) >= 0.9
    daily = np.where(
        complete,
        meter.energy(
            np.nansum(table, axis=1) * per_day / np.maximum(np.isfinite(table).sum(axis=1), 1)
        ),
        np.nan,
    )
    events, total, onset = [], 0.0, None
    for i in range(7 * WEEKS, len(daily)):
        past = daily[[i - 7 * w for w in range(1, WEEKS + 1)]]
        past = past[np.isfinite(past)]
        if not np.isfinite(daily[i]) or len(past) < 3:
            continue
        median = float(np.median(past))
        sigma = max(
            1.4826 * float(np.median(np.abs(past - median))), CUSUM_FLOOR * abs(median), 1e-9
        )
        step = (daily[i] - median) / sigma - CUSUM_K
        if total == 0 and step > 0:
            onset, excess = i, 0.0
        total = max(0.0, total + step)
        if total > 0:
            excess += daily[i] - median
        if total > CUSUM_H:
            day = days[i - 7 * WEEKS]
            start = days[onset - 7 * WEEKS]  # type: ignore[operator]
            events.append(
                Event(meter.name, start, day + DAY, day + DAY, {"kwh_above_median": float(excess)})
            )
            total = 0.0
    return events


def match_slot_rule(
    meters: list[Meter],
    clean: Scenario,
    days: list[pd.Timestamp],
    thresholds: dict[str, object],
    target: float,
    meter_weeks: float,
) -> dict[str, float]:
    """The first step of SLOT_LADDER whose clean alert load is at most ``target``."""
    period = (days[0], days[-1] + DAY)
    for k, margin in SLOT_LADDER:
        events = [
            e
            for m in meters
            for e in slot_events(m, clean.values[m.name], days, thresholds, k, margin)
        ]
        load = sum(_overlaps(e, *period) for e in events) / meter_weeks
        if load <= target:
            break
    return {"k": k, "margin": margin, "clean_per_meter_week": round(load, 3)}


# ---------------------------------------------------------------------------- scoring


def _overlaps(event: Event, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    return event.start < end and event.end > start


def _overlaps_same_kind(clean: Event, event: Event) -> bool:
    """Whether a clean event is of the same meter and kind as ``event`` and overlaps it."""
    return (
        clean.meter == event.meter
        and clean.kind == event.kind
        and _overlaps(clean, event.start, event.end)
    )


def new_events(events: list[Event], clean: list[Event]) -> list[Event]:
    """Events the clean replay had not already alerted, each with its energy beyond the
    clean events it overlaps.

    An event is hidden by an overlapping clean event of the same meter and kind alerted
    no later than it. The kind matters for wattcast: a change the clean readings
    already have (use up 5 % on the reference for two weeks) does not tell anyone about
    a night of equipment left on within it, the excess event does; a change that only
    moved because of a fault is still the clean one. The night matters too: a change
    alerted days before the clean readings' own (use up 12 % since the creep began,
    where the clean readings rise 4 % a week later) told someone what they did not
    know; what the clean change holds is taken off its energy."""
    out = []
    for e in events:
        same = [c for c in clean if _overlaps_same_kind(c, e)]
        if any(c.alerted_at <= e.alerted_at for c in same):
            continue
        kwh = {k: max(v - sum(c.kwh.get(k, 0.0) for c in same), 0.0) for k, v in e.kwh.items()}
        out.append(replace(e, kwh=kwh))
    return out


def judge(faults: list[Fault], events: list[Event], clean: list[Event]) -> list[dict[str, object]]:
    """Per fault: found, days to its first alert, and the energy of the events found.

    An event that overlaps several faults (a change event spanning two nights of
    equipment left on) is shared among them in proportion to their injected
    energy, so that summing over faults counts each event's energy once."""
    fresh = new_events(events, clean)
    hits = {i: [e for e in fresh if e.meter == f.meter and _overlaps(e, f.start, f.end)]
            for i, f in enumerate(faults)}  # fmt: skip
    injected_hit: dict[int, float] = {}
    for i, found in hits.items():
        for e in found:
            injected_hit[id(e)] = injected_hit.get(id(e), 0.0) + faults[i].kwh
    rows = []
    for i, fault in enumerate(faults):
        days = [round(max((e.alerted_at - fault.start) / DAY, 0.0), 3) for e in hits[i]]
        kwh: dict[str, float] = {}
        for e in hits[i]:
            share = fault.kwh / injected_hit[id(e)] if injected_hit[id(e)] > 0 else 0.0
            for key, value in e.kwh.items():
                kwh[key] = round(kwh.get(key, 0.0) + share * value, 3)
        rows.append(
            fault.row()
            | {"found": bool(hits[i]), "days": min(days) if days else None, "attributed": kwh}
        )
    return rows


def summarise(rows: list[dict], clean: dict[str, list[Event]], meter_weeks: float) -> dict:
    """Per method, kind and size: share found, median days, kWh attributed / injected;
    per method the clean alert load."""
    out: dict[str, dict] = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        groups: dict[str, dict] = {}
        for kind in KINDS:
            for size in sorted({r["size"] for r in mine if r["kind"] == kind}):
                group = [r for r in mine if r["kind"] == kind and r["size"] == size]
                found = [r for r in group if r["found"]]
                days = [r["days"] for r in found]
                injected = sum(r["kwh"] for r in group)
                fields = sorted({k for r in group for k in r["attributed"]})
                groups[f"{kind}-{size:g}"] = {
                    "kind": kind,
                    "size": size,
                    "faults": len(group),
                    "found": len(found),
                    "share": round(len(found) / len(group), 3) if group else None,
                    "median_days": round(float(np.median(days)), 2) if days else None,
                    "within_3d": sum(d <= 3 for d in days),
                    "within_7d": sum(d <= 7 for d in days),
                    "kwh_injected": round(injected, 1),
                    "kwh_ratio": {
                        k: round(sum(r["attributed"].get(k, 0.0) for r in group) / injected, 3)
                        for k in fields
                    }
                    if injected
                    else {},
                }
        out[method] = {
            "clean_events": len(clean[method]),
            "clean_per_meter_week": round(len(clean[method]) / meter_weeks, 3),
            "groups": groups,
        }
    return out


# ---------------------------------------------------------------------------- run


def select(
    dataset: Dataset, days: list[pd.Timestamp], count: int | None, seed: int
) -> tuple[list[Meter], dict[str, Level], dict[str, str]]:
    """The meters benchmarked (a seeded sample of the eligible ones) and why others are not."""
    meters = dataset.load()
    levels = {m.name: Level.of(m, days[0]) for m in meters}
    skipped, eligible = {}, []
    for m in meters:
        judged = m.grid()[days[0] : days[-1] + DAY - pd.Timedelta(hours=m.hours) / 2]
        if levels[m.name].idle:
            skipped[m.name] = "idle before the judged nights"
        elif levels[m.name].mean < dataset.min_mean:
            skipped[m.name] = f"mean under {dataset.min_mean:g} {m.unit}"
        elif judged.isna().mean() > 0.1:
            skipped[m.name] = "over 10 % of the judged readings missing"
        else:
            eligible.append(m)
    count = count if count is not None else dataset.sample
    if count is not None and count < len(eligible):
        rng = np.random.default_rng(seed)
        picked = sorted(rng.choice(len(eligible), count, replace=False))
        eligible = [eligible[i] for i in picked]
    if dataset.history_days:
        since = days[0] - pd.Timedelta(days=dataset.history_days)
        for m in eligible:
            keep = m.local >= since
            m.local, m.original, m.values = m.local[keep], m.original[keep], m.values[keep]
    return eligible, levels, skipped


def run(name: str, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    dataset = DATASETS[name]
    days = judged_days(dataset, args.nights)
    meters, levels, skipped = select(dataset, days, args.meters, args.seed)
    kinds = {k: s for k, s in SIZES.items() if k in args.kinds}
    if args.sizes:
        kinds = {k: (args.sizes if KINDS[k] == "x p95" else s) for k, s in kinds.items()}
    if args.creep_sizes:
        kinds = {k: (args.creep_sizes if k == "creep" else s) for k, s in kinds.items()}
    parent = dataset.parent if args.hierarchy else None
    scenarios = plan(meters, levels, days, kinds, args.seed, parent)
    thresholds = THRESHOLDS | dict(dataset.site.get("alerts", {}))
    print(
        f"{name}: {len(meters)} meters, judged {days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}, "
        f"{len(scenarios)} scenarios; skipped: {skipped or 'none'}"
    )
    for scenario in scenarios[1:]:
        for f in scenario.faults:
            if f.size == max(kinds[f.kind]):
                print(f"  plan {f.kind:9} {f.meter:28} {f.start} .. {f.end}")

    work = Path(args.work) / name if args.work else Path(tempfile.mkdtemp(prefix="waste-"))
    if work.exists() and args.work:
        shutil.rmtree(work)
    since = days[0] - pd.Timedelta(days=dataset.history_days) if dataset.history_days else None
    site = {**{s: dict(o) for s, o in dataset.site.items()}}
    site["model"] = {**site.get("model", {}), "trees": args.trees, "n_jobs": 1}
    for setting in args.set:  # section.key=value, a TOML value: tuning without editing code
        key, _, value = setting.partition("=")
        section, _, option = key.strip().partition(".")
        site.setdefault(section, {})[option] = tomllib.loads(f"v = {value}")["v"]
    warmup = [f"{d:%Y-%m-%d}" for d in pd.date_range(end=days[0], periods=args.warmup)]
    nights = [f"{d + DAY:%Y-%m-%d}" for d in days]
    folders = {}
    for scenario in scenarios:
        folder = work / scenario.name
        data = write_scenario(dataset, meters, scenario.values, folder, since)
        place = write_hierarchy(parent, meters, folder)
        write_site(folder, {"data": data, **site, **({"site": place} if place else {}),
                            "store": {"path": "wattcast.db"}})  # fmt: skip
        folders[scenario.name] = folder
    # The warm-up nights read clean readings only (the faults start later): run once, copied.
    clock = time.perf_counter()
    replay(str(folders["clean"]), warmup, f"{days[0]:%Y-%m-%d}")
    for folder in folders.values():
        if folder != folders["clean"]:
            copy_store(folders["clean"] / "wattcast.db", folder / "wattcast.db")
    warm_s = time.perf_counter() - clock
    clock = time.perf_counter()
    order = sorted(scenarios, key=lambda s: s.kind != "creep")  # the longest first
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {
            s.name: pool.submit(replay, str(folders[s.name]), nights, f"{days[0]:%Y-%m-%d}")
            for s in order
        }
        listed = {key: future.result() for key, future in futures.items()}
    replay_s = time.perf_counter() - clock
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)

    by_meter = {m.name: m for m in meters}
    period = (days[0], days[-1] + DAY)
    # a remainder meter's alerts count as its main feed's (per meter-week of the site's
    # own meters: wattcast adds the remainder, the site has no more meters)
    above = remainders(parent, meters)
    meter_weeks = len(meters) * len(days) / 7
    clean_listed = wattcast_events(listed["clean"], above)
    target = sum(_overlaps(e, *period) for e in clean_listed) / meter_weeks
    matched = match_slot_rule(meters, scenarios[0], days, thresholds, target, meter_weeks)

    def slot(scenario: Scenario, k: float, margin: float) -> list[Event]:
        return [
            e
            for m in meters
            for e in slot_events(m, scenario.values[m.name], days, thresholds, k, margin)
        ]

    events: dict[str, dict[str, list[Event]]] = {}
    for scenario in scenarios:
        events[scenario.name] = {
            "wattcast": wattcast_events(listed[scenario.name], above),
            "slot rule": slot(scenario, SLOT_K, SLOT_MARGIN),
            "slot rule, matched": slot(scenario, matched["k"], matched["margin"]),
            "cusum": [e for m in meters for e in cusum_events(m, scenario.values[m.name], days)],
        }
    clean = {
        method: [e for e in events["clean"][method] if _overlaps(e, *period)] for method in METHODS
    }
    rows = []
    for scenario in scenarios[1:]:
        for method in METHODS:
            found = judge(scenario.faults, events[scenario.name][method], clean[method])
            rows += [r | {"method": method, "scenario": scenario.name} for r in found]
    result = {
        "dataset": name,
        "what": dataset.what,
        "meters": [m.name for m in meters],
        "units": sorted({by_meter[m.name].unit for m in meters}),
        "skipped": skipped,
        "judged": [f"{days[0]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}"],
        "nights": len(days),
        "warmup_nights": args.warmup,
        "trees": args.trees,
        "seed": args.seed,
        "settings": list(args.set),
        "hierarchy": parent,
        "thresholds": thresholds,
        "slot_rule_matched": matched,
        "threshold_note": THRESHOLD_NOTES.get(name, ""),
        "sizes": {k: list(v) for k, v in kinds.items()},
        "levels": {
            m.name: {
                "p95": round(levels[m.name].p95, 3),
                "mean": round(levels[m.name].mean, 3),
                "ramp": str(levels[m.name].ramp),
            }
            for m in meters
        },
        "summary": summarise(rows, clean, meter_weeks),
        "faults": rows,
        "clean_events": {
            method: [
                {
                    "meter": e.meter,
                    "start": str(e.start),
                    "end": str(e.end),
                    "kwh": {k: round(v, 2) for k, v in e.kwh.items()},
                }
                for e in clean[method]
            ]
            for method in METHODS
        },
        "wall_s": {
            "warmup": round(warm_s, 1),
            "replay": round(replay_s, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "jobs": args.jobs,
    }
    return result


# ---------------------------------------------------------------------------- output


def dump(result: dict) -> str:
    """The result as JSON: one line per fault and per clean event."""
    rows = ("faults", "clean_events")
    head = json.dumps({k: v for k, v in result.items() if k not in rows}, indent=1)[:-2]
    faults = ",\n".join("  " + json.dumps(r) for r in result["faults"])
    clean = ",\n".join(
        f"  {json.dumps(method)}: [\n" + ",\n".join("   " + json.dumps(e) for e in events) + "\n  ]"
        for method, events in result["clean_events"].items()
    )
    return f'{head},\n "faults": [\n{faults}\n ],\n "clean_events": {{\n{clean}\n }}\n}}\n'


def _ratio(group: dict) -> str:
    ratios = group["kwh_ratio"]
    return " / ".join(f"{ratios[k]:.2f}" for k in sorted(ratios)) if ratios else "n/a"


def table_lines(result: dict) -> list[str]:
    summary = result["summary"]
    lines = [
        "| fault | size | faults | "
        + " | ".join(f"{m}: found, days, kWh ratio" for m in METHODS)
        + " |",
        "|---|---:|---:|" + "---|" * len(METHODS),
    ]
    for key, group in summary["wattcast"]["groups"].items():
        cells = []
        for method in METHODS:
            g = summary[method]["groups"][key]
            days = "-" if g["median_days"] is None else f"{g['median_days']:.1f} d"
            cells.append(f"{g['found']}/{g['faults']} ({g['share']:.0%}), {days}, {_ratio(g)}")
        unit = KINDS[group["kind"]]
        lines.append(
            f"| {group['kind']} | {group['size']:g} {unit} | {group['faults']} | "
            + " | ".join(cells)
            + " |"
        )
    load = " | ".join(f"{summary[m]['clean_per_meter_week']:.2f}" for m in METHODS)
    lines.append(f"| clean: alerted events per meter-week | | | {load} |")
    return lines


def fields_line(result: dict) -> str:
    fields = {}
    for method in METHODS:
        names = sorted(
            {k for g in result["summary"][method]["groups"].values() for k in g["kwh_ratio"]}
        )
        fields[method] = " / ".join(names) or "none"
    return "kWh ratio fields: " + "; ".join(f"{m}: {f}" for m, f in fields.items()) + "."


def _saved() -> list[dict]:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("waste-*.json"))]
    order = list(DATASETS)
    return sorted(rows, key=lambda r: order.index(r["dataset"]) if r["dataset"] in order else 99)


def _matched_line(result: dict) -> str:
    m = result.get("slot_rule_matched")
    if not m:
        return ""
    return (
        f" Slot rule, matched: k = {m['k']:g}, {m['margin']:.0%} above the median "
        f"({m['clean_per_meter_week']:.2f} clean events per meter-week)."
    )


def _skipped(skipped: dict[str, str]) -> str:
    """Meters left out, by reason: named when few, counted when many."""
    reasons: dict[str, list[str]] = {}
    for meter, reason in skipped.items():
        reasons.setdefault(reason, []).append(meter)
    return ", ".join(
        f"{', '.join(f'`{m}`' for m in meters)} ({reason})"
        if len(meters) <= 3
        else f"{len(meters)} meters ({reason})"
        for reason, meters in reasons.items()
    )


def docs_section(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        wall = r["wall_s"]
        lines += [
            "",
            f"**{r['dataset']}** ({r['what']}): {len(r['meters'])} meters, judged "
            f"{r['judged'][0]} .. {r['judged'][1]} ({r['nights']} nights, {r['warmup_nights']} "
            f"warm-up), {r['trees']} trees, seed {r['seed']}; {wall['total']:.0f} s on "
            f"{r['jobs']} processes"
            + (f"; thresholds: {r['threshold_note']}" if r.get("threshold_note") else "")
            + (f"; settings: {', '.join(r['settings'])}" if r.get("settings") else "")
            + (f"; left out: {_skipped(r['skipped'])}" if r["skipped"] else "")
            + ".",
            "",
            *table_lines(r),
            "",
            fields_line(r) + _matched_line(r),
        ]
    return lines


TARGETS_BEGIN, TARGETS_END = "<!-- targets: made by bench/waste.py --docs -->", "<!-- /targets -->"


def _share(result: dict, method: str, key: str, counted: str = "found") -> str:
    group = result["summary"][method]["groups"].get(key)
    if not group or not group["faults"]:
        return "n/a"
    return f"{group[counted] / group['faults']:.0%}"


def _pooled(result: dict, method: str) -> tuple[float, dict[str, float]]:
    """Share of all faults found, and kWh attributed / injected over all faults."""
    rows = [r for r in result["faults"] if r["method"] == method]
    injected = sum(r["kwh"] for r in rows)
    fields = sorted({k for r in rows for k in r["attributed"]})
    ratios = {k: sum(r["attributed"].get(k, 0.0) for r in rows) / injected for k in fields}
    return sum(r["found"] for r in rows) / max(len(rows), 1), ratios


def targets_lines(results: list[dict]) -> list[str]:
    """The issue's targets, per dataset, for wattcast (and the peers' pooled figures)."""
    lines = [
        "| dataset | overnight 0.15 found (target 90 %) | weekend 0.15 found (90 %) | "
        "creep 0.10 within 3 d (all) | creep 0.05 within 7 d (all) | kWh attributed / "
        "injected, all faults (0.8-1.25) | clean events per meter-week (at most 1) | "
        "all faults found: wattcast / slot rule / slot rule, matched / cusum (clean load) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        _, ratios = _pooled(r, "wattcast")
        peers = []
        for method in METHODS:
            found, _ = _pooled(r, method)
            load = r["summary"][method]["clean_per_meter_week"]
            peers.append(f"{found:.0%} ({load:.2f})")
        lines.append(
            f"| {r['dataset']} | {_share(r, 'wattcast', 'overnight-0.15')} | "
            f"{_share(r, 'wattcast', 'weekend-0.15')} | "
            f"{_share(r, 'wattcast', 'creep-0.1', 'within_3d')} | "
            f"{_share(r, 'wattcast', 'creep-0.05', 'within_7d')} | "
            + (" / ".join(f"{v:.2f}" for v in ratios.values()) or "n/a")
            + f" | {r['summary']['wattcast']['clean_per_meter_week']:.2f} | "
            + " / ".join(peers)
            + " |"
        )
    return lines


def _replace(text: str, begin: str, end: str, lines: list[str]) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n".join(lines) + "\n" + text[stop:]


def draw(results: list[dict], chart: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in KINDS if any(k in r["sizes"] for r in results)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.2 * len(kinds), 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    styles = {
        "wattcast": ("C0", "o-"),
        "slot rule": ("C1", "s--"),
        "slot rule, matched": ("C3", "d-."),
        "cusum": ("C2", "^:"),
    }
    for ax, kind in zip(axes, kinds, strict=True):
        for method in METHODS:
            sizes = sorted(
                {
                    g["size"]
                    for r in results
                    for g in r["summary"][method]["groups"].values()
                    if g["kind"] == kind
                }
            )
            shares = []
            for size in sizes:
                groups = [
                    g
                    for r in results
                    for g in r["summary"][method]["groups"].values()
                    if g["kind"] == kind and g["size"] == size
                ]
                shares.append(
                    sum(g["found"] for g in groups) / max(sum(g["faults"] for g in groups), 1)
                )
            color, style = styles[method]
            ax.plot(sizes, shares, style, color=color, label=method)
        ax.set_title(kind)
        ax.set_xlabel(f"size ({KINDS[kind]})")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of faults found")
    axes[-1].legend(loc="lower right", fontsize=8)
    names = ", ".join(r["dataset"] for r in results)
    fig.suptitle(f"Faults found against their size ({names}; all faults pooled)", fontsize=10)
    fig.tight_layout()
    fig.savefig(chart, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        default="andover",
        help=f"one of {', '.join(DATASETS)}, comma-separated, all or none",
    )
    parser.add_argument("--meters", type=int, default=None, help="meters sampled (seeded)")
    parser.add_argument("--nights", type=int, default=None, help="judged nights (default all)")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--sizes", default=None, help="sizes of the x p95 kinds, e.g. 0.15,0.3")
    parser.add_argument("--creep-sizes", default=None, help="creep sizes (x mean), e.g. 0.1")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument(
        "--warmup",
        type=int,
        default=9,
        help="clean nights before the judged (as the backtest's warm-up)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="a site setting for every scenario, e.g. reference.surge_threshold=6",
    )
    parser.add_argument(
        "--hierarchy",
        action="store_true",
        help="list the other meters below the dataset's main feed (andover) and add their "
        "faults to it; its own faults are then of what no panel meters",
    )
    parser.add_argument("--jobs", type=int, default=2, help="replays run at once")
    parser.add_argument("--work", default=None, help="keep the scenario folders here")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--docs", action="store_true", help=f"rewrite {DOCS.name}, {CHART.name}")
    args = parser.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(args.kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; kinds: {', '.join(KINDS)}")
    for name in ("sizes", "creep_sizes"):
        text = getattr(args, name)
        setattr(args, name, tuple(float(s) for s in text.split(",")) if text else None)
    names = {"all": list(DATASETS), "none": []}.get(args.dataset, args.dataset.split(","))
    warnings.simplefilter("ignore")
    for name in names:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name!r}; datasets: {', '.join(DATASETS)}")
        result = run(name, args)
        print("\n".join(table_lines(result)))
        print(fields_line(result), f"wall {result['wall_s']}")
        if not args.no_save:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"waste-{name}.json").write_text(dump(result))
    if args.docs:
        results = _saved()
        text = _replace(DOCS.read_text(), BEGIN, END, docs_section(results))
        text = _replace(text, TARGETS_BEGIN, TARGETS_END, ["", *targets_lines(results)])
        DOCS.write_text(text)
        draw(results, CHART)
        print(f"wrote {DOCS} and {CHART}")


if __name__ == "__main__":
    main()
