"""The forecast store: one SQLite file of runs, forecasts, actuals and events.

A job opens one run and writes it batch by batch, each batch in one transaction
(its forecasts, meter statuses, the actuals it recorded and the events they
gave), so a crash or ``kill -9`` loses at most the batch in flight; the run
stays 'running' and the same job started again resumes it. For each meter and
time the forecast of the latest run is current; earlier ones stay as history
until pruned.

:class:`ForecastStore` is composed of one part per concern: opening and
checking the file (:mod:`~wattcast.store.connection`), runs
(:mod:`~wattcast.store.runs`), forecasts, actuals and scores
(:mod:`~wattcast.store.forecasts`), events and their deliveries
(:mod:`~wattcast.store.events`), the weather cache
(:mod:`~wattcast.store.weather_cache`), the reading archive
(:mod:`~wattcast.store.readings`) and the models kept between nights
(:mod:`~wattcast.store.models`). Only this package speaks SQL. Reading
methods that return tables import pandas; the ones used by light commands
(runs, events, meters) return plain rows.
"""

from __future__ import annotations

from wattcast.store.connection import SQLITE_HEADER, StoreMigratedWarning, remove_store
from wattcast.store.events import EventRecords
from wattcast.store.forecasts import Batch, ForecastRecords
from wattcast.store.models import ModelRecords
from wattcast.store.readings import ReadingArchive
from wattcast.store.runs import RunRecords
from wattcast.store.weather_cache import WeatherCache

__all__ = ["SQLITE_HEADER", "Batch", "ForecastStore", "StoreMigratedWarning", "remove_store"]


class ForecastStore(
    RunRecords, ForecastRecords, EventRecords, WeatherCache, ReadingArchive, ModelRecords
):
    """An SQLite forecast store (see the module docstring).

    Parameters
    ----------
    path : the store file.
    create : make a new store when the file does not exist; otherwise a missing
        store is an error.
    """

    def write_batch(self, run_id: int, batch: Batch) -> None:
        """Add one batch of meters to an open run, atomically."""
        with self.transaction() as db:
            ids = self.meter_ids(db, batch.meters)
            self._insert_run_meters(db, run_id, ids, batch)
            self._insert_scores(db, ids, batch)
            self._insert_forecasts(db, run_id, ids, batch.forecasts)
            if batch.period is not None:  # a run killed later still tells its period
                first, last = batch.period
                db.execute("UPDATE runs SET forecast_start = MIN(COALESCE(forecast_start, :a), "
                           ":a), forecast_end = MAX(COALESCE(forecast_end, :b), :b) WHERE id = "
                           ":run", {"a": first, "b": last, "run": run_id})  # fmt: skip
            self._insert_actuals(db, run_id, ids, batch.actuals)
            if batch.events is not None and len(batch.events):
                self._write_events(db, run_id, ids, batch.events)
            self._write_references(db, run_id, ids, batch.references)
            replaced = self._write_models(db, ids, batch.models)
            self.progress(db, run_id)
        self.drop_files(replaced)  # only once the new ones are indexed
