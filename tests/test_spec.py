from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import warnings
from pathlib import Path

import pytest

from wattcast import InputError
from wattcast.durations import format_duration, parse_duration
from wattcast.settings import ModelSection, RunSpec, example_toml, options, options_table

ROOT = Path(__file__).resolve().parent.parent


def test_toml_flags_and_stored_settings_give_one_specification(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[data]\nsource = "m.csv"\ntz = "Europe/Paris"\nmeters = ["A", "B"]\n'
        'units = { "A" = "kWh" }\n[extras]\ncommon = ["x.csv"]\nclosed_flags = ["noschool"]\n'
        'meter_extras = { "A" = ["a.csv"] }\n'
        '[model]\ninput = "7D"\ngap = "0D"\ntrees = 20\nparams = { min_samples_leaf = 3 }\n'
        'n_jobs = 2\nrecency_half_life = "60D"\n[store]\npath = "s.db"\nkeep = "400D"\n'
        "[alerts]\ntariff = 0.2\n[backtest]\nuntil = 2019-11-30\n"
    )
    spec = RunSpec.from_toml(config)
    assert spec.data.source == tmp_path / "m.csv" and spec.store.path == tmp_path / "s.db"
    assert spec.model.input == dt.timedelta(days=7) and spec.model.gap == dt.timedelta(0)
    assert spec.model.params == {"min_samples_leaf": 3}
    assert spec.extras.meter_extras == {"A": (tmp_path / "a.csv",)}
    assert spec.backtest.until == dt.date(2019, 11, 30)
    settings = json.loads(json.dumps(spec.to_settings()))  # as the store keeps it
    assert RunSpec.from_settings(settings) == spec
    flags = {"model.trees": "50", "model.params": ["max_samples=0.7"], "data.meters": ["C,D"],
             "extras.closed_flags": ["noschool", "half"], "alerts.tariff": "0.1"}  # fmt: skip
    changed = spec.with_flags(flags)
    assert changed.model.trees == 50 and changed.model.params == {"max_samples": 0.7}
    assert changed.data.meters == ("C", "D") and changed.extras.closed_flags == ("noschool", "half")
    assert changed.data.tz == "Europe/Paris"  # untouched options keep their value
    # keyword arguments go through the same converter as TOML and flags
    made = ModelSection(input="7D", gap="0D", trees=50, params={"max_samples": 0.7}, n_jobs=2,
                        recency_half_life=dt.timedelta(days=60))  # fmt: skip
    assert made == changed.model


def test_a_section_made_in_python_is_checked_like_a_site_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        ModelSection(trees=0)
    assert str(caught.value) == "[model] trees must be an integer from 1 to 10000. Got 0."
    path = tmp_path / "site.toml"
    path.write_text("[model]\ntrees = 0\n")
    with pytest.raises(InputError) as from_file:
        RunSpec.from_toml(path)
    assert str(from_file.value) == f"{path}: {caught.value}"
    with pytest.raises(InputError, match=r"`--trees` must be an integer from 1 to 10000. Got '0'"):
        RunSpec().with_flags({"model.trees": "0"})
    with pytest.raises(InputError, match=r"`input` \(10D\) must be a whole number"):
        ModelSection(input="10D", sample_freq="3D")


def test_flags_of_one_table_are_applied_together() -> None:
    # each alone would leave [weather] incomplete
    spec = RunSpec().with_flags({"weather.provider": "open-meteo", "weather.latitude": "42.6",
                                 "weather.longitude": "-71.1"})  # fmt: skip
    assert (spec.weather.provider, spec.weather.latitude) == ("open-meteo", 42.6)
    with pytest.raises(InputError, match=r"needs \[weather\] longitude"):
        RunSpec().with_flags({"weather.provider": "open-meteo", "weather.latitude": "42.6"})


def test_every_placeholder_of_init_loads_when_uncommented(tmp_path: Path) -> None:
    lines = [line.removeprefix("# ") if " = " in line else line
             for line in example_toml().splitlines()]  # fmt: skip
    path = tmp_path / "site.toml"
    path.write_text("\n".join(lines) + "\n")
    spec = RunSpec.from_toml(path)
    assert spec.model == RunSpec().model and spec.weather.url is None


def test_every_option_has_one_name_as_key_and_flag() -> None:
    settings = [(section, key, option.setting) for section, key, option in options()]
    flags = [f for _, key, meta in settings for f in [meta.flag_name(key), *meta.aliases] if f]
    assert len(flags) == len(set(flags))
    for section, key, meta in settings:
        flag = meta.flag_name(key)
        # the flag is the key, or names the section where the key alone says little
        dashed, table = key.replace("_", "-"), section.split(".")[-1]
        assert flag in (None, dashed, table, f"{table}-{dashed}")
        assert meta.help.endswith(".")


def test_the_settings_reference_lists_every_option_under_its_table() -> None:
    # docs/hooks.py puts options_table() in place of the marker when the site is built
    page = (ROOT / "docs" / "settings.md").read_text()
    assert "<!-- settings-reference -->" in page
    reference = options_table()
    for table, key, option in options():
        section = reference.split(f"## `[{table}]`", 1)[1].split("\n## ", 1)[0]
        row = next(line for line in section.splitlines() if line.startswith(f"| `{key}` |"))
        flag = option.setting.flag_name(key)
        assert (f"`--{flag}`" if flag else "argument DATA") in row and option.setting.help in row


def test_init_example_is_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(example_toml())
    spec = RunSpec.from_toml(path)
    defaults = RunSpec()
    assert spec.model == defaults.model and spec.alerts == defaults.alerts
    assert spec.store.path == tmp_path / "wattcast.db"


def test_legacy_keys_still_read(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[data]\nsource = "m.csv"\n[extras.meters]\n"A" = ["a.csv"]\n')
    assert RunSpec.from_toml(path).extras.meter_extras == {"A": (tmp_path / "a.csv",)}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[model]\ntrees = "many"\n',
            r"\[model\] trees must be an integer from 1 to 10000. "
            r"Got 'many'.",
        ),
        ("[data]\nsorce = 1\n", r"unknown key \[data\] sorce; expected one of source, tz"),
        ("[modle]\n", r"unknown section \[modle\]; expected one of data, extras"),
        (
            'tz = "UTC"\n[data]\n',
            r"'tz' is set outside any table; it belongs in \[data\] \(the "
            r"lines after a \[table\] header are its settings\)\.$",
        ),
        (
            "nosuch = 1\n",
            r"'nosuch' is set outside any table and is no setting; expected settings under "
            r"a \[table\] header, one of data, extras",
        ),
        (
            '[model]\ninput = "10D"\nsample_freq = "3D"\n',
            r"`input` \(10D\) must be a whole "
            r"number of `sample_freq` \(3D\)",
        ),
        ("[model]\nparams = { trees = 3 }\n", r"`params` has no parameter 'trees'"),
        ("[model]\nn_jobs = 0\n", r"\[model\] n_jobs must be a positive number of cores"),
        ("[store]\nmax_failed_share = 1.5\n", r"max_failed_share must be a number from 0 to 1"),
        ("[alerts]\nmin_energy = inf\n", r"min_energy must be a finite number of at least 0\. Got"),
        ("[models]\ndrift = inf\n", r"\[models\] drift must be a finite number above 1\. Got inf"),
        ('[model]\nscheduler = "here"\n', r"`scheduler` must be tcp://HOST:PORT or local:N"),
        ("model = 3\n", r"\[model\] must be a table of settings"),
        (
            "[backtest]\nuntil = 2019-11-30T10:00:00\n",
            r"\[backtest\] until must be a date such as '2019-11-30'",
        ),
        ("[model\n", r"not valid TOML"),
        (
            "x = " + "[" * 2000 + "]" * 2000 + "\n",
            r"not valid TOML \(arrays or tables nested "
            r"hundreds deep\); expected a site file as `wattcast init` writes one\.$",
        ),
        ('[model]\ntime_attrs = ["bogus"]\n', r"site\.toml: `time_attrs` has unknown attribute"),
        ('[data]\nencoding = "klingon"\n', r"site\.toml: `encoding` must be an encoding name"),
        ("[weather]\nlatitude = 42.6\n", r"\[weather\] sets latitude but no provider"),
        (
            '[weather]\nprovider = "open-meteo"\nlatitude = 1\nlongitude = 2\nurl = "localhost"\n',
            r"\[weather\] url must be an http:// or https:// URL with a host. Got 'localhost'",
        ),
        (
            '[alerts.email]\nhost = "smtp.example.org"\nsender = "a@example.org"\n',
            r"\[alerts.email\] needs to \(--email-to\)",
        ),
        (
            '[alerts.webhook]\nurl = "hooks.example.org/x"\n',
            r"\[alerts.webhook\] url must be an http:// or https:// URL",
        ),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(toml)
    with pytest.raises(InputError, match=message):
        RunSpec.from_toml(path)


def test_a_settings_file_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text("[model]\ntrees = 7\n", encoding="utf-8")
    marked.write_text("[model]\ntrees = 7\n", encoding="utf-8-sig")
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf")
    assert RunSpec.from_toml(marked).to_settings() == RunSpec.from_toml(plain).to_settings()


def test_a_settings_file_in_another_encoding_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes("[model]\ntrees = 7\n# café\n".encode("cp1252"))
    message = f"{path}, line 3: not UTF-8 text (byte 0xe9); save the settings file as UTF-8."
    with pytest.raises(InputError) as caught:
        RunSpec.from_toml(path)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("28D", dt.timedelta(days=28)), ("15min", dt.timedelta(minutes=15)),
     ("1h30min", dt.timedelta(minutes=90)), ("2 days", dt.timedelta(days=2)),
     ("1W", dt.timedelta(days=7)), ("0.5h", dt.timedelta(minutes=30))],
)  # fmt: skip
def test_durations_read_and_write_back(text: str, expected: dt.timedelta) -> None:
    value = parse_duration(text, "x")
    assert value == expected and parse_duration(format_duration(value), "x") == value


@pytest.mark.parametrize("text", ["10", "1M", "abc", "1D x", "-1D", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="`x` must be a"):
        parse_duration(text, "x")


@pytest.mark.parametrize("text", ["36526D", "9999999999999D", "1000000000000000000000W"])
def test_durations_beyond_a_hundred_years_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"`x` must be at most 100 years \('36525D'\)"):
        parse_duration(text, "x")
    assert parse_duration("36525D", "x") == dt.timedelta(days=36525)
    with pytest.raises(InputError, match=r"`--keep` must be a duration .*, at most 100 years"):
        RunSpec().with_flags({"store.keep": text})


def test_the_specification_is_frozen() -> None:
    spec = RunSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.model.trees = 3  # type: ignore[misc]


def test_a_name_with_a_comma_is_one_name_in_the_site_file_and_split_on_the_command_line(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[data]\nmeters = ["Gym, East (kW)", "Hall (kW)"]\n'
                    '[models]\nrefit = ["Gym, East (kW)"]\n')  # fmt: skip
    spec = RunSpec.from_toml(site)
    assert spec.data.meters == ("Gym, East (kW)", "Hall (kW)")
    assert spec.models.refit == ("Gym, East (kW)",)
    flagged = RunSpec().with_flags({"data.meters": ["A (kW),B (kW)", "C (kW)"],
                                     "alerts.generation": "PV1 (kW),PV2 (kW)"})  # fmt: skip
    assert flagged.data.meters == ("A (kW)", "B (kW)", "C (kW)")
    assert flagged.alerts.generation == ("PV1 (kW)", "PV2 (kW)")
    site.write_text(
        '[alerts.email]\nhost = "smtp.school.example"\nsender = "w@school.example"\n'
        'to = "a@school.example, b@school.example"\n'
    )
    assert RunSpec.from_toml(site).alerts.email.to == ("a@school.example", "b@school.example")


def test_a_recency_half_life_shorter_than_a_period_is_refused() -> None:
    with pytest.raises(InputError, match=(
        r"^`recency_half_life` \(1min\) must be at least `output` \(1D\): shorter, every "
        r"window but the newest would weigh next to nothing\.$"
    )):  # fmt: skip
        RunSpec().with_flags({"model.recency_half_life": "1min"})
    assert RunSpec().with_flags({"model.recency_half_life": "1D"}).model.recency_half_life


def test_a_weather_provider_needs_a_variable(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[weather]\nprovider = "file"\npath = "w.csv"\nvariables = []\n')
    with pytest.raises(InputError, match=(
        r"\[weather\] variables must name at least one variable, such as temperature "
        r"\(--weather-variables\)\.$"
    )):  # fmt: skip
        RunSpec.from_toml(site)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[store]\npath = ["a.db"]\n', "[store] path must be a path. Got ['a.db']."),
        ('[data]\ntz = "UTC"\ntz = "UTC"\n',
         "not valid TOML (key 'tz' is set twice: line 3 sets it again)."),
    ],
)  # fmt: skip
def test_site_file_mistakes_are_named_as_they_are(tmp_path: Path, text: str, message: str):
    site = tmp_path / "site.toml"
    site.write_text(text)
    with pytest.raises(InputError) as refused:
        RunSpec.from_toml(site)
    assert str(refused.value) == f"{site}: {message}"


@pytest.mark.parametrize("zone", ["EST", "Etc/GMT+5"])
def test_a_zone_without_daylight_saving_is_said(zone: str) -> None:
    """... and the zone that the warning of skipped local times gives for readings kept on
    standard time all year (NREL's Research Support Facility, 2011: tz = "Etc/GMT+7") is
    not said to be wrong for a site that changes its clocks."""
    from wattcast.errors import FixedOffsetWarning

    with pytest.warns(FixedOffsetWarning, match=re.escape(
        f"[data] tz {zone!r} keeps one UTC offset all year (no daylight saving); a site that "
        "changes its clocks names its region, such as 'America/New_York', unless its "
        "readings are written on its standard time all year.")):  # fmt: skip
        RunSpec().with_flags({"data.tz": zone})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FixedOffsetWarning)
        RunSpec().with_flags({"data.tz": "America/New_York"})
        RunSpec().with_flags({"data.tz": "UTC"})


def test_a_weather_setting_its_provider_does_not_use_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[weather]\nprovider = "file"\npath = "w.csv"\nlatitude = 42.6\n')
    with pytest.raises(InputError, match=re.escape(
        "[weather] provider 'file' does not use latitude; remove it, or choose the provider "
        "it is for.")):  # fmt: skip
        RunSpec.from_toml(site)
    site.write_text('[weather]\nprovider = "ghcnd"\npath = "w.csv"\nunits = "F"\n'
                    'station = "USW00014739"\n')  # fmt: skip
    assert RunSpec.from_toml(site).weather.station == "USW00014739"


def test_seeds_are_each_their_own_up_to_the_modulus_of_the_meters_seeds() -> None:
    """Seeds 0 and 2**31 - 1 gave every meter the same seed (and the same forecasts)."""
    from wattcast.models.meter_model import meter_seed

    largest = RunSpec().with_flags({"model.seed": 2**31 - 2}).model.seed
    assert meter_seed(largest, "A") != meter_seed(0, "A")
    with pytest.raises(InputError, match=r"`--seed` must be an integer from 0 to 2147483646\. "
                                         r"Got '2147483647'\."):  # fmt: skip
        RunSpec().with_flags({"model.seed": "2147483647"})


def test_odd_settings_of_the_python_api_and_subsets_are_refused() -> None:
    """A calendar attribute named twice was a second feature; hours that start where they
    end read as the whole day; stored settings of another type raised AttributeError."""
    from wattcast.evaluation.subsets import parse_subset

    with pytest.raises(InputError, match=r"`time_attrs` names 'day_of_week' twice"):
        RunSpec().with_flags({"model.time_attrs": "day_of_week,day_of_week"})
    with pytest.raises(InputError, match=r"subset '07:00-07:00': the hours start where they end"):
        parse_subset("07:00-07:00")
    assert parse_subset("22:00-06:00").first == 22 * 60  # past midnight stays
    with pytest.raises(InputError, match=r"stored run settings must be a table of sections"):
        RunSpec.from_settings(None)  # type: ignore[arg-type]


def test_a_band_of_the_trees_spread_needs_two_trees() -> None:
    """With one tree the band had no width, and no reading was inside it."""
    with pytest.raises(InputError, match=r"`interval` tree-std needs at least 2 trees: the "
                                         r"band is their spread, none with one tree\. Got "
                                         r"trees = 1\."):  # fmt: skip
        RunSpec().with_flags({"model.interval": "tree-std", "model.trees": "1"})
    assert RunSpec().with_flags({"model.interval": "tree-std", "model.trees": "2"}).model.trees == 2


@pytest.mark.parametrize(("flags", "message"), [
    ({"data.meters": ["Gym (kW),Gym (kW)"]},
     r"^\[data\] meters \(--meters\) names 'Gym \(kW\)' twice; expected each meter once\.$"),
    ({"data.meters": [""]}, r"^`--meters` must be a list of meter names\. Got ''\.$"),
    ({"data.meters": [","]}, r"^`--meters` must be a list of meter names\. Got ','\.$"),
])  # fmt: skip
def test_meters_asked_twice_or_without_a_name_are_refused(flags: dict, message: str) -> None:
    """A meter asked twice was forecast once and "failed" once, the run exit 1; `--meters
    ''` meant every meter."""
    with pytest.raises(InputError, match=message):
        RunSpec().with_flags(flags)


def test_an_empty_meter_name_in_the_site_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text('[data]\nsource = "m.csv"\nmeters = ["A (kW)", " "]\n')
    with pytest.raises(InputError, match=r"\[data\] meters \(--meters\) holds an empty name"):
        RunSpec.from_toml(tmp_path / "site.toml")


def test_a_setting_given_in_bytes_of_another_encoding_is_refused() -> None:
    """`--site-name` of a Latin-1 shell (Caf\\xe9) reached the store and crashed the night
    after its forecasts were written."""
    with pytest.raises(InputError, match=r"^`--site-name` must be a name such as 'Andover "
                       r"High' on one line\. Got 'Caf\\udce9'\.$"):  # fmt: skip
        RunSpec().with_flags({"site.name": "Caf\udce9"})


@pytest.mark.parametrize(("given", "bounds"), [
    ("Gym (kW)=[1,inf]", (1.0, float("inf"))), ("Gym (kW)=[-inf, 1000]", (-float("inf"), 1000.0)),
])  # fmt: skip
def test_meter_bounds_are_given_on_the_command_line_as_the_help_writes_them(
    given: str, bounds: tuple[float, float]
) -> None:
    """Every value was refused, the help's own example too."""
    spec = RunSpec().with_flags({"data.meter_bounds": [given]})
    assert spec.data.meter_bounds == {"Gym (kW)": bounds}


def test_paths_take_the_environment_s_variables_as_the_home_sign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`path = "$HOME/site.db"` made a folder named '$HOME' beside the site file."""
    monkeypatch.setenv("WATTCAST_STORES", str(tmp_path / "stores"))
    (tmp_path / "site.toml").write_text('[store]\npath = "$WATTCAST_STORES/site.db"\n')
    assert RunSpec.from_toml(tmp_path / "site.toml").store.path == tmp_path / "stores" / "site.db"
    # a variable that is not set is refused, not made a folder named '$NOPE'
    monkeypatch.delenv("WATTCAST_NOPE", raising=False)
    for written in ("$WATTCAST_NOPE/site.db", "${WATTCAST_NOPE}/site.db"):
        (tmp_path / "site.toml").write_text(f'[store]\npath = "{written}"\n')
        with pytest.raises(InputError, match=r"\[store\] path must be a path whose environment "
                           r"variables are set \(\$WATTCAST_NOPE is not\)"):  # fmt: skip
            RunSpec.from_toml(tmp_path / "site.toml")


def test_a_site_in_a_folder_with_a_dollar_sign_keeps_its_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site file in a folder named 'd$HOME' had its paths, once resolved beside it, read
    for variables again: its store went to 'd/root/site.db' (or was refused as unset)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("x", raising=False)
    for name in ("d$HOME", "we ird'$x"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "site.toml").write_text('[data]\nsource = "m.csv"\n[store]\npath = "s.db"\n')
        spec = RunSpec.from_toml(folder / "site.toml").with_flags({"model.trees": 5})
        assert (spec.data.source, spec.store.path) == (folder / "m.csv", folder / "s.db")
