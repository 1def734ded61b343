"""Subject-independent evaluation: metrics, the runner with its caches, and reports."""

from .metrics import classification_scores, confusion, fold_summary, scores_from_confusion

__all__ = ["classification_scores", "confusion", "fold_summary", "scores_from_confusion"]
