"""Tests of handcrafted_dfer.explain.views: SVM weights, forest importance, wrappers, provenance."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import AdditiveChi2Sampler
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import linear_kernel, rbf_kernel
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from handcrafted_dfer.explain import (VIEWS_NOTE, Block, final_estimator, forest_block_importance,
                                      linear_svm_coef, svm_block_weights)
from handcrafted_dfer.explain.blocks import group_columns

NAMES = [f"hog3d/r{r}c{c}/t0/o{b}" for r in range(2) for c in range(2) for b in range(3)]


def problem(n_classes, seed=0, n=90):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.random((n, len(NAMES))) + 0.6 * (y[:, None] == np.arange(len(NAMES)) % n_classes)
    return X, y


class TestLinearSVMWeights:
    @pytest.mark.parametrize("n_classes", [2, 3, 4])
    def test_callable_and_precomputed_kernels_give_coef(self, n_classes):
        X, y = problem(n_classes)
        reference = SVC(kernel="linear", C=0.7).fit(X, y).coef_
        callable_svm = SVC(kernel=linear_kernel, C=0.7).fit(X, y)
        np.testing.assert_allclose(linear_svm_coef(callable_svm, X_fit=X), reference,
                                   rtol=1e-6, atol=1e-9)
        gram = SVC(kernel="precomputed", C=0.7).fit(X @ X.T, y)
        np.testing.assert_allclose(linear_svm_coef(gram, X_fit=X), reference, rtol=1e-6,
                                   atol=1e-9)
        np.testing.assert_array_equal(linear_svm_coef(SVC(kernel="linear").fit(X, y)),
                                      SVC(kernel="linear").fit(X, y).coef_)

    def test_rebuilt_weights_give_the_decision_function(self):
        X, y = problem(2)
        svm = SVC(kernel=linear_kernel).fit(X, y)
        w = linear_svm_coef(svm, X_fit=X)[0]
        np.testing.assert_allclose(X @ w + svm.intercept_[0], svm.decision_function(X),
                                   rtol=1e-6, atol=1e-9)

    def test_non_linear_or_incomplete_inputs_are_refused(self):
        X, y = problem(3)
        with pytest.raises(ValueError, match="linear one"):
            linear_svm_coef(SVC(kernel="rbf").fit(X, y))
        with pytest.raises(ValueError, match="not the linear kernel"):
            linear_svm_coef(SVC(kernel=rbf_kernel).fit(X, y), X_fit=X)
        with pytest.raises(ValueError, match="X_fit"):
            linear_svm_coef(SVC(kernel=linear_kernel).fit(X, y))
        with pytest.raises(ValueError, match="rows the SVM was fitted on"):
            linear_svm_coef(SVC(kernel=linear_kernel).fit(X, y), X_fit=X[:-1])
        with pytest.raises(ValueError, match="expected a fitted"):
            linear_svm_coef(LogisticRegression())


class TestWrappersAndBlocks:
    def test_final_estimator_looks_through_search_calibration_and_pipeline(self):
        X, y = problem(3)
        inner = make_pipeline(StandardScaler(), SVC(kernel=linear_kernel))
        search = GridSearchCV(inner, {"svc__C": [0.1, 1.0]}, cv=3).fit(X, y)
        calibrated = CalibratedClassifierCV(search.best_estimator_, cv=3,
                                            ensemble=False).fit(X, y)
        steps, final = final_estimator(make_pipeline(FunctionTransformer(np.sqrt), calibrated))
        assert [type(s).__name__ for s in steps] == ["FunctionTransformer", "StandardScaler"]
        assert isinstance(final, SVC)
        with pytest.raises(ValueError, match="ensemble=False"):
            final_estimator(CalibratedClassifierCV(SVC(kernel="linear"), cv=3).fit(X, y))

    def test_weights_per_block_through_a_chi2_feature_map(self):
        # AdditiveChi2Sampler(sample_steps=2) writes column j at j, j + n and j + 2n
        X, y = problem(3)
        model = make_pipeline(AdditiveChi2Sampler(sample_steps=2),
                              SVC(kernel=linear_kernel)).fit(X, y)
        weights = svm_block_weights(model, X_train=X, feature_names=NAMES)
        Z = AdditiveChi2Sampler(sample_steps=2).fit_transform(X)
        w = np.abs(SVC(kernel="linear").fit(Z, y).coef_).sum(axis=0)
        n = len(NAMES)
        per_column = w[:n] + w[n:2 * n] + w[2 * n:]
        blocks, column_block = group_columns(NAMES)
        for b, block in enumerate(blocks):
            assert weights[block] == pytest.approx(per_column[column_block == b].sum(), rel=1e-6)
        assert set(weights) == {Block("hog3d", None, r, c, 0) for r in (0, 1) for c in (0, 1)}

    def test_coef_of_other_linear_models_and_forest_importance(self):
        X, y = problem(3)
        logistic = LogisticRegression(max_iter=500).fit(X, y)
        weights = svm_block_weights(logistic, X_train=X, feature_names=NAMES)
        assert sum(weights.values()) == pytest.approx(np.abs(logistic.coef_).sum())
        forest = RandomForestClassifier(30, random_state=0).fit(X, y)
        importance = forest_block_importance(forest, feature_names=NAMES)
        blocks, column_block = group_columns(NAMES)
        for b, block in enumerate(blocks):
            assert importance[block] == pytest.approx(
                forest.feature_importances_[column_block == b].sum())
        scaled = make_pipeline(StandardScaler(), RandomForestClassifier(30, random_state=0))
        with pytest.raises(ValueError, match="X"):
            forest_block_importance(scaled.fit(X, y), feature_names=NAMES)
        with pytest.raises(ValueError, match="feature_importances_"):
            forest_block_importance(logistic, feature_names=NAMES)

    def test_note_explains_disagreement(self):
        for words in ("held-out", "training", "redundant", "scale"):
            assert words in VIEWS_NOTE
