"""Readings as they arrive: folders and globs of exports, the store's reading archive,
Green Button files."""

from __future__ import annotations

import json
import os
import re
import signal
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import kill_when_flagged, slow_second_batch, synthetic_wide, write_site

from wattcast.data.exports import RevisedReadingsWarning, UnreadFilesWarning, export_files
from wattcast.data.sources import is_export_set, load_meters, open_source
from wattcast.epoch import to_epoch
from wattcast.errors import InputError, SkippedColumnsWarning, ZoneWarning
from wattcast.settings import RunSpec
from wattcast.store.store import ForecastStore
from wattcast.workflows.pipeline import run_job

METERS = ["A (kW)", "B (kW)"]


def drop_export(folder: Path, table: pd.DataFrame, name: str, age: int = 0) -> Path:
    """Write one export, its modification time ``age`` seconds after a fixed start (the
    order exports are taken in)."""
    path = folder / name
    table.to_csv(path, index=False)
    os.utime(path, (1_600_000_000 + age, 1_600_000_000 + age))
    return path


def days_of(frame: pd.DataFrame) -> dict[object, pd.DataFrame]:
    return dict(list(frame.groupby(frame["timestamp"].dt.date)))


def site(folder: Path, source: Path, tz: str | None = None) -> RunSpec:
    folder.mkdir(exist_ok=True)
    return RunSpec.from_toml(write_site(folder, source.resolve(), tz=tz))


def stored(spec: RunSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = ForecastStore(spec.store.path)
    joined = store.forecasts_with_actuals().drop(columns=["run_id"], errors="ignore")
    return store.current_forecasts().drop(columns=["run_id"]), joined


@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_nights_from_a_rotated_folder_equal_nights_from_the_whole_file(
    tmp_path: Path, tz: str | None
) -> None:
    """Exports of one day each, deleted once taken in: every night forecasts, records
    actuals and events exactly as a night on the whole file up to that day."""
    frame = synthetic_wide(days=42, start="2021-10-20")  # across the clocks going back
    days = days_of(frame)
    order = list(days)
    exports, whole = tmp_path / "exports", tmp_path / "whole.csv"
    exports.mkdir()
    rotated, reference = (
        site(tmp_path / "rotated", exports, tz),
        site(tmp_path / "whole", whole, tz),
    )
    for night in range(35, 40):
        for k, day in enumerate(order[:night]):  # a day's export arrives once
            if not (tmp_path / "rotated" / f"taken-{day}").exists():
                drop_export(exports, days[day], f"export-{day}.csv", age=k)
        frame[frame["timestamp"] < pd.Timestamp(order[night])].to_csv(whole, index=False)
        a = run_job(rotated, "run")
        b = run_job(reference, "run")
        assert a.forecast_start == b.forecast_start
        for path in exports.iterdir():  # rotated away once taken in
            (tmp_path / "rotated" / f"taken-{path.stem.removeprefix('export-')}").touch()
            path.unlink()
    forecasts, joined = stored(rotated)
    expected, expected_joined = stored(reference)
    pd.testing.assert_frame_equal(forecasts, expected)
    pd.testing.assert_frame_equal(joined, expected_joined)
    assert len(joined) > 0  # the later nights recorded the actuals of the earlier ones
    record = ForecastStore(rotated.store.path).runs()
    assert len(record) == 5


def test_exports_sent_again_late_or_changed(tmp_path: Path) -> None:
    """A re-sent export is skipped by content (under any name); overlapping readings are
    taken once; a changed reading is kept with its old value as a revision; a late
    reading joins the history where it falls."""
    frame = synthetic_wide(days=40)
    days = days_of(frame)
    order = list(days)
    exports = tmp_path / "exports"
    exports.mkdir()
    for k, day in enumerate(order[:-2]):
        drop_export(exports, days[day], f"{day}.csv", age=k)
    spec = site(tmp_path / "site", exports)
    first = run_job(spec, "run").record["readings"]
    assert first["new"] == 38 * 96 * 2 and first["already"] == 0

    # the same content under another name, and an export of two days (one taken in
    # already, one reading of it corrected) overlapping the one before
    store = ForecastStore(spec.store.path)
    day37, day38 = days[order[37]].copy(), days[order[38]].copy()
    drop_export(exports, days[order[0]], "resent.csv", age=100)
    old_value = float(day37["A (kW)"].iloc[3])
    day37.loc[day37.index[3], "A (kW)"] = old_value + 10.0
    drop_export(exports, pd.concat([day37, day38]), "two-days.csv", age=101)
    second = run_job(spec, "run").record["readings"]
    assert second["already"] == 39  # the 38 days left in the folder and the re-sent one
    assert [t["name"].rsplit("/", 1)[-1] for t in second["taken"]] == ["two-days.csv"]
    assert second["new"] == 96 * 2 and second["revised"] == 1
    revisions = store.query("SELECT t, old, new FROM revisions")
    assert revisions["old"].tolist() == pytest.approx([old_value], rel=1e-12)  # CSV text
    assert revisions["new"].tolist() == pytest.approx([old_value + 10.0], rel=1e-12)
    times, values = store.archived(["A (kW)"])["A (kW)"]
    assert len(times) == 39 * 96 and np.all(np.diff(times) > 0)
    assert values[np.searchsorted(times, revisions["t"].iloc[0])] == old_value + 10.0

    # a backfill: a reading missing from the day it was exported with arrives later
    late = days[order[39]].copy()
    late.loc[late.index[:4], "B (kW)"] = np.nan  # the BMS had not sent them yet
    drop_export(exports, late, "day39.csv", age=102)
    run_job(spec, "run")
    drop_export(exports, days[order[39]].iloc[:4], "day39-backfill.csv", age=103)
    backfill = run_job(spec, "run").record["readings"]
    assert backfill["new"] == 4 and backfill["revised"] == 0
    times, values = store.archived(["B (kW)"])["B (kW)"]
    assert not np.isnan(values).any() and len(times) == 40 * 96


def test_a_night_without_new_readings_says_so_and_forecasts(tmp_path: Path, cli) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, synthetic_wide(days=40), "all.csv")
    config = write_site(tmp_path, exports.resolve())
    first = cli("run", "--config", config)
    assert first.exit_code == 0, first.output
    assert "readings: took in 1 of 1 export(s): 7680 new, 0 revised" in first.output
    again = cli("run", "--config", config)
    assert again.exit_code == 0, again.output
    assert "readings: no new readings since " in again.output
    assert "the latest reading is of 2021-02-12 23:45" in again.output
    since = again.stdout.split("no new readings since ")[1].split(" (")[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", since)  # no microseconds
    runs = ForecastStore(tmp_path / "site.db").runs()
    assert [r["status"] for r in runs] == ["ok", "ok"]


def test_a_bad_export_stops_the_night_and_keeps_those_taken_in(tmp_path: Path, cli) -> None:
    """Each export is taken in by its own transaction: the ones before a bad export are
    kept; once it is fixed, the next night takes only it."""
    frame = synthetic_wide(days=40)
    days = days_of(frame)
    exports = tmp_path / "exports"
    exports.mkdir()
    for k, day in enumerate(list(days)[:3]):
        drop_export(exports, days[day], f"{day}.csv", age=k)
    bad = exports / "day4.csv"
    bad.write_text("timestamp,A (kW),B (kW)\n2021-01-07 00:00,1,2\nyesterday,3,4\n")
    os.utime(bad, (1_600_000_100, 1_600_000_100))
    config = write_site(tmp_path, exports.resolve())
    result = cli("run", "--config", config)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {bad}, column 'timestamp'")
    assert "Traceback" not in result.output
    store = ForecastStore(tmp_path / "site.db")
    assert len(store.taken_exports()) == 3
    assert len(store.archived(["A (kW)"])["A (kW)"][0]) == 3 * 96
    bad.unlink()
    drop_export(exports, frame.iloc[3 * 96 :], "rest.csv", age=200)
    fixed = cli("run", "--config", config)
    assert fixed.exit_code == 0, fixed.output
    assert "took in 1 of 4 export(s): 7104 new, 0 revised, 3 export(s) taken in before" in (
        fixed.output
    )


def test_a_bad_first_export_leaves_no_store(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "day.csv").write_text("timestamp,A (kW)\nnot a time,1\n2021-01-01 00:15,2\n")
    spec = site(tmp_path / "site", exports)
    with pytest.raises(InputError, match=r"day\.csv, column 'timestamp', line 2"):
        run_job(spec, "run")
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["site.toml"]


def test_a_column_left_out_after_its_exports_were_taken_in_is_left_out(tmp_path: Path) -> None:
    """A first night refused for the outdoor temperature beside the meter had already taken
    the exports in; with `skip_columns` set it was refused again for the same column."""
    exports = tmp_path / "exports"
    exports.mkdir()
    table = synthetic_wide(days=20, meters=("Building 6 kW",))
    table["OAT"] = np.linspace(30.0, 60.0, len(table))
    for k, (_, day) in enumerate(days_of(table).items()):
        drop_export(exports, day, f"day-{k:02d}.csv", age=k)
    spec = site(tmp_path / "site", exports)
    with pytest.raises(InputError, match=r"meter 'OAT': its name says it holds 'oat'"):
        run_job(spec, "run")
    skipped = spec.with_flags({"data.skip_columns": ("OAT",)})
    done = run_job(skipped, "run")
    assert ForecastStore(spec.store.path).current_forecasts()["meter"].unique().tolist() == [
        "Building 6 kW"
    ]
    assert done.run_id is not None


def first_nights(tmp_path: Path) -> tuple[Path, list[pd.DataFrame], RunSpec]:
    """A folder of 18 daily exports (of 20 days made) and a store that took them in on the
    night of 2021-01-22."""
    exports = tmp_path / "exports"
    exports.mkdir()
    days = list(days_of(synthetic_wide(days=20)).values())
    for k, day in enumerate(days[:-2]):
        drop_export(exports, day, f"day-{k:02d}.csv", age=k)
    spec = site(tmp_path / "site", exports)
    run_job(spec, "run", "2021-01-22")
    return exports, days, spec


def test_a_meter_added_to_the_exports_before_it_reports_fails_alone(tmp_path: Path) -> None:
    """An export with a new meter's column still empty was taken in, and every later night
    stopped over it ('meter has no readings'), deleting the export or not."""
    exports, days, spec = first_nights(tmp_path)
    drop_export(exports, days[-2].assign(**{"N (kW)": np.nan}), "day-18.csv", age=18)
    for night in ("2021-01-23", "2021-01-24"):
        summary = run_job(spec, "run", night)
        assert list(summary.failed) == ["N (kW)"] and "no readings" in summary.failed["N (kW)"]
    current = ForecastStore(spec.store.path).current_forecasts()
    assert set(current["meter"]) == set(METERS)
    assert pd.to_datetime(current["t"], unit="s").max() >= pd.Timestamp("2021-01-25")
    # left out by name, on a new store: the exports before it came have no such column
    skipping = site(tmp_path / "other", exports).with_flags({"data.skip_columns": ("N (kW)",)})
    assert run_job(skipping, "run", "2021-01-24").failed == {}


def test_an_export_still_being_written_is_left_for_the_next_night(tmp_path: Path) -> None:
    """Read while it was being copied, an export's last number cut short (272.1 -> 2) was
    taken in as a reading."""
    from wattcast.workflows.ingest import UnfinishedExportWarning

    exports, days, spec = first_nights(tmp_path)
    whole = days[-2].to_csv(index=False)
    cut = whole[: whole.rindex(",") + 2]  # the last row's last number: its first digit
    (exports / "day-18.csv").write_text(cut)  # written just now, no line end
    with pytest.warns(UnfinishedExportWarning, match=r"day-18\.csv: left for the next night"):
        summary = run_job(spec, "run", "2021-01-23")
    assert summary.record["readings"]["taken"] == []
    store = ForecastStore(spec.store.path)
    assert len(store.taken_exports()) == 18
    (exports / "day-18.csv").write_text(whole)  # the copy finished
    done = run_job(spec, "run", "2021-01-23")
    assert [t["name"] for t in done.record["readings"]["taken"]] == [str(exports / "day-18.csv")]


def test_files_of_the_exports_folder_in_no_format_read_are_said(tmp_path: Path) -> None:
    """A workbook saved among the CSV exports was left aside without a word, the night and
    a read without a store alike; hidden files and a system's are no exports."""
    exports, _, spec = first_nights(tmp_path)
    (exports / "day-18.xlsx").write_bytes(b"PK\x03\x04 a workbook")
    (exports / "sub").mkdir()
    (exports / "sub" / "notes").write_text("read me")
    (exports / ".~lock.day-18.xlsx#").write_text("lock")
    for system in ("Thumbs.db", "desktop.ini", "~$day-18.xlsx"):  # a Windows share's own
        (exports / system).write_bytes(b"\x00 system")
    said = (rf"^{exports}: 2 file\(s\) left aside, in no format wattcast reads \(the first: "
            r"day-18\.xlsx and 1 more\); expected CSV \(\.csv, \.csv\.gz\), Parquet \(\.parquet\) "
            r"or Green Button \(\.xml\) exports \(save a workbook as CSV\)\.$")  # fmt: skip
    with pytest.warns(UnreadFilesWarning, match=said):
        run_job(spec, "run", "2021-01-23")
    with pytest.warns(UnreadFilesWarning, match=said):
        load_meters(exports)


def test_excels_lock_of_an_open_export_is_not_an_export(tmp_path: Path) -> None:
    """Excel keeps `~$day-17.csv` beside a CSV it has open: the lock was taken for an
    export, left for the next night as 'still being written?' and refused there as a
    table with a header of its owner's name; a read of the folder refused it at once."""
    exports, _, spec = first_nights(tmp_path)
    lock = b"\x05alice" + b" " * 48 + "alice".encode("utf-16-le") + b"\x20\x00" * 50
    (exports / "~$day-17.csv").write_bytes(lock)
    summary = run_job(spec, "run", "2021-01-23")
    assert summary.exit_code == 0 and summary.record["readings"]["exports"] == 18
    assert not any(p.name.startswith("~$") for p in export_files(exports))
    assert load_meters(exports).meters == tuple(METERS)


def test_a_sync_tools_old_versions_in_a_hidden_folder_are_not_exports(tmp_path: Path) -> None:
    """Syncthing keeps the versions a file replaced in `.stversions/` of the folder: they
    were taken in as exports, the readings of a day revised back to an older export's."""
    exports, days, spec = first_nights(tmp_path)
    old = days[3].assign(**{m: 0.0 for m in METERS})  # an earlier version of day 3
    (exports / ".stversions").mkdir()
    drop_export(exports / ".stversions", old, "day-03~20210104-000000.csv", age=19)
    before = ForecastStore(spec.store.path).archived(METERS)
    record = run_job(spec, "run", "2021-01-23").record["readings"]
    assert record["exports"] == 18 and record["revised"] == 0 and record["new"] == 0
    after = ForecastStore(spec.store.path).archived(METERS)
    for meter in METERS:
        np.testing.assert_array_equal(after[meter][1], before[meter][1])


@pytest.mark.parametrize("folder", ["#recycle", "$RECYCLE.BIN", "@eaDir"])
def test_a_shares_recycle_bin_and_index_folders_are_not_exports(
    tmp_path: Path, folder: str
) -> None:
    """A NAS keeps deleted files in `#recycle/` of the share (Windows in `$RECYCLE.BIN`),
    and its index of each file in `@eaDir/`: a deleted old export was taken in, revising
    its day back to its readings, and the index's files named as unread every night."""
    import warnings

    exports, days, spec = first_nights(tmp_path)
    (exports / folder).mkdir()
    old = days[3].assign(**{m: 0.0 for m in METERS})  # a deleted, earlier version of day 3
    drop_export(exports / folder, old, "day-03.csv", age=0)
    (exports / folder / "SYNOINDEX_MEDIA_INFO").write_text("index")
    before = ForecastStore(spec.store.path).archived(METERS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreadFilesWarning)
        record = run_job(spec, "run", "2021-01-23").record["readings"]
    assert record["exports"] == 18 and record["revised"] == 0 and record["new"] == 0
    after = ForecastStore(spec.store.path).archived(METERS)
    for meter in METERS:
        np.testing.assert_array_equal(after[meter][1], before[meter][1])


def test_a_compressed_export_named_as_text_is_refused_at_once(tmp_path: Path) -> None:
    """gzip bytes under a .csv name end in no line end: just written, the export was left
    for the next night as 'still being written?', and refused only then."""
    import gzip

    exports, days, spec = first_nights(tmp_path)
    (exports / "day-18.csv").write_bytes(gzip.compress(days[-2].to_csv(index=False).encode()))
    with pytest.raises(InputError, match=r"day-18\.csv: gzip data in a file named \.csv; name "
                       r"it \.csv\.gz \(or unpack it\)\.$"):  # fmt: skip
        run_job(spec, "run", "2021-01-23")


def test_a_zipped_export_is_read_as_the_refusal_of_one_named_csv_says(tmp_path: Path) -> None:
    """A zip archive named .csv was refused with 'name it .csv.zip', and then, so named, left
    aside every night as in no format read; a single .csv.zip file of semicolons was sniffed
    in its compressed bytes and refused for fields more than its header."""
    import zipfile

    exports, days, spec = first_nights(tmp_path)
    text = days[-2].to_csv(index=False, sep=";", decimal=",")
    with zipfile.ZipFile(exports / "day-18.csv", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("day-18.csv", text)
    with pytest.raises(InputError, match=r"day-18\.csv: a zip archive data in a file named "
                       r"\.csv; name it \.csv\.zip \(or unpack it\)\.$"):  # fmt: skip
        run_job(spec, "run", "2021-01-23")
    (exports / "day-18.csv").rename(exports / "day-18.csv.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreadFilesWarning)
        run_job(spec, "run", "2021-01-23")
    kept = ForecastStore(spec.store.path).archived(METERS)["A (kW)"]
    day = to_epoch(pd.DatetimeIndex(days[-2]["timestamp"]))
    np.testing.assert_allclose(kept[1][np.isin(kept[0], day)], days[-2]["A (kW)"], atol=1e-9)
    with zipfile.ZipFile(tmp_path / "two.csv.zip", "w") as archive:
        archive.writestr("a.csv", text)
        archive.writestr("b.csv", text)
    with pytest.raises(InputError, match=r"two\.csv\.zip: a zip archive of 2 files; expected "
                       r"one table in it \(or unpack it\)\.$"):  # fmt: skip
        load_meters(tmp_path / "two.csv.zip")


def test_a_meter_keeps_the_zone_its_readings_were_taken_in_with(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, synthetic_wide(days=40), "all.csv")
    spec = site(tmp_path / "site", exports, tz="Europe/Paris")
    run_job(spec, "run")
    moved = spec.with_flags({"data.tz": "America/New_York"})
    wall = r"meter 'A \(kW\)' has readings in .* on the wall clock of Europe/Paris, but"
    with pytest.raises(InputError, match=wall + " the settings now give it America/New_York"):
        run_job(moved, "run")


def test_exports_keep_how_the_archive_read_their_times(tmp_path: Path) -> None:
    """`[data] stamps` set after exports were taken in read the new ones an interval off
    the archived ones, replacing the boundary readings unsaid: refused; an export already
    taken, or none new, is no reason to refuse."""
    exports = tmp_path / "exports"
    exports.mkdir()
    frame = synthetic_wide(days=41)
    drop_export(exports, frame.iloc[: 40 * 96], "first.csv")
    spec = site(tmp_path / "site", exports)
    run_job(spec, "run")
    ends = spec.with_flags({"data.stamps": "end"})
    assert run_job(ends, "run").run_id is not None  # nothing new: nothing read
    drop_export(exports, frame.iloc[40 * 96 :], "second.csv", age=1)
    with pytest.raises(InputError, match=r"site\.db: its archived readings were read with "
                       r'`\[data\] stamps = "auto"`, the settings now say "end"; expected the '
                       r"setting as it was, or a new store \(its exports are then all read "
                       r"again with the new one\)\.$"):  # fmt: skip
        run_job(ends, "run")
    assert ForecastStore(spec.store.path).read_with({"stamps": "end"})["stamps"] == "auto"
    with pytest.raises(InputError, match=r'`\[data\] naive = "local"`, the settings now say "utc"'):
        run_job(spec.with_flags({"data.naive": "utc"}), "run")
    assert run_job(spec, "run").run_id is not None


def test_exports_without_a_store_are_read_together(tmp_path: Path) -> None:
    """A glob of overlapping exports in several formats reads as the whole file does; where
    two exports disagree the later one is used, with a warning."""
    frame = synthetic_wide(days=10)
    whole = load_meters(_written(tmp_path / "whole.csv", frame))
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, frame.iloc[:500], "a.csv", age=0)
    long = frame.iloc[400:].melt("timestamp", var_name="meter", value_name="value")
    long.to_parquet(exports / "b.parquet")
    os.utime(exports / "b.parquet", (1_600_000_001, 1_600_000_001))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        together = load_meters(exports / "*.*")
    np.testing.assert_array_equal(together.values, whole.values)
    assert together.start == whole.start and together.meters == whole.meters

    changed = frame.iloc[450:460].copy()
    changed["A (kW)"] += 1.0
    drop_export(exports, changed, "c.csv", age=2)
    with pytest.warns(RevisedReadingsWarning, match="10 reading\\(s\\) differ between exports"):
        later = load_meters(exports)
    assert later.values[450, 0] == frame["A (kW)"].iloc[450] + 1.0


def test_a_folder_is_told_by_its_content(tmp_path: Path) -> None:
    frame = synthetic_wide(days=10).melt("timestamp", var_name="meter", value_name="value")
    partitions, daily = tmp_path / "partitions", tmp_path / "daily"
    partitions.mkdir()
    daily.mkdir()
    for k, (_, rows) in enumerate(frame.groupby("meter")):  # each meter in a file of its own
        rows.to_parquet(partitions / f"part-{k}.parquet")
    for day, rows in frame.groupby(frame["timestamp"].dt.date):  # every meter in each file
        rows.to_parquet(daily / f"{day}.parquet")
    (partitions / "meters.csv").write_text("meter,zone\n")
    assert not is_export_set(partitions) and is_export_set(daily)
    assert type(open_source(partitions)).__name__ == "ParquetDataset"
    a, b = load_meters(partitions), load_meters(daily)
    np.testing.assert_array_equal(a.values, b.values)
    assert is_export_set(tmp_path / "daily" / "*.parquet")
    assert not is_export_set(_written(tmp_path / "one.csv", synthetic_wide(days=2)))


def _written(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


# -- Green Button ------------------------------------------------------------------------
def green_button(
    path: Path, readings: list[tuple[int, int]], multiplier: int = 0, uom: int = 72,
    title: str = "Main house",
) -> Path:  # fmt: skip
    """A Green Button ("Download My Data") file as utilities write it: an Atom feed whose
    entries are a UsagePoint (its title names the meter), a MeterReading linked to its
    ReadingType (unit and power of ten of the values) and an IntervalBlock of
    IntervalReadings (start in epoch seconds, duration, value), tied by their hrefs."""
    base = "https://utility.example/DataCustodian/espi/1_1/resource"
    point = f"{base}/RetailCustomer/9/UsagePoint/1"
    intervals = "".join(
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration>"
        f"<espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value>"
        "</espi:IntervalReading>"
        for start, value in readings
    )
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
  <id>urn:uuid:0</id><title>Green Button Usage Feed</title>
  <entry><id>urn:uuid:1</id><title>{title}</title>
    <link rel="self" href="{point}"/>
    <content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind>
    </espi:ServiceCategory></espi:UsagePoint></content></entry>
  <entry><id>urn:uuid:2</id>
    <link rel="self" href="{point}/MeterReading/1"/>
    <link rel="up" href="{point}/MeterReading"/>
    <link rel="related" href="{base}/ReadingType/7"/>
    <content><espi:MeterReading/></content></entry>
  <entry><id>urn:uuid:3</id>
    <link rel="self" href="{base}/ReadingType/7"/>
    <content><espi:ReadingType><espi:accumulationBehaviour>4</espi:accumulationBehaviour>
      <espi:flowDirection>1</espi:flowDirection><espi:intervalLength>900</espi:intervalLength>
      <espi:powerOfTenMultiplier>{multiplier}</espi:powerOfTenMultiplier>
      <espi:uom>{uom}</espi:uom></espi:ReadingType></content></entry>
  <entry><id>urn:uuid:4</id>
    <link rel="self" href="{point}/MeterReading/1/IntervalBlock/1"/>
    <link rel="up" href="{point}/MeterReading/1/IntervalBlock"/>
    <content><espi:IntervalBlock>{intervals}</espi:IntervalBlock></content></entry>
</feed>
""")
    return path


def test_a_green_button_file_is_read_as_kwh_per_interval(tmp_path: Path) -> None:
    start = 1_609_459_200  # 2021-01-01 00:00 UTC
    path = green_button(tmp_path / "usage.xml",
                        [(start + 900 * k, 250 + k) for k in range(8)], multiplier=-1)  # fmt: skip
    frame = load_meters(path, tz="America/New_York")
    assert frame.meters == ("Main house (kWh)",)
    assert frame.start == pd.Timestamp("2020-12-31 19:00")  # the site's wall clock
    np.testing.assert_allclose(frame.values[:, 0], [(250 + k) / 10 / 1000 for k in range(8)])


def test_green_button_energy_sent_to_the_grid_is_not_read_as_use(tmp_path: Path) -> None:
    """Net metering's second MeterReading (flowDirection 19: the solar sent to the grid)
    was read as a meter of use: a sunny day's export forecast and judged as a load."""
    start = 1_609_459_200
    path = green_button(tmp_path / "usage.xml", [(start + 900 * k, 250) for k in range(8)])
    base = "https://utility.example/DataCustodian/espi/1_1/resource"
    point = f"{base}/RetailCustomer/9/UsagePoint/1"
    sent = "".join(
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>"
        f"{start + 900 * k}</espi:start></espi:timePeriod><espi:value>90</espi:value>"
        "</espi:IntervalReading>" for k in range(8))  # fmt: skip
    more = f"""
  <entry><link rel="self" href="{point}/MeterReading/2"/>
    <link rel="related" href="{base}/ReadingType/8"/><content><espi:MeterReading/></content>
  </entry>
  <entry><link rel="self" href="{base}/ReadingType/8"/><content><espi:ReadingType>
    <espi:flowDirection>19</espi:flowDirection><espi:uom>72</espi:uom></espi:ReadingType>
  </content></entry>
  <entry><link rel="self" href="{point}/MeterReading/2/IntervalBlock/1"/>
    <content><espi:IntervalBlock>{sent}</espi:IntervalBlock></content></entry>
</feed>
"""
    path.write_text(path.read_text().replace("</feed>", more))
    with pytest.warns(SkippedColumnsWarning, match=(
        rf"^{path}, entry 6 \(ReadingType\): flowDirection 19 \(energy sent to the grid\) for "
        r"meter 'Main house 2 \(kWh\)': left aside; wattcast forecasts the energy delivered\.$"
    )):  # fmt: skip
        frame = load_meters(path, tz="UTC")
    assert frame.meters == ("Main house 1 (kWh)",)
    np.testing.assert_allclose(frame.values[:, 0], 0.25)
    alone = green_button(tmp_path / "sent.xml", [(start + 900 * k, 90) for k in range(8)])
    alone.write_text(alone.read_text().replace("<espi:flowDirection>1<", "<espi:flowDirection>19<"))
    with pytest.raises(InputError, match=(
        r"entry 3 \(ReadingType\): flowDirection 19 \(energy sent to the grid\) for meter "
        r"'Main house \(kWh\)'; expected readings of energy delivered to the site "
        r"\(flowDirection 1\), the use wattcast forecasts\.$"
    )):  # fmt: skip
        load_meters(alone, tz="UTC")


def test_green_button_exports_are_taken_in_night_by_night(tmp_path: Path) -> None:
    start = 1_609_459_200
    day = 96 * 900
    rng = np.random.default_rng(3)
    exports = tmp_path / "exports"
    exports.mkdir()
    values = rng.integers(100, 900, size=40 * 96)
    for k in range(40):
        path = green_button(exports / f"day{k:02d}.xml",
                            [(start + k * day + 900 * j, int(values[k * 96 + j]))
                             for j in range(96)])  # fmt: skip
        os.utime(path, (1_600_000_000 + k, 1_600_000_000 + k))
    spec = site(tmp_path / "site", exports, tz="UTC")
    summary = run_job(spec, "run")
    assert summary.record["readings"]["new"] == 40 * 96 and not summary.failed
    times, kept = ForecastStore(spec.store.path).archived(["Main house (kWh)"])["Main house (kWh)"]
    np.testing.assert_allclose(kept, values / 1000)
    assert times[0] == start


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not xml at all", r"not a readable Green Button \(ESPI\) file"),
        ('<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "b">]><feed/>', "declares a DTD"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'></feed>", "no IntervalBlock entries"),
    ],
)
def test_a_file_that_is_no_green_button_is_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "usage.xml"
    path.write_text(content)
    with pytest.raises(InputError, match=expected) as caught:
        load_meters(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_green_button_in_another_unit_or_with_a_bad_reading_is_refused(tmp_path: Path) -> None:
    gas = green_button(tmp_path / "gas.xml", [(1_609_459_200, 5)], uom=169)
    with pytest.raises(InputError, match="entry 3 \\(ReadingType\\): uom 169 is not energy"):
        load_meters(gas)
    therms = green_button(tmp_path / "therms.xml", [(1_609_459_200, 5)])
    therms.write_text(therms.read_text().replace("<espi:kind>0<", "<espi:kind>1<")
                      .replace("<espi:uom>72</espi:uom>", ""))  # fmt: skip
    with pytest.raises(InputError, match=r"entry 1 \(UsagePoint\): ServiceCategory kind 1 "
                       r"\(gas\); expected kind 0 \(electricity\)"):  # fmt: skip
        load_meters(therms)
    combined = green_button(tmp_path / "both.xml", [(1_609_459_200 + 900 * k, 5) for k in range(4)])
    gas_point = (
        "<entry><title>Gas</title><link rel='self' href='https://utility.example/"
        "UsagePoint/2'/><content><espi:UsagePoint><espi:ServiceCategory><espi:kind>1"
        "</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>"
    )
    combined.write_text(combined.read_text().replace("</feed>", gas_point + "</feed>"))
    assert load_meters(combined, tz="UTC").meters == ("Main house (kWh)",)
    broken = green_button(tmp_path / "broken.xml", [(1_609_459_200, 5)])
    broken.write_text(broken.read_text().replace("<espi:value>5<", "<espi:value>five<"))
    with pytest.raises(InputError, match="IntervalReading 1: value 'five'"):
        load_meters(broken)
    broken.write_text(broken.read_text().replace("<espi:value>five</espi:value>", ""))
    with pytest.raises(InputError, match="IntervalReading 1: no value; expected epoch seconds"):
        load_meters(broken)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("<espi:powerOfTenMultiplier>0<", "<espi:powerOfTenMultiplier>400<"),
         r"entry 3 \(ReadingType\): powerOfTenMultiplier '400'; expected a whole number "
         r"from -12 to 12"),
        (("<espi:start>1609459200<", "<espi:start>1609459200000<"),
         r"IntervalReading 1: timePeriod start 1609459200000; expected epoch seconds of "
         r"1970 \.\. 2106 \(milliseconds\?\)\.$"),
    ],
)  # fmt: skip
def test_green_button_numbers_beyond_their_range_are_refused(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    """A power of ten of 400 overflowed, and starts in milliseconds failed deep inside."""
    path = green_button(tmp_path / "usage.xml", [(1_609_459_200, 5)])
    path.write_text(path.read_text().replace(*change))
    with pytest.raises(InputError, match=expected):
        load_meters(path, tz="UTC")


def test_two_usage_points_of_one_title_are_two_meters(tmp_path: Path) -> None:
    """Two homes both titled "Home" were one meter whose readings jumped at the join."""
    start = 1_609_459_200
    first = green_button(tmp_path / "a.xml", [(start + 900 * k, 1000) for k in range(4)],
                         title="Home").read_text()  # fmt: skip
    second = green_button(tmp_path / "b.xml", [(start + 900 * k, 5) for k in range(4)],
                          title="Home").read_text()  # fmt: skip
    entries = second[second.index("<entry>") : second.index("</feed>")]
    entries = entries.replace("UsagePoint/1", "UsagePoint/2").replace("ReadingType/7",
                                                                      "ReadingType/8")  # fmt: skip
    path = tmp_path / "both.xml"
    path.write_text(first.replace("</feed>", entries + "</feed>"))
    frame = load_meters(path, tz="UTC")
    assert frame.meters == ("Home (UsagePoint 1) (kWh)", "Home (UsagePoint 2) (kWh)")
    np.testing.assert_allclose(frame.values, [[1.0, 0.005]] * 4)


def test_green_button_read_without_a_zone_says_it_is_on_the_utc_clock(tmp_path: Path) -> None:
    """Its starts are instants: without a zone a Pacific home's mornings were read as
    afternoons, without a word."""
    path = green_button(tmp_path / "usage.xml", [(1_609_459_200 + 900 * k, 5) for k in range(4)])
    local = (
        "<entry><link rel='self' href='https://utility.example/LocalTimeParameters/1'/>"
        "<content><espi:LocalTimeParameters><espi:tzOffset>-28800</espi:tzOffset>"
        "</espi:LocalTimeParameters></content></entry></feed>"
    )
    path.write_text(path.read_text().replace("</feed>", local))
    with pytest.warns(ZoneWarning, match=(
        r"usage\.xml: Green Button readings are stamped in UTC and no zone was given, so "
        r"they are read on the UTC clock \(its LocalTimeParameters put the site at UTC-8 h\); "
        r"give the site's zone"
    )):  # fmt: skip
        assert load_meters(path).start == pd.Timestamp("2021-01-01 00:00")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZoneWarning)
        assert load_meters(path, tz="America/Los_Angeles").start == pd.Timestamp("2020-12-31 16:00")


def test_a_schema_3_store_gains_an_empty_archive(tmp_path: Path) -> None:
    import sqlite3

    from conftest import as_schema_3

    from wattcast.store.connection import StoreMigratedWarning
    from wattcast.store.schema import SCHEMA_VERSION

    spec = site(tmp_path / "site", _written(tmp_path / "whole.csv", synthetic_wide(days=40)))
    run_job(spec, "run", "2021-02-01")
    with sqlite3.connect(spec.store.path) as db:  # the store as the previous release wrote it
        as_schema_3(db)
    with pytest.warns(StoreMigratedWarning, match=f"upgraded from schema 3 to {SCHEMA_VERSION}"):
        store = ForecastStore(spec.store.path)
    assert store.taken_exports() == set() and store.archived_meters() == {}
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, synthetic_wide(days=41), "all.csv")
    later = run_job(spec.with_flags({"data.source": str(exports)}), "run")
    assert later.record["readings"]["new"] == 41 * 96 * 2 and len(store.runs()) == 2


def slow_second_export(stops: bool = False) -> str:
    """A script that runs the night of the site file ``argv[1]`` and, with its second
    export half taken in (its transaction open), touches ``argv[2]`` and waits
    (``stops``: under the command line's handling of Ctrl-C and SIGTERM)."""
    night = 'run_job(RunSpec.from_toml(sys.argv[1]), "run")'
    if stops:
        night = f"from wattcast.cli.stopping import stop_signals\nwith stop_signals():\n    {night}"
    return f"""
import sys, time
from pathlib import Path
from wattcast.settings import RunSpec
from wattcast.store import readings
from wattcast.workflows.pipeline import run_job

original = readings.ReadingArchive._take_meter
def slow(self, db, export_id, *args):
    counts = original(self, db, export_id, *args)
    if export_id == 2:
        Path(sys.argv[2]).touch()   # the second export is half written, its transaction open
        time.sleep(60)
    return counts
readings.ReadingArchive._take_meter = slow
{night}
"""


def daily_exports(tmp_path: Path) -> tuple[pd.DataFrame, RunSpec]:
    """40 days of two meters, an export a day in ``exports/``, and a site reading them."""
    frame = synthetic_wide(days=40)
    exports = tmp_path / "exports"
    exports.mkdir()
    for k, day in enumerate(days_of(frame)):
        drop_export(exports, days_of(frame)[day], f"{day}.csv", age=k)
    return frame, site(tmp_path / "site", exports)


def test_a_night_killed_while_taking_exports_in_keeps_those_it_took(tmp_path: Path) -> None:
    import sqlite3

    frame, spec = daily_exports(tmp_path)
    flag = tmp_path / "writing"
    kill_when_flagged(tmp_path / "killer.py", slow_second_export(),
                      [tmp_path / "site" / "site.toml", flag], flag,
                      "the night never reached its second export")  # fmt: skip
    with sqlite3.connect(spec.store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = ForecastStore(spec.store.path)
    assert len(store.taken_exports()) == 1  # the first export, whole; nothing of the second
    assert {m: len(t) for m, (t, _) in store.archived(METERS).items()} == dict.fromkeys(METERS, 96)
    again = run_job(spec, "run").record["readings"]
    assert again["already"] == 1 and again["new"] == 39 * 96 * 2
    times, values = store.archived(["B (kW)"])["B (kW)"]
    np.testing.assert_array_equal(values, frame["B (kW)"].to_numpy())
    np.testing.assert_array_equal(times, to_epoch(frame["timestamp"]))


def test_a_night_stopped_while_taking_exports_in_is_recorded_interrupted(
    tmp_path: Path, cli
) -> None:
    """SIGTERM while the exports were taken in left no run at all: history showed no
    night, though it had taken exports in."""
    _, spec = daily_exports(tmp_path)
    flag = tmp_path / "writing"
    code = kill_when_flagged(tmp_path / "stopped.py", slow_second_export(stops=True),
                             [tmp_path / "site" / "site.toml", flag], flag,
                             "the night never reached its second export",
                             signum=signal.SIGTERM)  # fmt: skip
    assert code != 0
    listed = cli("history", "--config", tmp_path / "site" / "site.toml", "--format", "json")
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "interrupted" and run["message"] == (
        "stopped by SIGTERM while taking exports in (1 taken in, 39 of 40 still to take in); "
        "the next night takes them in"
    )
    again = run_job(spec, "run").record["readings"]
    assert again["already"] == 1 and again["new"] == 39 * 96 * 2


def test_a_night_resumed_after_a_stop_keeps_the_exports_its_first_try_took_in(
    tmp_path: Path,
) -> None:
    """The resumed night's record said it took no export in: its first try had."""
    _, spec = daily_exports(tmp_path)
    flag = tmp_path / "writing"
    kill_when_flagged(tmp_path / "stopped.py", slow_second_batch("2021-02-10", stops=True),
                      [tmp_path / "site" / "site.toml", flag], flag,
                      "the night never wrote its second batch", signum=signal.SIGTERM)  # fmt: skip
    resumed = run_job(spec.with_flags({"model.batch_meters": "1"}), "run", "2021-02-10")
    run = ForecastStore(spec.store.path).run(resumed.run_id)
    readings = json.loads(run["record"])["readings"]
    assert len(readings["taken"]) == 40 and readings["already"] == 0
    assert readings["new"] == 40 * 96 * 2


def test_a_named_site_forecasting_some_meters_of_its_exports_runs_every_night(
    tmp_path: Path,
) -> None:
    """Exports are taken in whole, with no site: a meter taken in but never forecast is
    no other site's, so a named site listing some meters of its exports runs."""
    frame = synthetic_wide(days=40, meters=("a1 (kW)", "a2 (kW)", "a3 (kW)"))
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, frame, "export.csv")
    spec = site(tmp_path / "site", exports).with_flags(
        {"site.name": "North School", "data.meters": ["a1 (kW)", "a2 (kW)"]})  # fmt: skip
    for night in ("2021-02-05", "2021-02-06"):
        assert run_job(spec, "run", night).meters == 2
    places = ForecastStore(spec.store.path).hierarchy()
    assert {m: p["site"] for m, p in places.items()} == {
        "a1 (kW)": "North School",
        "a2 (kW)": "North School",
        "a3 (kW)": None,
    }


@pytest.mark.parametrize("folder", ["#recycle", "@eaDir", "$RECYCLE.BIN"])
def test_a_glob_of_exports_leaves_a_shares_recycle_bin_aside_too(
    tmp_path: Path, folder: str
) -> None:
    """`source = "exports/**/*.csv"` reached into the share's recycle bin and the NAS's
    index folders that a folder given whole leaves aside: a deleted old export was read."""
    exports = tmp_path / "#recycle-named" / "exports"  # the folder itself may be named so
    (exports / "site" / folder).mkdir(parents=True)
    for where in (exports / "site", exports / "site" / folder):
        (where / "day.csv").write_text("timestamp,A\n2023-01-01 00:00,1\n")
    found = export_files(exports / "**" / "*.csv")
    assert found == [exports / "site" / "day.csv"]
    assert export_files(exports) == found


def test_exports_of_two_meters_under_one_name_are_said_to_clash(tmp_path: Path) -> None:
    """Three buildings' files each naming their meter's column alike were read as one
    meter, told only by a count of readings that differ between exports (Murcia's
    Pleiades blocks, each `dif_cons`). A meter whose exports differ on most of the times
    they share is now named with its files; a revision of a few readings is not."""
    from wattcast.data.exports import NameClashWarning

    frame = synthetic_wide(days=10)
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, frame, "block-a.csv", age=0)
    other = frame.copy()
    other["A (kW)"] = other["A (kW)"] * 3.0 + 1.0  # another building's readings
    drop_export(exports, other, "block-b.csv", age=1)
    with pytest.warns(NameClashWarning, match=r"block-b\.csv: meter 'A \(kW\)': its readings "
                      r"differ from those of block-a\.csv on 960 of the 960 times both give: "
                      r"two meters under one name"):  # fmt: skip
        load_meters(exports)
    revised = frame.iloc[:20].copy()
    revised["A (kW)"] += 1.0
    (exports / "block-b.csv").unlink()
    drop_export(exports, revised, "block-b.csv", age=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_meters(exports)
    assert not [w for w in caught if issubclass(w.category, NameClashWarning)]
    assert [w for w in caught if issubclass(w.category, RevisedReadingsWarning)]


def test_an_export_of_another_meter_under_a_stored_name_is_said_to_clash(
    tmp_path: Path,
) -> None:
    """A second building's file naming its meter as the first's, dropped where a store
    takes exports in, was taken in as revisions of the first's readings (a night's count
    of revised readings); it is now named with the meter. A revised day is not."""
    from wattcast.data.exports import NameClashWarning
    from wattcast.workflows.ingest import take_in_exports

    frame = synthetic_wide(days=10)
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, frame, "block-a.csv", age=0)
    spec = site(tmp_path / "site", exports)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NameClashWarning)
        take_in_exports(spec, "2021-01-11T00:00:00")
    corrected = frame.iloc[:96].copy()  # a day read again, every reading of it changed
    corrected[["A (kW)", "B (kW)"]] += 1.0
    drop_export(exports, corrected, "day-1-again.csv", age=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NameClashWarning)
        assert take_in_exports(spec, "2021-01-11T00:00:00").revised == 192
    other = frame.assign(**{"A (kW)": frame["A (kW)"] * 3.0 + 1.0})
    drop_export(exports, other, "block-b.csv", age=2)
    with pytest.warns(NameClashWarning, match=r"block-b\.csv: meter 'A \(kW\)': its readings "
                      r"differ from the readings taken in before on 960 of the 960 times "
                      r"both give"):  # fmt: skip
        take_in_exports(spec, "2021-01-11T00:00:00")


@pytest.mark.parametrize("stored", [False, True], ids=["without store", "with store"])
def test_a_reissue_to_more_decimals_is_no_clash(tmp_path: Path, stored: bool) -> None:
    """A fortnight sent at one decimal, then again at three: every reading differs, by
    less than the last decimal written, and was said to be two meters under one name."""
    from wattcast.data.exports import ExportsSource, NameClashWarning
    from wattcast.workflows.ingest import take_in_exports

    frame = synthetic_wide(days=14)
    exports = tmp_path / "exports"
    exports.mkdir()
    drop_export(exports, frame.round({m: 1 for m in METERS}), "first.csv", age=0)
    spec = site(tmp_path / "site", exports)
    if stored:
        take_in_exports(spec, "2021-01-18T00:00:00")
    drop_export(exports, frame.round({m: 3 for m in METERS}), "reissued.csv", age=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RevisedReadingsWarning)
        warnings.simplefilter("error", NameClashWarning)
        if stored:
            assert take_in_exports(spec, "2021-01-18T00:00:00").revised > 2000
        else:
            ExportsSource(exports, lambda meter: None)
