from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from wattcast import InputError
from wattcast.durations import format_duration, parse_duration
from wattcast.spec import RunSpec, example_toml, options

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
    assert changed.window_config().closed_flags == ("noschool", "half")
    assert changed.model_config().n_estimators == 50


def test_every_option_has_one_name_as_key_and_flag() -> None:
    flags = [f for _, key, meta in options() for f in [meta.flag_name(key), *meta.aliases] if f]
    assert len(flags) == len(set(flags))
    for section, key, meta in options():
        flag = meta.flag_name(key)
        # the flag is the key, or names the section where the key alone says little
        dashed, table = key.replace("_", "-"), section.split(".")[-1]
        assert flag in (None, dashed, table, f"{table}-{dashed}")
        assert meta.help.endswith(".")


def test_settings_reference_page_is_generated() -> None:
    # docs/hooks.py replaces the marker with options_table(), per section, at build time
    page = (ROOT / "docs" / "settings.md").read_text()
    assert "<!-- settings-reference -->" in page


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
            r"\[model\] trees must be an integer of at least 1. "
            r"Got 'many'.",
        ),
        ("[data]\nsorce = 1\n", r"unknown key \[data\] sorce; expected one of source, tz"),
        ("[modle]\n", r"unknown section \[modle\]; expected one of data, extras"),
        (
            '[model]\ninput = "10D"\nsample_freq = "3D"\n',
            r"`input` \(10D\) must be a whole "
            r"number of `sample_freq` \(3D\)",
        ),
        ("[model]\nparams = { trees = 3 }\n", r"`params` has no parameter 'trees'"),
        ("[model]\nn_jobs = 0\n", r"\[model\] n_jobs must be a positive number of cores"),
        ("[store]\nmax_failed_share = 1.5\n", r"max_failed_share must be a number from 0 to 1"),
        ('[model]\nscheduler = "here"\n', r"`scheduler` must be tcp://HOST:PORT or local:N"),
        ("model = 3\n", r"\[model\] must be a table of settings"),
        (
            "[backtest]\nuntil = 2019-11-30T10:00:00\n",
            r"\[backtest\] until must be a date such as '2019-11-30'",
        ),
        ("[model\n", r"not valid TOML"),
        ("[weather]\nlatitude = 42.6\n", r"\[weather\] sets latitude but no provider"),
        (
            '[weather]\nprovider = "open-meteo"\nlatitude = 1\nlongitude = 2\nurl = "localhost"\n',
            r"\[weather\] url must be an http:// or https:// URL. Got 'localhost'",
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


def test_the_specification_is_frozen() -> None:
    spec = RunSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.model.trees = 3  # type: ignore[misc]
