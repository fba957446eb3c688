"""Read a large long-format Parquet fleet (a file or a folder of partitions) in batches.

Only the ``timestamp``, ``meter`` and ``value`` columns are read, and only the
rows of the meters asked for (Parquet statistics let the reader skip the
rest), so memory is bounded by a batch of meters, not the fleet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
        self.dataset = ds.dataset(
            self.path, format="parquet", partitioning="hive", exclude_invalid_files=True
        )
        missing = [c for c in COLUMNS if c not in self.dataset.schema.names]
        if missing:
            raise InputError(
                f"{self.path}: no column {missing[0]!r}; expected long format "
                "(timestamp, meter, value)."
            )

    def meters(self) -> list[str]:
        """Every meter in the dataset, sorted."""
        import pyarrow.compute as pc

        names = self.dataset.to_table(columns=["meter"]).column("meter")
        return sorted(str(m) for m in pc.unique(names).to_pylist())

    def read(self, meters: list[str]) -> pd.DataFrame:
        """The long-format rows of ``meters``."""
        table = self.dataset.to_table(columns=COLUMNS, filter=self._ds.field("meter").isin(meters))
        frame = table.to_pandas(strings_to_categorical=True)  # one name per meter, not per row
        frame.attrs["source"] = str(self.path)
        frame.attrs["kind"] = "parquet"
        return frame

    def batches(self, meters: list[str], size: int) -> Iterator[tuple[list[str], pd.DataFrame]]:
        for start in range(0, len(meters), size):
            batch = meters[start : start + size]
            yield batch, self.read(batch)


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
