"""Grow a meter's trees three ways and compare: the public fit, the public fit without
checks, and scikit-learn's builder called directly (what wattcast uses).

* ``public``: ``DecisionTreeRegressor.fit(X, Z, sample_weight)``;
* ``public, no checks``: ``fit(..., check_input=False)`` inside
  ``sklearn.config_context(skip_parameter_validation=True)``;
* ``direct``: :func:`wattcast.models.tree_growing.grow_tree` (the builder, splitter
  and criterion called directly).

The windows are a meter of the Andover data (168 windows x 32 features, as the
benchmark job trains them) and of a 365-day fleet meter; each way grows the same
chunks of 25 trees (the trees are checked to be equal), repeated, median.

    python bench/tree_builder.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import sklearn

from wattcast import ExtraTable, ModelSection, load_meters
from wattcast.features.builder import build_features
from wattcast.models.profile_forest import ProfileForestRegressor
from wattcast.models.tree_growing import (
    TreeSpec,
    _direct_builder_matches,
    bootstrap_weights,
    grow_tree,
    tree_seeds,
)


def meter_rows(days: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and split targets of one Andover meter, the data tiled to ``days``."""
    folder = Path(str(resources.files("wattcast") / "datasets" / "andover"))
    frame = load_meters(folder / "meters.csv.gz")
    frame = frame.select(["Main (kW)"])
    if days > 200:
        reps = -(-days * 96 // frame.n_steps)
        frame.values = np.tile(frame.values, (reps, 1))[: days * 96]
    window = ModelSection()
    extras = [ExtraTable.load(folder / "daily_extras.csv")] if days <= 200 else []
    features = build_features(frame, window, extras)
    data = features.meter_data("Main (kW)")
    forest = ProfileForestRegressor(n_components=6)
    X, Y, _ = forest.plan(data.X, data.Y)
    return X, forest.split_targets(Y)


def grow_chunk(X: np.ndarray, Z: np.ndarray, how: str, seed: int) -> list:
    spec = TreeSpec("best", 1.0, 2)
    X32 = np.asfortranarray(X.astype(np.float32))
    Zc = np.ascontiguousarray(Z)
    trees = []
    for tree_seed in tree_seeds(seed, 25):
        weight = bootstrap_weights(tree_seed, len(X), len(X) // 2, None)
        if how == "direct":
            trees.append(grow_tree(X32, Zc, weight, spec, tree_seed))
        elif how == "public":
            trees.append(spec.public_tree(tree_seed).fit(X32, Zc, sample_weight=weight))
        else:
            with sklearn.config_context(skip_parameter_validation=True):
                tree = spec.public_tree(tree_seed)
                trees.append(tree.fit(X32, Zc, sample_weight=weight, check_input=False))
    return trees


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    assert _direct_builder_matches()
    print(f"scikit-learn {sklearn.__version__}")
    for days in (197, 365):
        X, Z = meter_rows(days)
        ways = ("public", "public, no checks", "direct")
        times: dict[str, list[float]] = {w: [] for w in ways}
        reference = [t.tree_.threshold for t in grow_chunk(X, Z, "public", 0)]
        for way in ways:
            grown = [t.tree_.threshold for t in grow_chunk(X, Z, way, 0)]
            assert all(np.array_equal(a, b) for a, b in zip(reference, grown, strict=True)), way
        for _ in range(args.repeats):
            for way in ways:
                start = time.perf_counter()
                grow_chunk(X, Z, way, 1)
                times[way].append(time.perf_counter() - start)
        direct = statistics.median(times["direct"])
        print(f"{X.shape[0]} windows x {X.shape[1]} features, 25 trees, median of {args.repeats}:")
        for way in ways:
            median = statistics.median(times[way])
            print(f"  {way:18s} {median * 1000:7.2f} ms  ({median / direct:.2f}x direct)")


if __name__ == "__main__":
    main()
