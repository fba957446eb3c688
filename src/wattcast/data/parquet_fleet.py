"""Read a large long-format Parquet fleet (a file or a folder of partitions) in batches.

Only the ``timestamp``, ``meter`` and ``value`` columns are read. One pass over
the ``meter`` column (read as a dictionary, so names are not decoded row by
row) lists the meters and which row groups hold each; a batch then reads only
its meters' row groups. Memory is bounded by a batch of meters, not the fleet,
and reading a batch costs the same whether the fleet has a hundred meters or
ten thousand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from wattcast.errors import InputError

COLUMNS = ["timestamp", "meter", "value"]


class ParquetFleet:
    """A long-format Parquet dataset of many meters."""

    def __init__(self, path: str | Path) -> None:
        try:
            import pyarrow.dataset as ds
        except ImportError:
            raise InputError(
                "reading Parquet needs pyarrow: pip install 'wattcast[parquet]'."
            ) from None
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path}: not found.")
        self._ds = ds
        names_as_codes = ds.ParquetFileFormat(
            read_options=ds.ParquetReadOptions(dictionary_columns=["meter"])
        )
        self.dataset = ds.dataset(
            self.path, format=names_as_codes, partitioning="hive", exclude_invalid_files=True
        )
        missing = [c for c in COLUMNS if c not in self.dataset.schema.names]
        if missing:
            raise InputError(
                f"{self.path}: no column {missing[0]!r}; expected long format "
                "(timestamp, meter, value)."
            )
        self._row_groups: dict[str, list[Any]] | None = None

    def _index(self) -> dict[str, list[Any]]:
        """Meter -> the row groups (fragments) that hold its readings; built once."""
        if self._row_groups is None:
            index: dict[str, list[Any]] = {}
            for fragment in self.dataset.get_fragments():
                for row_group in fragment.split_by_row_group():
                    column = row_group.to_table(columns=["meter"], schema=self.dataset.schema)
                    for name in _names(column.column("meter"), row_group.path):
                        index.setdefault(name, []).append(row_group)
            self._row_groups = index
        return self._row_groups

    def meters(self) -> list[str]:
        """Every meter in the dataset, sorted."""
        return sorted(self._index())

    def read(self, meters: list[str]) -> pd.DataFrame:
        """The long-format rows of ``meters``."""
        import pyarrow as pa

        index = self._index()
        unknown = [m for m in meters if m not in index]
        if unknown:
            raise InputError(f"{self.path}: no meter named {unknown[0]!r}.")
        row_groups = {id(g): g for m in meters for g in index[m]}.values()
        wanted = self._ds.field("meter").isin(meters)
        tables = [
            g.to_table(columns=COLUMNS, filter=wanted, schema=self.dataset.schema)
            for g in row_groups
        ]
        table = pa.concat_tables(tables).unify_dictionaries()
        frame = table.to_pandas(strings_to_categorical=True)  # one name per meter, not per row
        frame.attrs["source"] = str(self.path)
        frame.attrs["kind"] = "parquet"
        return frame

    def batches(self, meters: list[str], size: int) -> Iterator[tuple[list[str], pd.DataFrame]]:
        for start in range(0, len(meters), size):
            batch = meters[start : start + size]
            yield batch, self.read(batch)


def _names(column: Any, source: str) -> set[str]:
    """Distinct meter names of a (dictionary-encoded) column."""
    names: set[str] = set()
    for chunk in column.chunks:
        if chunk.null_count:
            raise InputError(
                f"{source}, column 'meter': {chunk.null_count} row(s) without a meter name."
            )
        present = chunk.unique()
        if hasattr(present, "dictionary"):
            present = present.dictionary.take(present.indices)
        names.update(str(n) for n in present.to_pylist())
    return names


def meter_zones(path: Path, meters: list[str], default: str | None) -> dict[str, str | None]:
    """Zone of each meter from ``meters.csv`` beside the data (meter, zone), else ``default``."""
    sidecar = (path if path.is_dir() else path.parent) / "meters.csv"
    zones: dict[str, str | None] = dict.fromkeys(meters, default)
    if sidecar.exists():
        table = pd.read_csv(sidecar)
        if {"meter", "zone"} <= set(table.columns):
            zones.update(
                {m: z for m, z in zip(table["meter"], table["zone"], strict=True) if m in zones}
            )
    return zones
