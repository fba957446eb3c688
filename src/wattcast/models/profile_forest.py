"""A multi-output forest for load profiles whose splits are searched on a few
principal components of the profile while its leaves keep the full profile.

A random forest with 96 outputs spends nearly all its time evaluating split
impurity over all 96 outputs. Daily load profiles are highly correlated across
the day, so the mean squared error of a split is almost entirely carried by a
handful of principal components. Trees here choose splits on those components
(``n_components``; ``None`` uses the raw outputs like a plain random forest),
then every leaf predicts the weighted mean of the in-bag training profiles that
fall into it, in kW. The trees are scikit-learn's decision trees, grown and
bagged as its forests grow them (:mod:`wattcast.models.tree_growing`); with
``n_components=None`` and one chunk this is exactly scikit-learn's
``RandomForestRegressor`` (or ``ExtraTreesRegressor`` with the same bootstrap).

Keeping, per tree, which leaf each training sample falls in and its bootstrap
weight also gives the per-tree predictions (spread of the trees), quantile
regression forest weights and out-of-bag predictions without storing a
profile per leaf.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from wattcast.errors import InputError
from wattcast.models.estimator_params import CONSTRAINTS, check_params
from wattcast.models.tree_growing import (
    MAX_SEED,
    TreeSpec,
    bootstrap_weights,
    grow_tree,
    tree_seeds,
)

#: The splitter of each kind of tree: random forests search the best threshold,
#: extremely randomized trees draw one at random per feature.
SPLITTERS = {"random": "best", "extra": "random"}


@dataclass
class TreeChunk:
    """A few fitted trees with what a profile forest keeps of them.

    Forests are fitted in chunks of trees so that many meters' work splits
    evenly over the workers and the result does not depend on how many there are.
    """

    trees: list
    leaves: np.ndarray  # (trees, n_train): leaf of every training row
    weights: np.ndarray  # (trees, n_train): in-bag weight of every training row
    oob_sum: np.ndarray | None  # (n_train, outputs): summed out-of-bag predictions
    oob_count: np.ndarray | None  # (n_train,)
    seconds: float  # CPU time spent fitting
    span: tuple[float, float, int] = (0.0, 0.0, 0)  # perf_counter start, end, process id


def fit_chunk(
    X: np.ndarray,
    Y: np.ndarray,
    Z: np.ndarray,
    sample_weight: np.ndarray | None,
    params: dict,
    n_trees: int,
    seed: int | None,
    with_oob: bool,
) -> TreeChunk:
    """Fit ``n_trees`` trees on the split targets ``Z``; runs inside a worker.

    Bagged as scikit-learn's forests bag, so a single chunk seeded like a
    ``RandomForestRegressor`` grows the same trees.
    """
    # CPU time of this thread: in a thread pool, waiting for the GIL is not work.
    start, wall_start = time.thread_time(), time.perf_counter()
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    # The splitter reads one feature of many rows at a time: columns contiguous.
    X32_columns = np.asfortranarray(X32)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    spec = TreeSpec(
        SPLITTERS[params["tree_type"]], params["max_features"], params["min_samples_leaf"]
    )
    seeds = tree_seeds(seed, n_trees)
    weights = _in_bag_weights(params, seeds, sample_weight, len(X))
    unweighted = not params["bootstrap"] and sample_weight is None
    trees = [
        grow_tree(X32_columns, Z, None if unweighted else w, spec, s)
        for w, s in zip(weights, seeds, strict=True)
    ]
    leaves = apply_trees(trees, X32)
    oob_sum = oob_count = None
    if with_oob:
        oob_sum, oob_count = _oob_sums(leaves, weights, Y)
    return TreeChunk(
        trees,
        leaves,
        weights,
        oob_sum,
        oob_count,
        time.thread_time() - start,
        (wall_start, time.perf_counter(), os.getpid()),
    )


def _oob_sums(
    leaves: np.ndarray, weights: np.ndarray, Y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of out-of-bag predictions of every training row, and their count.

    The leaves of all trees are numbered together; one sparse product gives
    every leaf's in-bag profile, a second sums them over the trees that left
    each row out of their bootstrap.
    """
    n_trees, n = leaves.shape
    offsets = np.arange(n_trees)[:, None] * (int(leaves.max()) + 1)
    _, leaf = np.unique(leaves + offsets, return_inverse=True)
    leaf, rows = leaf.ravel(), np.tile(np.arange(n), n_trees)
    n_leaves = int(leaf.max()) + 1
    members = sparse.csr_matrix((weights.ravel(), (leaf, rows)), shape=(n_leaves, n))
    profiles = (members @ Y) / np.asarray(members.sum(axis=1))
    out = (weights == 0).ravel()
    left_out = sparse.csr_matrix((np.ones(out.sum()), (rows[out], leaf[out])), shape=(n, n_leaves))
    return left_out @ profiles, (weights == 0).sum(axis=0).astype(np.float64)


def _bootstrap_size(max_samples: float | int | None, n: int) -> int | None:
    """A fractional ``max_samples`` as a number of windows.

    scikit-learn takes a fraction of the *sum of sample weights* when weights are
    given, which with recency weights (all below 1) would draw only a handful of
    windows; here it is always a fraction of the windows.
    """
    if max_samples is None or isinstance(max_samples, int | np.integer):
        return max_samples
    return max(int(max_samples * n), 1)


def apply_trees(trees: list, X32: np.ndarray) -> np.ndarray:
    """``(trees, n)`` leaf index of each row in each tree (``X32``: C-ordered float32)."""
    if trees and all(isinstance(tree, CompactTree) for tree in trees):
        return CompactTree.apply_all(trees, X32)
    return np.stack([tree.tree_.apply(X32) for tree in trees]).astype(np.int32)


@dataclass
class CompactTree:
    """A grown tree as a fitted forest uses it: only where each row lands.

    The forest predicts from the training profiles that share a row's leaf, never
    from the tree's own leaf values, so a kept model needs only each node's split:
    a tenth of a scikit-learn tree's size, and loaded without rebuilding one. Rows
    land in the very leaves (the node ids) that :meth:`sklearn.tree.Tree.apply` gives.
    """

    left: np.ndarray  # child of each node (-1: a leaf)
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray  # float64, as scikit-learn compares float32 features with it
    missing_left: np.ndarray | None  # where a missing value goes, per node

    @classmethod
    def of(cls, tree: object) -> CompactTree:
        inner = getattr(tree, "tree_", tree)
        if isinstance(inner, CompactTree):
            return inner
        missing = getattr(inner, "missing_go_to_left", None)
        return cls(inner.children_left.astype(np.int32), inner.children_right.astype(np.int32),
                   inner.feature.astype(np.int32), inner.threshold.astype(np.float64),
                   None if missing is None else missing.astype(bool))  # fmt: skip

    @property
    def tree_(self) -> CompactTree:
        """Read like a scikit-learn tree by :func:`apply_trees`."""
        return self

    def apply(self, X32: np.ndarray) -> np.ndarray:
        """The leaf (node id) of each row of ``X32``."""
        return self.apply_all([self], X32)[0]

    @staticmethod
    def apply_all(trees: list[CompactTree], X32: np.ndarray) -> np.ndarray:
        """``(trees, n)``: the leaf of each row in each tree, all trees walked at once.

        The trees' nodes are laid end to end (each tree's ids shifted by the nodes
        before it), so one step moves every row down every tree: as many numpy steps
        as the deepest tree is deep, not that times the number of trees.
        """
        sizes = np.array([len(tree.left) for tree in trees])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        left = np.concatenate(
            [np.where(t.left == -1, -1, t.left + o) for t, o in zip(trees, offsets, strict=True)]
        )
        right = np.concatenate([t.right + o for t, o in zip(trees, offsets, strict=True)])
        feature = np.concatenate([t.feature for t in trees])
        threshold = np.concatenate([t.threshold for t in trees])
        # where a tree keeps no rule for missing values, NaN <= threshold is False: right
        missing_left = np.concatenate([np.zeros(len(t.left), bool) if t.missing_left is None
                                       else t.missing_left for t in trees])  # fmt: skip
        n = len(X32)
        start = np.repeat(offsets, n)
        node, rows = start.copy(), np.tile(np.arange(n), len(trees))
        inner = np.flatnonzero(left[node] != -1)
        while len(inner):
            at = node[inner]
            value = X32[rows[inner], feature[at]].astype(np.float64)
            go_left = np.where(np.isnan(value), missing_left[at], value <= threshold[at])
            node[inner] = np.where(go_left, left[at], right[at])
            inner = inner[left[node[inner]] != -1]
        return (node - start).reshape(len(trees), n).astype(np.int32)


def _in_bag_weights(
    params: dict, seeds: list[int], sample_weight: np.ndarray | None, n: int
) -> np.ndarray:
    """``(trees, n)``: the sample weight each tree is grown with."""
    if params["bootstrap"]:
        drawn = _bootstrap_size(params["max_samples"], n) or n
        weight = None if sample_weight is None else np.asarray(sample_weight, float)
        return np.stack([bootstrap_weights(s, n, drawn, weight) for s in seeds])
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    return np.tile(weight, (len(seeds), 1))


def _leaf_weights(
    query_leaves: np.ndarray, train_leaves: np.ndarray, train_weights: np.ndarray
) -> np.ndarray:
    """``(trees, n_query, n_train)``: normalised weight of training rows sharing a leaf."""
    same = query_leaves[:, :, None] == train_leaves[:, None, :]
    weights = same * train_weights.astype(np.float64, copy=False)[:, None, :]
    return weights / weights.sum(axis=2, keepdims=True)


def _narrowed(values: np.ndarray) -> np.ndarray:
    """``values`` in the smallest of uint8, int16 and int32 that holds every one of them
    exactly; as they are where none does (weighted samples)."""
    if not values.size or not np.array_equal(values, np.round(values)):
        return values
    low, high = values.min(), values.max()
    for kind in (np.uint8, np.int16, np.int32):
        if np.iinfo(kind).min <= low and high <= np.iinfo(kind).max:
            return values.astype(kind)
    return values


class ProfileForestRegressor(RegressorMixin, BaseEstimator):
    """Forest of trees that split on principal components and predict full profiles.

    Parameters
    ----------
    n_estimators : number of trees.
    n_components : principal components of the outputs used to search splits;
        ``None`` searches on the raw outputs.
    tree_type : ``"random"`` (random forest) or ``"extra"`` (extremely randomized trees).
    max_features, min_samples_leaf, max_samples, bootstrap : as in scikit-learn's forests.
    chunk_size : trees fitted per task; ``None`` fits all trees as one forest (then,
        with ``n_components=None``, identical to scikit-learn's forest of the same seed).
    random_state : seed; the same seed gives bitwise identical forecasts.
    n_jobs : threads used to fit chunks here (tree building releases the GIL).
    """

    def __init__(
        self,
        n_estimators: int = 100,
        n_components: int | None = 6,
        tree_type: str = "random",
        max_features: float | int | str | None = 1.0,
        min_samples_leaf: int = 1,
        max_samples: float | int | None = None,
        bootstrap: bool = True,
        chunk_size: int | None = 25,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.n_components = n_components
        self.tree_type = tree_type
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_samples = max_samples
        self.bootstrap = bootstrap
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting in chunks ---------------------------------------------------
    def plan(
        self, X: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int | None]]]:
        """Validate, learn the split targets and lay out the chunks: (X, Y, chunks)."""
        check_params("profile forest", {k: getattr(self, k) for k in CONSTRAINTS})
        trees = self.n_estimators
        if not _whole(trees) or trees < 1:
            raise InputError(f"`n_estimators` must be an integer of at least 1. Got {trees!r}.")
        seed = self.random_state
        drawn = isinstance(seed, np.random.RandomState)  # as scikit-learn takes one
        if seed is not None and not drawn and not (_whole(seed) and 0 <= seed < 2**32):
            raise InputError(f"`random_state` must be None, an integer from 0 to {2**32 - 1} "
                             f"or a numpy RandomState. Got {seed!r}.")  # fmt: skip
        if self.n_jobs is not None and (not _whole(self.n_jobs) or self.n_jobs == 0):
            raise InputError(f"`n_jobs` must be None or a non-zero integer. Got {self.n_jobs!r}.")
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float64)
        self.single_output_ = y.ndim == 1  # predictions come back as y came
        Y = y.reshape(len(y), -1)
        self._split_targets(Y)
        return X, Y, self.chunk_plan()

    def chunk_plan(self) -> list[tuple[int, int | None]]:
        """``(n_trees, seed)`` of every chunk; fixed by the parameters alone."""
        size = self.chunk_size or self.n_estimators
        if size >= self.n_estimators:
            return [(self.n_estimators, self.random_state)]
        counts = [size] * (self.n_estimators // size)
        if self.n_estimators % size:
            counts.append(self.n_estimators % size)
        seeds = check_random_state(self.random_state).randint(MAX_SEED, size=len(counts))
        return [(c, int(s)) for c, s in zip(counts, seeds, strict=True)]

    def split_targets(self, Y: np.ndarray) -> np.ndarray:
        """The targets the trees split on: principal component scores or ``Y`` itself."""
        if self.components_ is None:
            return Y
        return (Y - self.target_mean_) @ self.components_.T

    def chunk_params(self) -> dict:
        return {
            "tree_type": self.tree_type,
            "max_features": self.max_features,
            "min_samples_leaf": self.min_samples_leaf,
            "max_samples": self.max_samples,
            "bootstrap": self.bootstrap,
        }

    def fit(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> ProfileForestRegressor:
        X, Y, chunks = self.plan(X, y)
        sample_weight = _checked_weights(sample_weight, len(X))
        Z = self.split_targets(Y)
        params = self.chunk_params()
        fitted = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(fit_chunk)(X, Y, Z, sample_weight, params, n, seed, False) for n, seed in chunks
        )
        return self.assemble(fitted, Y)

    def assemble(self, chunks: list[TreeChunk], Y: np.ndarray) -> ProfileForestRegressor:
        """Join fitted chunks (in plan order) into this forest."""
        self.estimators_ = [tree for chunk in chunks for tree in chunk.trees]
        self.train_leaves_ = np.concatenate([c.leaves for c in chunks])
        self.train_weights_ = np.concatenate([c.weights for c in chunks])
        self.y_train_ = Y
        self.n_outputs_ = Y.shape[1]
        if all(c.oob_sum is not None for c in chunks):
            total = sum(c.oob_sum for c in chunks)
            count = sum(c.oob_count for c in chunks)
            with np.errstate(invalid="ignore", divide="ignore"):
                self.oob_prediction_ = total / count[:, None]
        return self

    def _split_targets(self, Y: np.ndarray) -> None:
        self.target_mean_ = Y.mean(axis=0)
        if self.n_components is None or self.n_components >= min(Y.shape):
            self.components_ = None
            return
        _, _, vt = np.linalg.svd(Y - self.target_mean_, full_matrices=False)
        self.components_ = vt[: self.n_components]

    # -- prediction ------------------------------------------------------------
    def _check_X(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return np.ascontiguousarray(X, dtype=np.float32)

    def tree_predictions(self, X: np.ndarray) -> np.ndarray:
        """``(trees, n, outputs)``: every tree's prediction."""
        X32 = self._check_X(X)
        leaves = apply_trees(self.estimators_, X32)
        return _leaf_weights(leaves, self.train_leaves_, self.train_weights_) @ self.y_train_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean of the trees' predictions: ``(n,)`` for a forest fitted on one target
        given as a 1-D ``y``, else ``(n, outputs)``."""
        mean = self.tree_predictions(X).mean(axis=0)
        return mean[:, 0] if getattr(self, "single_output_", False) else mean

    def compacted(self) -> ProfileForestRegressor:
        """This fitted forest with :class:`CompactTree` s, without its out-of-bag means,
        and with the training rows' leaves and in-bag weights in the narrowest integer
        type that holds them exactly (bootstrap counts are small integers): the same
        forecasts, to keep between nights, in two thirds of the bytes."""
        import copy

        out = copy.copy(self)
        out.estimators_ = [CompactTree.of(tree) for tree in self.estimators_]
        out.__dict__.pop("oob_prediction_", None)
        out.train_leaves_ = _narrowed(self.train_leaves_)
        out.train_weights_ = _narrowed(self.train_weights_)
        return out

    def forest_weights(self, X: np.ndarray) -> np.ndarray:
        """``(n, n_train)`` weights of the training profiles (quantile regression forest)."""
        X32 = self._check_X(X)
        leaves = apply_trees(self.estimators_, X32)
        return _leaf_weights(leaves, self.train_leaves_, self.train_weights_).mean(axis=0)


def _whole(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _checked_weights(weight: np.ndarray | None, n: int) -> np.ndarray | None:
    """``sample_weight`` as fit takes it: ``n`` finite values, none negative, not all zero."""
    if weight is None:
        return None
    weight = np.asarray(weight, dtype=float)
    if weight.shape != (n,):
        raise InputError(f"`sample_weight` must have one value per row ({n}). Got shape "
                         f"{weight.shape}.")  # fmt: skip
    if not np.isfinite(weight).all() or (weight < 0).any() or not weight.sum() > 0:
        raise InputError("`sample_weight` must be finite, none negative, and not all zero.")
    return weight
