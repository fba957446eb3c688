"""Public meter datasets of other building types, converted for bench/accuracy.py.

Each dataset is read from its publisher's repository at a fixed commit, either
downloaded (the default) or from a local checkout (``--source DIR``), and
written as a wide table, one column per meter, to
``bench/data/datasets/NAME/meters.csv`` with a PROVENANCE.md beside it. The
converted files are not part of wattcast: they stay under the publisher's
licence.

    python bench/datasets.py fontana [--source CHECKOUT_OF_CITYLEARN]
    python bench/datasets.py cambridge [--source CHECKOUT_OF_THE_ARCHIVE]

fontana: 17 single-family zero-net-energy homes in Fontana, California (the
CityLearn Challenge 2022 data), hourly plug and appliance load in kWh,
2016-08-01 .. 2017-07-31. The files give no timestamps but the month, the hour
(1-24, the hour ending) and the day type (1 = Monday .. 7 = Sunday) of every
row; the conversion builds the timestamps from the first row and checks every
row's month, hour and day type against them.

cambridge: university buildings of the University of Cambridge Estates
(offices, laboratories, teaching), hourly electricity in kWh, 2018-2019, the
65 buildings with both years. The publisher replaced missing readings with 0;
a whole building's electricity is never exactly 0, so the conversion turns
those zeros back into gaps (and counts them).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "data" / "datasets"


@dataclass(frozen=True)
class Published:
    """Where a dataset is published: a repository at one commit, its licence and citation."""

    repo: str
    commit: str
    licence: str
    cite: str

    def raw_url(self, path: str) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{path}"


CITYLEARN = Published(
    "intelligent-environments-lab/CityLearn",
    "b8bad3141f5efca1a78ed94090af1820b541e467",
    "MIT (the CityLearn repository's LICENSE)",
    "Nweye, K., Sankaranarayanan, S., Nagy, Z. (2023). The CityLearn Challenge 2022. "
    "Texas Data Repository, doi:10.18738/T8/0YLJ6Q",
)
CAMBRIDGE = Published(
    "EECi/Cambridge-Estates-Building-Energy-Archive",
    "97b8a6b79a66296f54bf4f0c74c23b7d6b541bae",
    "MIT (the archive's LICENSE)",
    "Langtry, M., Choudhary, R. (2024). Cambridge University Estates building energy usage "
    "archive, v2.1. doi:10.5281/zenodo.10955332",
)
FONTANA_FOLDER = "data/datasets/citylearn_challenge_2022_phase_all"
FONTANA_FIRST_HOUR = pd.Timestamp("2016-07-31 23:00")  # row 0: July 31, hour ending 24
CAMBRIDGE_FOLDER = "building_data/processed_data"
CAMBRIDGE_YEARS = (2018, 2019)


class Files:
    """Reads a published repository's files from a checkout or, without one, over HTTPS."""

    def __init__(self, published: Published, source: Path | None) -> None:
        self.published = published
        self.source = source
        self._http = None

    def read_csv(self, path: str) -> pd.DataFrame:
        if self.source is not None:
            return pd.read_csv(self.source / path)
        import io

        return pd.read_csv(io.BytesIO(self._get(self.published.raw_url(path))))

    def listing(self, folder: str) -> list[str]:
        """Paths of the repository's files under ``folder``."""
        if self.source is not None:
            base = self.source / folder
            return sorted(str(p.relative_to(self.source)) for p in base.rglob("*") if p.is_file())
        repo, commit = self.published.repo, self.published.commit
        url = f"https://api.github.com/repos/{repo}/git/trees/{commit}?recursive=1"
        tree = json.loads(self._get(url))["tree"]
        return sorted(t["path"] for t in tree if t["path"].startswith(folder + "/"))

    def _get(self, url: str) -> bytes:
        import urllib3

        if self._http is None:
            retries = urllib3.Retry(total=4, backoff_factor=1.0, status_forcelist=(429, 502, 503))
            self._http = urllib3.PoolManager(retries=retries, timeout=urllib3.Timeout(30.0))
        response = self._http.request("GET", url)
        if response.status != 200:
            raise SystemExit(f"could not download {url}: HTTP {response.status}.")
        return response.data


def fontana(files: Files) -> tuple[pd.DataFrame, list[str]]:
    """The homes' hourly plug and appliance load, with timestamps rebuilt and checked."""
    columns, notes = {}, []
    for home in range(1, 18):
        table = files.read_csv(f"{FONTANA_FOLDER}/Building_{home}.csv")
        start = FONTANA_FIRST_HOUR + pd.to_timedelta(range(len(table)), unit="h")
        expected = pd.DataFrame(
            {"month": start.month, "hour": start.hour + 1, "day_type": start.day_of_week + 1}
        )
        mismatched = (expected.to_numpy() != table[list(expected)].to_numpy()).any(axis=1)
        if mismatched.any():
            row = int(mismatched.argmax()) + 2
            raise SystemExit(f"Building_{home}.csv line {row}: month, hour or day type is not "
                             f"that of {start[row - 2]}.")  # fmt: skip
        columns[f"Home {home:02d} (kWh)"] = pd.Series(
            table["non_shiftable_load"].to_numpy(), index=start
        )
    frame = pd.DataFrame(columns).rename_axis("timestamp")
    notes.append("Timestamps are the start of each hour, local clock time without daylight "
                 "saving shifts (24 rows every day, as published).")  # fmt: skip
    return frame, notes


def cambridge(files: Files) -> tuple[pd.DataFrame, list[str]]:
    """Every building with electricity for all of CAMBRIDGE_YEARS, zeros turned into gaps."""
    paths = files.listing(CAMBRIDGE_FOLDER)
    buildings = sorted(
        {p.split("/")[2] for p in paths if p.endswith(f"electricity/{CAMBRIDGE_YEARS[0]}.csv")},
        key=lambda name: int(name.rsplit("b", 1)[1]),
    )
    columns, zeros = {}, 0
    for building in buildings:
        years = [f"{CAMBRIDGE_FOLDER}/{building}/electricity/{y}.csv" for y in CAMBRIDGE_YEARS]
        if not all(y in paths for y in years):
            continue
        table = pd.concat([files.read_csv(y) for y in years])
        values = pd.Series(table.iloc[:, 1].to_numpy(), index=pd.to_datetime(table.iloc[:, 0]))
        zeros += int((values == 0).sum())
        columns[f"{building.removeprefix('UCam_Building_')} (kWh)"] = values.mask(values == 0)
    frame = pd.DataFrame(columns).rename_axis("timestamp")
    notes = [
        f"{len(columns)} buildings with electricity for {CAMBRIDGE_YEARS[0]}-"
        f"{CAMBRIDGE_YEARS[-1]}; {zeros} readings of exactly 0 (the publisher's fill for "
        f"missing readings) are left empty: {zeros / frame.size:.2%} of all readings.",
        "Timestamps are the start of each hour as published (24 rows every day).",
    ]
    return frame, notes


CONVERTERS = {"fontana": (CITYLEARN, fontana), "cambridge": (CAMBRIDGE, cambridge)}


def write(
    name: str, frame: pd.DataFrame, published: Published, notes: list[str], out: Path
) -> Path:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "meters.csv", float_format="%.6g")
    lines = [
        f"# {name}",
        "",
        f"- Source: https://github.com/{published.repo} at commit {published.commit}",
        f"- Licence: {published.licence}",
        f"- Cite: {published.cite}",
        f"- Converted by `python bench/datasets.py {name}`: {frame.shape[1]} meters, "
        f"{frame.index[0]} .. {frame.index[-1]}, {int(frame.isna().sum().sum())} empty readings.",
        *[f"- {note}" for note in notes],
        "",
    ]
    (folder / "PROVENANCE.md").write_text("\n".join(lines))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(CONVERTERS))
    parser.add_argument(
        "--source", type=Path, default=None,
        help="a checkout of the publisher's repository (default: download)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the converted datasets")
    args = parser.parse_args()
    published, convert = CONVERTERS[args.name]
    frame, notes = convert(Files(published, args.source))
    folder = write(args.name, frame, published, notes, args.out)
    print(f"wrote {folder / 'meters.csv'}: {frame.shape[1]} meters x {len(frame)} readings")


if __name__ == "__main__":
    main()
