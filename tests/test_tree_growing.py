from __future__ import annotations

import numpy as np
import pytest

from wattcast import ProfileForestRegressor
from wattcast.models import tree_growing
from wattcast.models.tree_growing import TreeSpec, bootstrap_weights, grow_tree


def problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(150, 9)).astype(np.float32)
    X[:, 3] = rng.integers(0, 7, 150)  # ties, like a day of week
    Z = np.column_stack([X[:, 0] + X[:, 3] + rng.normal(size=150), rng.normal(size=(150, 3))])
    return X, Z, bootstrap_weights(5, 150, 75, None)


SPECS = [
    TreeSpec("best", 1.0, 2),
    TreeSpec("best", "sqrt", 1),
    TreeSpec("best", 4, 3),
    TreeSpec("random", None, 2),
    TreeSpec("random", 0.5, 1),
]


@pytest.mark.parametrize("spec", SPECS)
def test_grown_trees_are_scikit_learns_trees(spec: TreeSpec) -> None:
    X, Z, weight = problem()
    assert tree_growing._direct_builder_matches()
    for seed in (0, 11, 12345):
        ours = grow_tree(X, Z, weight, spec, seed)
        theirs = spec.public_tree(seed).fit(X, Z, sample_weight=weight)
        np.testing.assert_array_equal(ours.tree_.feature, theirs.tree_.feature)
        np.testing.assert_array_equal(ours.tree_.threshold, theirs.tree_.threshold)
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
        np.testing.assert_array_equal(ours.apply(X), theirs.apply(X))


def test_bootstrap_draws_the_requested_number_of_windows() -> None:
    weight = bootstrap_weights(3, 100, 50, None)
    assert weight.sum() == 50
    assert np.array_equal(weight, bootstrap_weights(3, 100, 50, None))
    recent = np.r_[np.zeros(50), np.ones(50)]
    assert bootstrap_weights(3, 100, 50, recent)[:50].sum() == 0


def test_forest_is_the_same_without_the_direct_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    X, Z, _ = problem(1)
    Y = np.repeat(Z, 6, axis=1)

    def fit() -> np.ndarray:
        forest = ProfileForestRegressor(
            n_estimators=30, n_components=2, max_samples=0.5, min_samples_leaf=2, random_state=4
        )
        return forest.fit(X[:120], Y[:120]).tree_predictions(X[120:])

    direct = fit()
    monkeypatch.setattr(tree_growing, "direct_builder_problem", lambda: "a test")
    np.testing.assert_array_equal(fit(), direct)


def test_the_guard_trips_on_other_trees_warns_once_and_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = tree_growing._grow_directly

    def off_by_one_seed(X32, Z, weight, spec, seed):  # internals that grow other trees
        return real(X32, Z, weight, spec, seed + 1)

    check = tree_growing.direct_builder_problem.__wrapped__
    assert check() is None
    monkeypatch.setattr(tree_growing, "_grow_directly", off_by_one_seed)
    with pytest.warns(tree_growing.DirectBuilderWarning, match="cannot be called directly"):
        assert "differ" in check()

    def gone(*args, **kwargs):  # internals that changed shape
        raise AttributeError("module 'sklearn.tree._tree' has no attribute 'Tree'")

    monkeypatch.setattr(tree_growing, "_grow_directly", gone)
    with pytest.warns(tree_growing.DirectBuilderWarning, match="AttributeError"):
        assert check().startswith("AttributeError")


def test_the_builder_in_use_is_in_the_run_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import synthetic_wide

    from wattcast import Fleet, ModelSection

    model = ModelSection(input="7D", trees=4)
    fleet = Fleet(model).fit(synthetic_wide(days=20))
    assert fleet.run_log()["tree_builder"] == "direct"
    monkeypatch.setattr(tree_growing, "direct_builder_problem", lambda: "a test")
    assert Fleet(model).fit(synthetic_wide(days=20)).run_log()["tree_builder"] == (
        "public (a test)"
    )
