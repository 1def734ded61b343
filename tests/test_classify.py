"""Classifier pipelines: histogram normalization, the four classifiers, the inner search."""

import numpy as np
import pytest
from sklearn.kernel_approximation import AdditiveChi2Sampler

from handcrafted_dfer.classify import (CLASSIFIERS, SEARCH_MARGIN_SE, HistogramNormalizer,
                                       SubjectSearchClassifier, classifier_recipe,
                                       histogram_segments)


def histogram_data(n_per_class=12, n_classes=3, n_subjects=6, seed=0):
    """Concatenated histograms (two blocks of 8 bins) whose bin profile depends on the class."""
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for c in range(n_classes):
        alpha = np.ones(16)
        alpha[c * 4:(c + 1) * 4] = 8.0  # class c puts mass in its own bins
        for k in range(n_per_class):
            counts = np.concatenate([rng.multinomial(200, rng.dirichlet(alpha[:8])),
                                     rng.multinomial(200, rng.dirichlet(alpha[8:]))])
            X.append(counts)
            y.append(c)
            groups.append(f"S{k % n_subjects}")
    return np.array(X, dtype=float), np.array(y), np.array(groups, dtype=object)


class TestHistogramSegments:
    def test_runs_of_shared_prefix(self):
        names = ["lbptop/xy/r0c0/t0/b0", "lbptop/xy/r0c0/t0/b1", "lbptop/xt/r0c0/t0/b0",
                 "hog3d/r0c0/t0/o00", "hog3d/r0c0/t0/o01", "hog3d/r0c0/t0/o02"]
        assert histogram_segments(names) == [2, 1, 3]


class TestHistogramNormalizer:
    X = np.array([[1.0, 3.0, 2.0, 2.0, 0.0],
                  [0.0, 0.0, 5.0, 0.0, 5.0]])

    def test_l1_per_segment(self):
        out = HistogramNormalizer("l1", segments=[2, 3], balance=False).fit_transform(self.X)
        expected = np.array([[0.25, 0.75, 0.5, 0.5, 0.0],
                             [0.0, 0.0, 0.5, 0.0, 0.5]])  # the empty first block stays zero
        np.testing.assert_allclose(out, expected)

    def test_l1_whole_row(self):
        out = HistogramNormalizer("l1", balance=False).fit_transform(self.X)
        np.testing.assert_allclose(out, self.X / self.X.sum(axis=1, keepdims=True))

    def test_hellinger_is_sqrt_of_l1(self):
        out = HistogramNormalizer("hellinger", segments=[2, 3], balance=False).fit_transform(self.X)
        np.testing.assert_allclose(out[0, :2], np.sqrt([0.25, 0.75]))
        np.testing.assert_allclose((out ** 2)[:, 2:].sum(axis=1), [1.0, 1.0])

    def test_chi2_map(self):
        out = HistogramNormalizer("chi2", balance=False).fit_transform(self.X)
        l1 = self.X / self.X.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out, AdditiveChi2Sampler(sample_steps=2).fit_transform(l1))
        assert out.shape == (2, 15)

    def test_negative_rejected(self):
        with pytest.raises(ValueError, match="non-negative"):
            HistogramNormalizer("l1").fit(-self.X)

    def test_segments_must_cover(self):
        with pytest.raises(ValueError, match="segments sum to 4"):
            HistogramNormalizer("l1", segments=[2, 2]).fit(self.X)

    def test_balance_gives_each_family_unit_mean_norm_on_the_training_rows(self):
        rng = np.random.default_rng(1)
        X = rng.random((20, 10)) * np.r_[np.ones(4), 30 * np.ones(6)]  # two families, 4 + 6
        norm = HistogramNormalizer("l1", segments=[4, 3, 3], families=[4, 6]).fit(X)
        out = norm.transform(X)
        plain = HistogramNormalizer("l1", segments=[4, 3, 3], balance=False).fit_transform(X)
        for columns in (slice(0, 4), slice(4, 10)):
            np.testing.assert_allclose(np.linalg.norm(out[:, columns], axis=1).mean(), 1.0)
            factor = 1 / np.linalg.norm(plain[:, columns], axis=1).mean()
            np.testing.assert_allclose(out[:, columns], plain[:, columns] * factor)
        # new rows get the training factors, not their own
        new = rng.random((3, 10))
        expected = HistogramNormalizer("l1", segments=[4, 3, 3], balance=False).fit_transform(new)
        np.testing.assert_allclose(norm.transform(new)[:, :4], expected[:, :4] * norm.scales_[0])

    def test_balance_follows_the_chi2_map(self):
        X = np.random.default_rng(2).random((10, 6))
        out = HistogramNormalizer("chi2", segments=[2, 4], families=[2, 4]).fit_transform(X)
        columns = np.tile(np.repeat([0, 1], [2, 4]), 3)  # the map repeats the inputs 3 times
        for k in (0, 1):
            np.testing.assert_allclose(np.linalg.norm(out[:, columns == k], axis=1).mean(), 1.0)

    def test_families_must_cover(self):
        with pytest.raises(ValueError, match="families sum to 3"):
            HistogramNormalizer("l1", families=[1, 2]).fit(self.X)

    def test_unknown_method(self):
        with pytest.raises(ValueError, match="unknown histogram normalization"):
            HistogramNormalizer("l2").fit(self.X)


def _search(name, segments=(8, 8), **params):
    """Normalizer + search of a classifier name, as the pipeline builder assembles them."""
    from sklearn.pipeline import make_pipeline

    recipe = classifier_recipe(name)
    search = SubjectSearchClassifier(recipe.estimator, recipe.grid, default=recipe.default,
                                     calibrate=recipe.calibrate, **params)
    return make_pipeline(HistogramNormalizer(recipe.normalization, list(segments)), search)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_learns_separable_histograms(name):
    X, y, groups = histogram_data()
    train = np.array([g not in ("S0", "S1") for g in groups])
    clf = _search(name)
    clf.fit(X[train], y[train], subjectsearchclassifier__groups=groups[train])
    search = clf[-1]
    assert search.search_cv_.startswith("StratifiedGroupKFold(3) over 4 training subjects")
    assert np.mean(clf.predict(X[~train]) == y[~train]) >= 0.9
    proba = clf.predict_proba(X[~train])
    assert proba.shape == (int((~train).sum()), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def _linear(**params):
    recipe = classifier_recipe("linear-svm")
    params = {"param_grid": recipe.grid, "default": recipe.default, "calibrate": True, **params}
    return SubjectSearchClassifier(recipe.estimator, **params)


class TestSearchFallback:
    def test_no_subjects_falls_back_and_says_so(self):
        X, y, _ = histogram_data()
        clf = _linear().fit(X, y)
        assert "StratifiedKFold(3) (subjects unknown)" in clf.search_cv_

    def test_one_subject(self):
        X, y, _ = histogram_data()
        one = np.array(["S1"] * len(y), dtype=object)
        clf = _linear().fit(X, y, groups=one)
        assert "only 1 training subject" in clf.search_cv_

    def test_grouping_off(self):
        X, y, groups = histogram_data()
        clf = _linear(groups_aware=False).fit(X, y, groups=groups)
        assert "switched off" in clf.search_cv_

    def test_single_point_grid_uses_it(self):
        X, y, groups = histogram_data()
        clf = _linear(param_grid={"svm__C": [3.0]}, default=None).fit(X, y, groups=groups)
        assert clf.best_params_ == {"svm__C": 3.0} and clf.search_scores_ is None


class TestGuardedSearch:
    """The inner search keeps the default unless it can be trusted and a point clearly wins."""

    def test_tiny_inner_folds_keep_the_default(self):
        X, y, groups = histogram_data(n_per_class=4, n_subjects=4)  # 4 clips/class, 3 folds
        clf = _linear().fit(X, y, groups=groups)
        assert clf.best_params_ == classifier_recipe("linear-svm").default
        assert "inner folds too small" in clf.search_cv_ and clf.search_scores_ is None

    def test_a_clear_winner_replaces_the_default(self):
        # a depth-1 tree can tell apart at most 2 of the 3 classes (UAR <= 2/3); a full tree all
        from sklearn.pipeline import Pipeline
        from sklearn.tree import DecisionTreeClassifier

        X, y, groups = histogram_data(n_per_class=30)
        tree = Pipeline([("tree", DecisionTreeClassifier(random_state=0))])
        clf = SubjectSearchClassifier(tree, {"tree__max_depth": [1, None]},
                                      default={"tree__max_depth": 1}).fit(X, y, groups=groups)
        assert clf.best_params_ == {"tree__max_depth": None}
        assert clf.search_scores_["default"] <= 2 / 3 + 1e-9
        assert "changed from default" in clf.search_cv_
        margin = clf.search_scores_["best"] - clf.search_scores_["default"]
        assert margin > SEARCH_MARGIN_SE * clf.search_scores_["se"]

    def test_the_margin_decides(self):
        """The clear winner above is taken with a plain argmax (margin 0) and refused when the
        margin asks for more standard errors than its lead is worth."""
        from sklearn.pipeline import Pipeline
        from sklearn.tree import DecisionTreeClassifier

        X, y, groups = histogram_data(n_per_class=30)
        tree = Pipeline([("tree", DecisionTreeClassifier(random_state=0))])

        def search(margin):
            return SubjectSearchClassifier(tree, {"tree__max_depth": [1, None]},
                                           default={"tree__max_depth": 1},
                                           margin_se=margin).fit(X, y, groups=groups)

        plain = search(0.0)
        assert plain.best_params_ == {"tree__max_depth": None}
        scores = plain.search_scores_
        lead = (scores["best"] - scores["default"]) / scores["se"]
        assert search(0.9 * lead).best_params_ == {"tree__max_depth": None}
        strict = search(1.1 * lead)
        assert strict.best_params_ == {"tree__max_depth": 1}
        assert "default kept" in strict.search_cv_

    def test_a_tie_keeps_the_default(self):
        X, y, groups = histogram_data(n_per_class=30)
        recipe = classifier_recipe("linear-svm")
        # 1.0 and 1.0000001 give the same model: no point beats the default by any margin
        clf = SubjectSearchClassifier(recipe.estimator, {"svm__C": [1.0, 1.0000001]},
                                      default={"svm__C": 1.0000001}).fit(X, y, groups=groups)
        assert clf.best_params_ == {"svm__C": 1.0000001} and "default kept" in clf.search_cv_

    def test_default_must_be_on_the_grid(self):
        X, y, groups = histogram_data()
        with pytest.raises(ValueError, match="not a point of the grid"):
            _linear(default={"svm__C": 5.0}).fit(X, y, groups=groups)


class TestPredictionsUseTheDecisionFunction:
    def test_predict_is_the_uncalibrated_svm(self):
        X, y, groups = histogram_data()
        clf = _linear().fit(X, y, groups=groups)
        decision = clf.decision_function(X)
        np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(decision, axis=1)])
        # the calibrated probabilities exist and are a separate model
        assert clf.calibrated_ is not None
        np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_unknown_classifier():
    with pytest.raises(ValueError, match="unknown classifier 'knn'"):
        classifier_recipe("knn")


def test_search_wrapper_is_a_sklearn_estimator():
    clf = _linear()
    assert isinstance(clf, SubjectSearchClassifier)
    assert set(clf.get_params()) >= {"estimator", "param_grid", "n_splits", "groups_aware",
                                     "default"}


@pytest.mark.parametrize("name", ["linear-svm", "chi2-svm"])
def test_linear_svms_match_libsvm_linear_kernel(name):
    """The Gram-matrix linear SVM is scikit-learn's SVC(kernel="linear") on the normalized rows."""
    from sklearn.svm import SVC
    X, y, groups = histogram_data()
    clf = _search(name)
    clf.set_params(subjectsearchclassifier__param_grid={"svm__C": [1.0]},
                   subjectsearchclassifier__default=None,
                   subjectsearchclassifier__estimator__svm__tol=1e-10)  # solve to the optimum
    clf.fit(X, y, subjectsearchclassifier__groups=groups)
    norm = HistogramNormalizer("chi2" if name == "chi2-svm" else "hellinger", [8, 8])
    Z = norm.fit_transform(X)
    oracle = SVC(kernel="linear", class_weight="balanced", C=1.0, tol=1e-10).fit(Z, y)
    np.testing.assert_allclose(clf.decision_function(X), oracle.decision_function(Z), atol=1e-8)


def test_rbf_svm_is_scikit_learns_rbf_with_gamma_scale():
    """The callable RBF kernel gives the model of SVC(kernel="rbf", gamma="scale")."""
    from sklearn.svm import SVC

    X, y, groups = histogram_data()
    clf = _search("svm")
    clf.set_params(subjectsearchclassifier__param_grid={"svm__C": [10.0]},
                   subjectsearchclassifier__default=None,
                   subjectsearchclassifier__estimator__svm__tol=1e-10)
    clf.fit(X, y, subjectsearchclassifier__groups=groups)
    Z = HistogramNormalizer("hellinger", [8, 8]).fit_transform(X)
    oracle = SVC(kernel="rbf", gamma="scale", class_weight="balanced", C=10.0, tol=1e-10).fit(Z, y)
    np.testing.assert_allclose(clf.decision_function(X), oracle.decision_function(Z), atol=1e-8)
