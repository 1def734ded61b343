"""Histogram normalization and the classifiers of clip descriptors, with a safe inner search.

The last two steps of a handcrafted method's pipeline
(:func:`handcrafted_dfer.pipeline.build_pipeline`) are :class:`HistogramNormalizer` and
:class:`SubjectSearchClassifier`. The classifier wrapped by the search is a small
:class:`~sklearn.pipeline.Pipeline` whose last step is named after its family (``svm``, ``ridge`` or
``rf``, the step names of method specs; see :func:`classifier_recipe`).

**The inner search** picks hyper-parameters on folds of the *training* clips only, grouped by
subject, and refits on all of them; nothing about a test subject reaches model selection. On small
data a grid search mostly fits the noise of a few validation subjects, so it is guarded: the default
point of the grid is kept unless the search can be trusted (every class has at least
:data:`MIN_VALIDATION_CLIPS` clips per inner validation fold on average) *and* the best point beats
the default by more than ``margin_se`` (default :data:`SEARCH_MARGIN_SE`) standard errors of their
paired per-fold difference. On CK+48 (``experiments/ckplus48``, 10-fold, six methods) a plain argmax
over the grid did worse than the grid's default on average over the folds by up to 2.5 points, a
margin of one standard error by up to 0.5 points (two methods); with two it never did worse, and did
better once (``lbptop-ridge``, 94.4 against 94.1).

**Predictions** come from the fitted classifier's own ``predict`` (the SVM's decision function,
the forest's vote), never from the argmax of calibrated probabilities. Probabilities
(``predict_proba``, for ``dfer predict`` timelines) come from Platt scaling fitted on the inner
folds (``CalibratedClassifierCV(..., ensemble=False)``, as scikit-learn recommends since it
deprecated ``SVC(probability=True)``); a forest has its own.

The SVMs are libsvm SVMs whose kernel is computed by a callable, in one matrix product:
scikit-learn's :func:`~sklearn.metrics.pairwise.linear_kernel` for ``linear-svm`` and ``chi2-svm``,
and :func:`rbf_kernel_scaled` for ``svm``. The models are those of ``SVC(kernel="linear")`` and
``SVC(kernel="rbf", gamma="scale")``, but libsvm's own kernels evaluate every entry with a separate
BLAS ``ddot`` call, which OpenBLAS runs multi-threaded above 10,000 features: on a busy machine each
call then waits for its threads. A linear fit on 42 clips of 16,992 χ²-mapped features took 25 s
instead of 0.5 s, and an RBF evaluation of 327 CK+48 clips (11,328 features, 10 folds) 27 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import AdditiveChi2Sampler
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import get_scorer
from sklearn.metrics.pairwise import linear_kernel, rbf_kernel
from sklearn.model_selection import ParameterGrid, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .spec import CLASSIFIERS

__all__ = [
    "rbf_kernel_scaled",
    "CLASSIFIERS",
    "NORMALIZATIONS",
    "SEARCH_MARGIN_SE",
    "MIN_VALIDATION_CLIPS",
    "ClassifierRecipe",
    "HistogramNormalizer",
    "SubjectSearchClassifier",
    "classifier_recipe",
    "histogram_segments",
]

#: Histogram normalizations accepted by :class:`HistogramNormalizer`.
NORMALIZATIONS = ("none", "l1", "hellinger", "chi2")
#: Below this mean number of clips of the rarest class per inner validation fold, the inner search
#: is not trusted and the grid's default point is kept.
MIN_VALIDATION_CLIPS = 3
#: How many standard errors of the paired per-fold difference the best grid point must beat the
#: default by before the inner search replaces the default (``SubjectSearchClassifier``'s
#: ``margin_se``; ``--set search.margin_se=0`` is a plain argmax over the grid).
SEARCH_MARGIN_SE = 2.0


def rbf_kernel_scaled(X, Y) -> np.ndarray:
    """The RBF kernel of ``SVC(gamma="scale")`` between ``X`` and the training rows ``Y``.

    ``gamma = 1 / (n_features * Y.var())``, as scikit-learn computes it from the training data:
    libsvm hands a callable kernel the training rows as ``Y`` both when fitting and when
    predicting, so the same gamma is used throughout.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    variance = Y.var()
    gamma = 1.0 / (Y.shape[1] * variance) if variance > 0 else 1.0
    return rbf_kernel(X, Y, gamma=gamma)


def histogram_segments(feature_names) -> list[int]:
    """Lengths of the runs of consecutive features that form one histogram.

    A histogram is the set of consecutive names that agree on everything before the last ``/``
    (``lbptop/xy/r2c3/t0/b17`` belongs to ``lbptop/xy/r2c3/t0``), see GUIDE §3.

    Parameters
    ----------
    feature_names : sequence of str

    Returns
    -------
    list of int
        Run lengths, summing to ``len(feature_names)``.
    """
    lengths: list[int] = []
    previous = None
    for name in feature_names:
        prefix = str(name).rsplit("/", 1)[0]
        if prefix == previous:
            lengths[-1] += 1
        else:
            lengths.append(1)
            previous = prefix
    return lengths


class HistogramNormalizer(TransformerMixin, BaseEstimator):
    """Normalize each histogram of a concatenated descriptor.

    Parameters
    ----------
    method : {"none", "l1", "hellinger", "chi2"}
        ``l1`` divides each histogram by its sum; ``hellinger`` takes the square root of the L1
        normalized histogram (a linear kernel on it is the Bhattacharyya / Hellinger kernel);
        ``chi2`` applies scikit-learn's :class:`~sklearn.kernel_approximation.AdditiveChi2Sampler`
        (``sample_steps=2``, three output columns per input column) to the L1-normalized
        histograms, so that a linear classifier approximates an additive χ² kernel.
    segments : sequence of int or None
        Lengths of the consecutive histograms (see :func:`histogram_segments`); ``None`` treats the
        whole row as one histogram.
    families : sequence of int or None
        Lengths of the consecutive feature families (one per extractor of a fused descriptor);
        ``None`` is one family.
    balance : bool
        Scale each family so that its rows have, on the training data, a mean Euclidean norm of
        1: fused families then weigh the same whatever their number of blocks, and a classifier's
        regularisation (an SVM's C, a ridge's alpha) means the same for every descriptor.

    Attributes
    ----------
    n_features_in_ : int
    scales_ : ndarray of float64
        The factor of each family (1 where ``balance`` is off or a family is all zeros).

    Notes
    -----
    Histograms must be non-negative (except with ``method="none"``). An all-zero histogram (e.g. a
    block with no valid voxels) stays zero.
    """

    def __init__(self, method: str = "hellinger", segments=None, families=None,
                 balance: bool = True):
        self.method = method
        self.segments = segments
        self.families = families
        self.balance = balance

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.method != "none"
        return tags

    def _validate(self, X, *, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=True)
        if self.method != "none" and X.size and X.min() < 0:
            raise ValueError(f"Negative values in data passed to HistogramNormalizer: histogram "
                             f"normalization {self.method!r} needs non-negative features; the "
                             f"smallest value is {X.min()}")
        for name, lengths in (("segments", self.segments), ("families", self.families)):
            if lengths is not None and sum(lengths) != X.shape[1]:
                raise ValueError(f"{name} sum to {sum(lengths)} but there are {X.shape[1]} "
                                 f"features")
        return X

    def _family_columns(self, n_in: int, n_out: int) -> np.ndarray:
        """The family of every output column (the χ² map repeats the input columns)."""
        lengths = [n_in] if self.families is None else list(self.families)
        of_input = np.repeat(np.arange(len(lengths)), lengths)
        return np.tile(of_input, n_out // n_in)

    def fit(self, X, y=None):
        """Check the input and the lengths; learn each family's scale (``balance``)."""
        if self.method not in NORMALIZATIONS:
            raise ValueError(f"unknown histogram normalization {self.method!r}; "
                             f"choose from {', '.join(NORMALIZATIONS)}")
        X = self._validate(X, reset=True)
        out = self._normalized(X)
        columns = self._family_columns(X.shape[1], out.shape[1])
        n_families = 1 if self.families is None else len(self.families)
        self.scales_ = np.ones(n_families)
        if self.balance and len(out):
            for k in range(n_families):
                norm = np.linalg.norm(out[:, columns == k], axis=1).mean()
                if norm > 0:
                    self.scales_[k] = 1.0 / norm
        return self

    def transform(self, X):
        """Normalized features (three times as many columns for ``method="chi2"``)."""
        check_is_fitted(self, "n_features_in_")
        X = self._validate(X, reset=False)
        out = self._normalized(X)
        return out * self.scales_[self._family_columns(X.shape[1], out.shape[1])]

    def _normalized(self, X) -> np.ndarray:
        if self.method == "none":
            return X
        segments = [X.shape[1]] if self.segments is None else list(self.segments)
        out = np.zeros_like(X)
        start = 0
        for length in segments:
            block = X[:, start:start + length]
            total = block.sum(axis=1, keepdims=True)
            np.divide(block, total, out=out[:, start:start + length], where=total > 0)
            start += length
        if self.method == "hellinger":
            return np.sqrt(out)
        if self.method == "chi2":
            return AdditiveChi2Sampler(sample_steps=2).fit_transform(out)
        return out


class SubjectSearchClassifier(ClassifierMixin, BaseEstimator):
    """A guarded grid search over folds of the training clips, grouped by subject; then a refit.

    Parameters
    ----------
    estimator : scikit-learn classifier
        The classifier whose parameters are searched (usually a small Pipeline).
    param_grid : dict
        Grid of ``estimator`` parameters (``{"svm__C": [0.1, 1, 10]}``); a single combination (or
        an empty grid) skips the search.
    default : dict or None
        The grid point kept unless the search earns a change (see the module docstring); None
        takes the middle value of every grid list.
    n_splits : int
        Inner folds (fewer when there are fewer subjects).
    groups_aware : bool
        Group the inner folds by the ``groups`` given to :meth:`fit`. False, or no usable groups,
        falls back to stratified folds, and :attr:`search_cv_` says so.
    calibrate : bool
        Fit sigmoid calibration on the inner folds, for :meth:`predict_proba` (SVMs; a random
        forest has its own probabilities). Predictions never use it.
    scoring : str
        Selection criterion; the default ``balanced_accuracy`` is UAR.
    margin_se : float
        How many standard errors of the paired per-fold difference the best point must beat the
        default by to replace it (0: the plain argmax of the mean inner score).
    n_jobs : int or None
        Unused by the search itself (kept for the API); the inner fits run in this process.
    random_state : int
        Seed of the stratified fallback splits.

    Attributes
    ----------
    best_params_ : dict
        The grid point used for the final fit.
    search_scores_ : dict or None
        ``{"default": mean inner score of the default, "best": of the best point, "se": standard
        error of their difference}``; None when no search ran.
    best_estimator_ : estimator
        ``estimator`` with ``best_params_``, fitted on all training clips; makes the predictions.
    calibrated_ : CalibratedClassifierCV or None
        Probabilities of :meth:`predict_proba` when ``calibrate``.
    search_cv_ : str
        How the inner folds were made and what the search decided (reported, never silent).
    classes_ : ndarray
    n_features_in_ : int
    """

    def __init__(self, estimator, param_grid, *, default=None, n_splits: int = 3,
                 groups_aware: bool = True, calibrate: bool = False,
                 scoring: str = "balanced_accuracy", margin_se: float = SEARCH_MARGIN_SE,
                 n_jobs=None, random_state: int = 0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.default = default
        self.n_splits = n_splits
        self.groups_aware = groups_aware
        self.calibrate = calibrate
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.margin_se = margin_se
        self.random_state = random_state

    def _splits(self, X, y, groups):
        """Inner folds and their description (or ``None`` when the data are too small to split)."""
        _, counts = np.unique(y, return_counts=True)
        reason = None
        if not self.groups_aware:
            reason = "subject grouping switched off"
        elif groups is None or any(g is None for g in groups):
            reason = "subjects unknown"
        else:
            n_groups = len(set(groups))
            k = min(self.n_splits, n_groups)
            if k >= 2:
                cv = StratifiedGroupKFold(n_splits=k)
                return (list(cv.split(X, y, groups)),
                        f"StratifiedGroupKFold({k}) over {n_groups} training subjects")
            reason = f"only {n_groups} training subject"
        k = min(self.n_splits, int(counts.min()))
        if k < 2:
            return None, f"none ({reason}; a class has fewer than 2 training clips)"
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
        return (list(cv.split(X, y)),
                f"StratifiedKFold({k}) ({reason}): inner folds may share subjects")

    def _default_point(self, grid: list) -> dict:
        if self.default is not None:
            point = dict(self.default)
        else:
            point = {key: values[len(values) // 2] for key, values in self.param_grid.items()}
        if point not in grid:
            raise ValueError(f"the default {point} is not a point of the grid {self.param_grid}")
        return point

    def _search(self, X, y, splits, grid: list, default: dict):
        """Mean inner score of each grid point; the chosen point and the scores behind it."""
        scorer = get_scorer(self.scoring)
        scores = np.empty((len(grid), len(splits)))
        for g, point in enumerate(grid):
            for f, (train, val) in enumerate(splits):
                model = clone(self.estimator).set_params(**point).fit(X[train], y[train])
                scores[g, f] = scorer(model, X[val], y[val])
        d = grid.index(default)
        best = int(np.argmax(scores.mean(axis=1)))
        difference = scores[best] - scores[d]
        se = float(difference.std(ddof=1) / np.sqrt(len(splits))) if len(splits) > 1 else 0.0
        chosen = grid[best] if difference.mean() > self.margin_se * se else default
        return chosen, {"default": float(scores[d].mean()), "best": float(scores[best].mean()),
                        "se": se}

    def fit(self, X, y, groups=None):
        """Search (when it can be trusted), then refit on all of ``X``.

        Parameters
        ----------
        X : array_like, shape (n_clips, n_features)
        y : array_like, shape (n_clips,)
        groups : array_like, shape (n_clips,), optional
            Subject of each training clip.
        """
        X, y = validate_data(self, X, y, dtype=None)
        check_classification_targets(y)
        groups = None if groups is None else np.asarray(groups, dtype=object)
        splits, how = self._splits(X, y, groups)
        grid = list(ParameterGrid(self.param_grid))
        default = self._default_point(grid)
        self.search_scores_ = None
        if len(grid) == 1:
            self.best_params_ = default
        elif splits is None:
            self.best_params_ = default
            how += "; default kept (no inner folds)"
        else:
            mean_per_fold = min(np.sum(y == c) for c in np.unique(y)) / len(splits)
            if mean_per_fold < MIN_VALIDATION_CLIPS:
                self.best_params_ = default
                how += (f"; default kept (inner folds too small to search: "
                        f"{mean_per_fold:.1f} clips of the rarest class per fold)")
            else:
                self.best_params_, self.search_scores_ = self._search(X, y, splits, grid, default)
                kept = "default kept" if self.best_params_ == default else "changed from default"
                how += (f"; {kept} (inner {self.scoring}: default "
                        f"{self.search_scores_['default']:.3f}, best "
                        f"{self.search_scores_['best']:.3f} ± {self.search_scores_['se']:.3f})")
        self.search_cv_ = how
        final = clone(self.estimator).set_params(**self.best_params_)
        self.calibrated_ = None
        if self.calibrate:
            self.calibrated_ = self._calibrated(final, y, splits).fit(X, y)
            # ensemble=False: the one calibrated classifier wraps ``final`` fitted on all of X
            self.best_estimator_ = self.calibrated_.calibrated_classifiers_[0].estimator
        else:
            self.best_estimator_ = final.fit(X, y)
        self.classes_ = self.best_estimator_.classes_
        return self

    def check_labels(self, y) -> None:
        """Raise ``ValueError`` when training labels ``y`` cannot be fitted: fewer than 2 classes,
        or (with ``calibrate``) a class of a single clip, which probability calibration cannot
        split. Known from the labels alone, so a run checks every fold before any work."""
        labels, counts = np.unique(np.asarray(y), return_counts=True)
        if len(labels) < 2:
            raise ValueError(f"training needs clips of at least 2 classes; got {len(labels)} "
                             f"class{'' if len(labels) == 1 else 'es'}")
        if self.calibrate and counts.min() < 2:
            raise ValueError(f"probability calibration needs at least 2 training clips of every "
                             f"class (class {labels[np.argmin(counts)]!r} has 1)")

    def _calibrated(self, estimator, y, splits):
        """Sigmoid calibration on the inner folds when each of their training sides has every
        class, else on stratified folds of the training clips."""
        n_classes = len(np.unique(y))
        if splits is not None and all(len(np.unique(y[train])) == n_classes for train, _ in splits):
            return CalibratedClassifierCV(estimator, method="sigmoid", cv=splits, ensemble=False)
        self.check_labels(y)
        k = min(3, int(np.unique(y, return_counts=True)[1].min()))
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
        return CalibratedClassifierCV(estimator, method="sigmoid", cv=cv, ensemble=False)

    def predict(self, X):
        """Predicted class of each row: the fitted classifier's own decision."""
        check_is_fitted(self, "best_estimator_")
        X = validate_data(self, X, reset=False, dtype=None)
        return self.best_estimator_.predict(X)

    def decision_function(self, X):
        """The fitted classifier's decision values (SVMs only)."""
        check_is_fitted(self, "best_estimator_")
        X = validate_data(self, X, reset=False, dtype=None)
        return self.best_estimator_.decision_function(X)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of :attr:`classes_`."""
        check_is_fitted(self, "best_estimator_")
        X = validate_data(self, X, reset=False, dtype=None)
        model = self.calibrated_ if self.calibrated_ is not None else self.best_estimator_
        return model.predict_proba(X)


@dataclass(frozen=True)
class ClassifierRecipe:
    """What a classifier name stands for.

    Attributes
    ----------
    step : str
        The spec step of the classifier: ``svm`` or ``rf`` (``--set svm.C=10``).
    estimator : Pipeline
        Unfitted; its last step is named ``step`` (RBF SVMs standardise features first).
    grid : dict
        Default search grid over ``estimator`` parameters (``svm__C``, ``rf__max_features``).
    default : dict
        The grid point kept when the search does not earn a change.
    normalization : str
        Default histogram normalization of the method.
    calibrate : bool
        Whether probabilities need Platt scaling.
    """

    step: str
    estimator: Pipeline
    grid: dict
    default: dict
    normalization: str
    calibrate: bool


def classifier_recipe(name: str, *, seed: int = 0) -> ClassifierRecipe:
    """The estimator, search grid and defaults a classifier name stands for.

    The grids and defaults are for rows that :class:`HistogramNormalizer` has balanced (each
    feature family of unit mean norm); they were chosen on real faces (``experiments/ckplus48``).

    Parameters
    ----------
    name : {"svm", "linear-svm", "chi2-svm", "ridge", "rf"}
        ``svm`` is an RBF SVM (``gamma="scale"``, see :func:`rbf_kernel_scaled`); ``linear-svm`` a
        linear SVM; ``chi2-svm`` a linear SVM on the additive χ² feature map (an approximate χ²
        kernel SVM); ``ridge`` a ridge classifier (one-vs-rest least squares); ``rf`` a random
        forest. All use ``class_weight="balanced"``.
    seed : int
        ``random_state`` of the forest.

    Returns
    -------
    ClassifierRecipe
    """
    if name == "svm":
        svm = SVC(kernel=rbf_kernel_scaled, class_weight="balanced")
        return ClassifierRecipe("svm", Pipeline([("svm", svm)]), {"svm__C": [1.0, 10.0, 100.0]},
                                {"svm__C": 1.0}, "hellinger", True)
    if name in ("linear-svm", "chi2-svm"):
        # the linear kernel as a callable: one Gram matrix product (see the module docstring)
        svm = SVC(kernel=linear_kernel, class_weight="balanced")
        return ClassifierRecipe("svm", Pipeline([("svm", svm)]), {"svm__C": [1.0, 10.0, 100.0]},
                                {"svm__C": 10.0}, "chi2" if name == "chi2-svm" else "hellinger",
                                True)
    if name == "ridge":
        ridge = RidgeClassifier(alpha=0.1, class_weight="balanced", random_state=seed)
        return ClassifierRecipe("ridge", Pipeline([("ridge", ridge)]),
                                {"ridge__alpha": [0.03, 0.1, 0.3]}, {"ridge__alpha": 0.1},
                                "hellinger", True)
    if name == "rf":
        forest = RandomForestClassifier(n_estimators=100, class_weight="balanced",
                                        random_state=seed, n_jobs=1)
        return ClassifierRecipe("rf", Pipeline([("rf", forest)]),
                                {"rf__max_features": ["sqrt", 0.05]}, {"rf__max_features": "sqrt"},
                                "hellinger", False)
    raise ValueError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")
