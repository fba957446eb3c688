"""The pipeline core: plain functions of data, with no file or store behind them.

Settings, a batch's readings and what earlier nights left go in; forecasts,
events and a run record come out. Features -> model -> forecast
(:func:`forecast_batch`); actuals against the band -> events and the methods'
realized errors (:func:`settle_actuals`). The job around it
(:mod:`wattcast.workflows.pipeline`) reads its inputs and the previous state,
calls the core, and writes what it gives; the core imports nothing from
``store``, ``workflows``, ``cli``, ``reporting`` or ``alerts``.
"""

from wattcast.core.actuals import (
    Revisit,
    Settled,
    actuals_span,
    candidate_means,
    realized_scores,
    seen,
    settle_actuals,
    values_at,
    wall,
)
from wattcast.core.batch import (
    BatchInputs,
    BatchResult,
    PriorState,
    forecast_batch,
    merge_logs,
    on_error,
)

__all__ = [
    "BatchInputs",
    "BatchResult",
    "PriorState",
    "Revisit",
    "Settled",
    "actuals_span",
    "candidate_means",
    "forecast_batch",
    "merge_logs",
    "on_error",
    "realized_scores",
    "seen",
    "settle_actuals",
    "values_at",
    "wall",
]
