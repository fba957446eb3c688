"""Refusals of the command line: bad options and files end in one line and exit code 2;
a damaged kept model is reported by `check` and refit by `run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import synthetic_wide, write_site

from wattcast.store.store import ForecastStore

NIGHTS = ("2021-02-01", "2021-02-02", "2021-02-03")
ABOUT_METRICS = "expected backtest metrics as `wattcast backtest --out` writes them"
METRICS = "meter,method,n,cv_rmse,nmbe,coverage\nA (kW),wattcast,96,{cv},-1.5,90\n"


def site(folder: Path) -> Path:
    data = folder / "meters.csv"
    synthetic_wide(days=45, meters=("A (kW)", "B (kW)")).to_csv(data, index=False)
    return write_site(folder, data)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two nights in a store, and a forecast file beside it; returns the site file."""
    from wattcast.cli import main

    config = site(tmp_path_factory.mktemp("nights"))
    for night in NIGHTS[:2]:
        assert main(["run", "--config", str(config), "--as-of", night]) == 0
    forecast = str(config.parent / "forecast.csv")
    assert main(["forecast", str(config.parent / "meters.csv"), "--trees", "10", "--out",
                 forecast]) == 0  # fmt: skip
    return config


def refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"


@pytest.mark.parametrize(("text", "message"), [
    ("a,b\n1,2\n", "no columns 'meter', 'method', 'cv_rmse', 'nmbe', 'coverage'; " + ABOUT_METRICS),
    ("meter,method,nmbe,coverage\nA (kW),wattcast,1,90\n", "no column 'cv_rmse'; " + ABOUT_METRICS),
    ("meter,method,n,cv_rmse,nmbe,coverage\nA (kW),forest,96,,1,\nA (kW),wattcast,96,abc,-1,90\n",
     "column 'cv_rmse', line 3: expected a number, got 'abc'"),
])  # fmt: skip
def test_report_refuses_metrics_it_cannot_read(
    nights: Path, tmp_path: Path, cli, text: str, message: str
) -> None:
    metrics, out = tmp_path / "m.csv", tmp_path / "r.html"
    metrics.write_text(text)
    result = cli("report", "--config", nights, "--out", out, "--metrics", metrics)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {metrics}") and message in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()


def test_report_shows_metrics_as_backtest_writes_them(nights: Path, tmp_path: Path, cli) -> None:
    metrics, out = tmp_path / "m.csv", tmp_path / "r.html"
    metrics.write_text(METRICS.replace("{cv}", "12.5"))
    result = cli("report", "--config", nights, "--out", out, "--metrics", metrics)
    assert result.exit_code == 0, result.output
    assert "<td>A (kW)</td><td>12.5</td><td>-1.5</td>" in out.read_text()


@pytest.mark.parametrize(("option", "value", "least"), [("days", 0, 1), ("detail", -1, 0)])
def test_report_names_each_options_own_value(
    nights: Path, tmp_path: Path, cli, option: str, value: int, least: int
) -> None:
    result = cli("report", "--config", nights, "--out", tmp_path / "r.html", f"--{option}", value)
    refused(result, f"`--{option}` must be at least {least}. Got {value}.")


@pytest.mark.parametrize("command", ["anomalies", "savings"])
def test_since_after_until_is_refused(nights: Path, cli, command: str) -> None:
    result = cli(command, "--config", nights, "--since", "2021-02-10", "--until", "2021-02-01")
    refused(result, "`--since` must not be after `--until`. Got --since '2021-02-10', "
                    "--until '2021-02-01'.")  # fmt: skip
    same_day = cli(command, "--config", nights, "--since", "2021-02-01", "--until", "2021-02-01")
    assert same_day.exit_code == 0, same_day.output


@pytest.mark.parametrize("last", [-5, -1, 0])
def test_history_needs_at_least_one_run(nights: Path, cli, last: int) -> None:
    refused(cli("history", "--config", nights, "--last", last),
            f"`--last` must be at least 1. Got {last}.")  # fmt: skip
    listed = cli("history", "--config", nights, "--last", 1, "--format", "csv")
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 2
    refused(cli("history", "--config", nights, "--last", 2**63),
            f"`--last` must be at most {2**63 - 1}. Got {2**63}.")  # fmt: skip


def test_history_shows_a_night_given_with_an_offset_with_its_offset(tmp_path: Path, cli) -> None:
    """23:00 at -08:00 is 07:00 the next day in UTC: shown without its offset it would read
    as 23:00 at the site."""
    config = site(tmp_path)
    for night in ("2021-02-01", "2021-02-01T23:00-08:00", "2021-02-03T00:00+01:00"):
        assert cli("run", "--config", config, "--as-of", night).exit_code == 0
    listed = cli("history", "--config", config, "--format", "csv").stdout.splitlines()
    shown = [line.split(",")[4] for line in listed[1:]]
    assert shown == ["2021-02-01", "2021-02-01 23:00-08:00", "2021-02-03 00:00+01:00"]


def test_a_negative_event_id_is_said_to_be_one(nights: Path, cli) -> None:
    """Click takes `-1` for an option it does not know: 'No such option: -1'."""
    refused(
        cli("anomalies", "ack", "-1", "--config", nights),
        "-1 is a negative number where a number of 1 or more (an id, a count) is expected.",
    )
    unknown = cli(
        "anomalies", "ack", "--sure", "--config", nights
    )  # other unknown options as before
    assert (
        unknown.exit_code == 2
        and "No such option" in unknown.stderr
        and "--sure" in (unknown.stderr)
    )


def test_plot_refuses_negative_days_before(nights: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "p.png"
    result = cli("plot", nights.parent / "meters.csv", "--forecast",
                 nights.parent / "forecast.csv", "--meter", "A (kW)", "--out", out,
                 "--days-before", -3)  # fmt: skip
    refused(result, "`--days-before` must be at least 0. Got -3.")
    assert not out.exists()


def first_model(config: Path) -> tuple[str, Path]:
    store = ForecastStore(config.parent / "site.db")
    row = store.model_index()[0]
    return row["meter"], store.models_folder / row["file"]


def test_a_file_or_folder_where_the_store_keeps_its_models_or_lock_is_named(
    tmp_path: Path, cli
) -> None:
    """A file where the models folder belongs refused the night while `check` said the
    store was healthy; a folder where the lock file goes was said of the store."""
    config = site(tmp_path)
    assert cli("run", "--config", config, "--as-of", NIGHTS[0]).exit_code == 0
    store = tmp_path / "site.db"
    models = tmp_path / "site.db.models"
    for model in models.iterdir():
        model.unlink()
    models.rmdir()
    models.write_text("")
    refused(cli("check", "--config", config),
            f"{store}: a file stands where its folder of kept models belongs ({models}); move "
            "it away, or set [models] keep = false.")  # fmt: skip
    models.unlink()
    (tmp_path / "site.db.lock").unlink()
    (tmp_path / "site.db.lock").mkdir()
    refused(cli("run", "--config", config, "--as-of", NIGHTS[1]),
            f"{tmp_path / 'site.db.lock'}: a folder stands where the store's lock file goes "
            "(beside site.db); move it away.")  # fmt: skip


def test_check_reports_a_damaged_kept_model_as_a_missing_one(tmp_path: Path, cli) -> None:
    config = site(tmp_path)
    assert cli("run", "--config", config, "--as-of", NIGHTS[0]).exit_code == 0
    meter, path = first_model(config)
    path.write_text("garbage\n")
    result = cli("check", "--config", config)
    assert result.exit_code == 0, result.output
    assert (f"  1 model file(s) damaged or unreadable; first: meter {meter!r}: {path.name} is "
            "damaged (its checksum differs); those meters are refit next night\n"
            in result.stdout)  # fmt: skip
    run = cli("run", "--config", config, "--as-of", NIGHTS[1])
    assert run.exit_code == 0 and "damaged (its checksum differs)" in run.stderr
    assert "model file(s) damaged" not in cli("check", "--config", config).stdout


def test_a_folder_on_a_kept_models_name_is_refit_and_left_alone(tmp_path: Path, cli) -> None:
    config = site(tmp_path)
    assert cli("run", "--config", config, "--as-of", NIGHTS[0]).exit_code == 0
    meter, path = first_model(config)
    path.unlink()
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    result = cli("check", "--config", config)
    said = f"{path.name} is a folder, not a model file (wattcast leaves it)"
    assert result.exit_code == 0 and f"first: meter {meter!r}: {said}" in result.stdout
    run = cli("run", "--config", config, "--as-of", NIGHTS[1])
    assert run.exit_code == 0, run.output
    assert run.stderr == (f"warning: {path.parent}: 1 kept model(s) cannot be used and are "
                          f"refit: meter {meter!r}: {said}.\n")  # fmt: skip
    assert (path / "notes.txt").read_text() == "mine"
    result = cli("check", "--config", config)
    assert (f"  1 folder(s) wattcast did not make (first: {path.name!r}); wattcast leaves them: "
            "move them away\n" in result.stdout and "file(s) damaged" not in result.stdout)  # fmt: skip
    again = cli("run", "--config", config, "--as-of", NIGHTS[2])
    assert again.exit_code == 0 and again.stderr == ""
