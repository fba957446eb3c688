"""Growing the trees of a forest: scikit-learn's tree builder without its per-tree overhead.

A meter's forest is a hundred small trees (a few hundred windows, a few dozen
features). scikit-learn builds such a tree in well under a millisecond but spends
more than that again per tree in Python around the builder (estimator cloning,
parameter introspection, input checks), all of it holding the GIL. Here each tree
is grown by scikit-learn's own Cython builder, splitter and criterion, called
directly, then wrapped in a fitted ``DecisionTreeRegressor``.

The direct call uses scikit-learn internals, so it is checked once per process
against ``DecisionTreeRegressor.fit`` on small problems (weighted and unweighted
rows, C- and Fortran-ordered features, both splitters), comparing the trees and
their predictions: if anything differs, or the internals changed shape, every
tree is grown through the public ``DecisionTreeRegressor.fit`` instead (same
trees, slower), a :class:`DirectBuilderWarning` says why, once, and the run
records it. Measured (``bench/tree_builder.py``): the public fit takes 2.0-2.3x
as long, and 1.4-1.6x even with ``check_input=False`` and parameter validation
off, so the direct path is kept.

Bagging follows scikit-learn's forests: per-tree seeds drawn one after another
from the forest's seed, the bootstrap drawn from the tree's seed (in proportion
to the sample weights when there are some), the draw counts as the tree's sample
weights, and the tree's splitter seeded with the same per-tree seed.
"""

from __future__ import annotations

import functools
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import check_random_state

from wattcast.errors import WattcastWarning

MAX_SEED = np.iinfo(np.int32).max


class DirectBuilderWarning(WattcastWarning):
    """scikit-learn's tree builder cannot be called directly here; trees grow slower."""


@dataclass(frozen=True)
class TreeSpec:
    """Settings shared by every tree of a forest, as ``DecisionTreeRegressor`` takes them."""

    splitter: str  # "best" (random forest) or "random" (extremely randomized trees)
    max_features: float | int | str | None
    min_samples_leaf: int

    def public_tree(self, seed: int) -> DecisionTreeRegressor:
        """An unfitted scikit-learn tree with these settings and ``seed``."""
        return DecisionTreeRegressor(
            splitter=self.splitter,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            random_state=seed,
        )


def tree_seeds(seed: int | np.random.RandomState | None, n_trees: int) -> list[int]:
    """Per-tree seeds, drawn as scikit-learn's forests draw them."""
    random_state = check_random_state(seed)
    return [int(random_state.randint(MAX_SEED)) for _ in range(n_trees)]


def bootstrap_weights(
    seed: int, n: int, n_drawn: int, sample_weight: np.ndarray | None
) -> np.ndarray:
    """How many times each of ``n`` rows is drawn into a tree's bootstrap."""
    random_state = _seeded(seed)
    if sample_weight is None:
        drawn = random_state.randint(0, n, n_drawn)
    else:
        drawn = random_state.choice(n, n_drawn, p=sample_weight / sample_weight.sum())
    return np.bincount(drawn, minlength=n).astype(np.float64)


def grow_tree(
    X32: np.ndarray, Z: np.ndarray, weight: np.ndarray | None, spec: TreeSpec, seed: int
) -> DecisionTreeRegressor:
    """One fitted tree on float32 features ``X32`` and float64 targets ``Z``."""
    if direct_builder_problem() is None:
        return _grow_directly(X32, Z, weight, spec, seed)
    return spec.public_tree(seed).fit(X32, Z, sample_weight=weight)


def _grow_directly(
    X32: np.ndarray, Z: np.ndarray, weight: np.ndarray | None, spec: TreeSpec, seed: int
) -> DecisionTreeRegressor:
    """The body of ``DecisionTreeRegressor.fit`` for checked dense float inputs."""
    from sklearn.tree._classes import CRITERIA_REG, DENSE_SPLITTERS
    from sklearn.tree._tree import DepthFirstTreeBuilder, Tree

    n, n_features = X32.shape
    n_outputs = Z.shape[1]
    tree = spec.public_tree(seed)
    max_features = _resolve_max_features(spec.max_features, n_features)
    leaf = spec.min_samples_leaf
    criterion = CRITERIA_REG["squared_error"](n_outputs, n)
    splitter = DENSE_SPLITTERS[spec.splitter](
        criterion, max_features, leaf, 0.0, _seeded(seed), None
    )
    grown = Tree(n_features, np.ones(n_outputs, dtype=np.intp), n_outputs)
    builder = DepthFirstTreeBuilder(splitter, max(2, 2 * leaf), leaf, 0.0, MAX_SEED, 0.0)
    builder.build(grown, X32, Z, weight, None)
    tree.tree_, tree.n_outputs_, tree.n_features_in_ = grown, n_outputs, n_features
    tree.max_features_ = max_features
    return tree


_PER_THREAD = threading.local()


def _seeded(seed: int) -> np.random.RandomState:
    """``np.random.RandomState(seed)``, reseeding one generator per thread.

    Constructing a generator costs ~100 times more than reseeding one, which
    would add a tenth to the time of growing a small tree.
    """
    random_state = getattr(_PER_THREAD, "random_state", None)
    if random_state is None:
        random_state = _PER_THREAD.random_state = np.random.RandomState()
    random_state.seed(seed)
    return random_state


def _resolve_max_features(max_features: float | int | str | None, n_features: int) -> int:
    if max_features is None:
        return n_features
    if max_features == "sqrt":
        return max(1, int(np.sqrt(n_features)))
    if max_features == "log2":
        return max(1, int(np.log2(n_features)))
    if isinstance(max_features, int | np.integer):
        return int(max_features)
    return max(1, int(max_features * n_features))


def _direct_builder_matches() -> bool:
    """Whether growing directly gives scikit-learn's trees in the installed version."""
    return direct_builder_problem() is None


def tree_builder() -> str:
    """How trees are grown in this process: ``direct``, or ``public (why)``."""
    problem = direct_builder_problem()
    return "direct" if problem is None else f"public ({problem})"


@functools.cache
def direct_builder_problem() -> str | None:
    """Why trees cannot be grown directly here (None: they can); checked once per process."""
    rng = np.random.default_rng(0)
    X32 = rng.normal(size=(60, 5)).astype(np.float32)
    X32[:, 2] = rng.integers(0, 7, 60)  # ties, like a day of week
    Z = np.column_stack([X32[:, 0] * 2 + rng.normal(size=60), rng.normal(size=60)])
    counts = np.bincount(rng.integers(0, 60, 60), minlength=60).astype(np.float64)
    cases = [
        (TreeSpec("best", 0.6, 2), 7, counts, np.asfortranarray(X32)),
        (TreeSpec("best", None, 2), 9, None, np.asfortranarray(X32)),
        (TreeSpec("random", None, 1), 8, counts, X32),
        (TreeSpec("best", 1.0, 1), 5, None, X32),
    ]
    for spec, seed, weight, features in cases:
        public = spec.public_tree(seed).fit(X32, Z, sample_weight=weight)
        try:
            direct = _grow_directly(features, Z, weight, spec, seed)
            same_predictions = np.array_equal(direct.predict(X32), public.predict(X32))
        except (ImportError, AttributeError, TypeError, ValueError, KeyError) as exc:
            return _fall_back(f"{type(exc).__name__}: {exc}")
        if not _same_tree(direct.tree_, public.tree_) or not same_predictions:
            return _fall_back("its trees differ from DecisionTreeRegressor.fit's")
    return None


def _fall_back(problem: str) -> str:
    import sklearn

    warnings.warn(
        f"scikit-learn {sklearn.__version__}: its tree builder cannot be called directly "
        f"({problem}); trees are grown with DecisionTreeRegressor.fit, the same trees about "
        "twice as slowly.",
        DirectBuilderWarning,
        stacklevel=2,
    )
    return problem


def _same_tree(a: object, b: object) -> bool:
    fields = ("children_left", "children_right", "feature", "threshold", "value")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)
