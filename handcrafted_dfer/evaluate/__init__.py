"""Subject-independent evaluation by stages: clips, features, folds, metrics; the runner."""

from .metrics import classification_scores, confusion, fold_summary, scores_from_confusion

__all__ = ["classification_scores", "confusion", "fold_summary", "scores_from_confusion"]
