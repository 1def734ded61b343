"""Metrics against hand-computed confusion matrices and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from handcrafted_dfer.evaluate.metrics import (classification_scores, confusion, fold_summary,
                                               scores_from_confusion)


class TestHandComputed:
    def test_three_classes(self):
        y_true = [0, 0, 0, 1, 1, 2]
        y_pred = [0, 1, 0, 1, 1, 0]
        # written out by hand: rows true, columns predicted
        expected = np.array([[2, 1, 0],
                             [0, 2, 0],
                             [1, 0, 0]])
        cm = confusion(y_true, y_pred, n_classes=3)
        np.testing.assert_array_equal(cm, expected)
        s = scores_from_confusion(cm)
        assert s["accuracy"] == pytest.approx(4 / 6)
        assert s["war"] == pytest.approx(4 / 6)
        assert s["uar"] == pytest.approx((2 / 3 + 1 + 0) / 3)
        # F1 per class: 2TP/(2TP+FP+FN) = 4/6, 4/5, 0
        assert s["f1_macro"] == pytest.approx((4 / 6 + 4 / 5 + 0) / 3)
        assert s["per_class_recall"] == pytest.approx([2 / 3, 1.0, 0.0])

    def test_imbalanced_war_differs_from_uar(self):
        # 8 of class 0 all right, 2 of class 1 both wrong
        cm = np.array([[8, 0],
                       [2, 0]])
        s = scores_from_confusion(cm)
        assert s["war"] == pytest.approx(0.8)
        assert s["accuracy"] == pytest.approx(0.8)
        assert s["uar"] == pytest.approx(0.5)

    def test_class_absent_from_truth_is_left_out(self):
        y_true = [0, 0, 1, 1]
        y_pred = [0, 2, 1, 1]
        expected = np.array([[1, 0, 1],
                             [0, 2, 0],
                             [0, 0, 0]])
        result = classification_scores(y_true, y_pred, n_classes=3)
        assert result["confusion"] == expected.tolist()
        assert result["per_class_recall"][2] is None
        assert result["uar"] == pytest.approx(0.75)
        assert result["f1_macro"] == pytest.approx((2 / 3 + 1.0) / 2)

    def test_perfect(self):
        s = scores_from_confusion(np.diag([3, 1, 5]))
        assert s["accuracy"] == s["uar"] == s["war"] == s["f1_macro"] == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    n_classes = 5
    y_true = rng.integers(0, n_classes, 60)
    y_pred = np.where(rng.random(60) < 0.5, y_true, rng.integers(0, n_classes, 60))
    result = classification_scores(y_true, y_pred, n_classes=n_classes)
    np.testing.assert_array_equal(result["confusion"],
                                  confusion_matrix(y_true, y_pred, labels=range(n_classes)))
    assert result["uar"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert result["war"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert result["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert result["f1_macro"] == pytest.approx(
        f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro"))


def test_fold_summary():
    folds = [{"accuracy": 0.5, "uar": 0.4, "war": 0.5, "f1_macro": 0.3},
             {"accuracy": 1.0, "uar": 0.8, "war": 1.0, "f1_macro": 0.7}]
    summary = fold_summary(folds)
    assert summary["uar"]["mean"] == pytest.approx(0.6)
    assert summary["uar"]["std"] == pytest.approx(0.2)
    assert summary["accuracy"]["folds"] == [0.5, 1.0]


class TestErrors:
    def test_label_out_of_range(self):
        with pytest.raises(ValueError, match="class indices"):
            confusion([0, 3], [0, 1], n_classes=3)

    def test_length_mismatch(self):
        with pytest.raises(ValueError, match="same length"):
            confusion([0, 1], [0], n_classes=2)

    def test_empty(self):
        with pytest.raises(ValueError, match="empty"):
            scores_from_confusion(np.zeros((2, 2)))
