"""Interpretability: which face blocks, planes and temporal segments carry an expression.

* :mod:`.blocks` parses feature names into blocks and names blocks from the mean aligned face;
* :mod:`.importance` measures permutation importance of blocks on held-out folds;
* :mod:`.plots` draws the top blocks, a face heatmap of importance and the learning curve.
"""

from .blocks import (LANDMARK_GROUPS, Block, BlockNamer, FeatureName, group_columns,
                     mean_landmarks, parse_feature_name, segment_name)
from .importance import BlockImportance, block_permutation_importance, held_out_block_importance
from .plots import mean_face, plot_block_heatmap, plot_learning_curve, plot_top_blocks

__all__ = [
    "LANDMARK_GROUPS",
    "Block",
    "BlockNamer",
    "FeatureName",
    "group_columns",
    "mean_landmarks",
    "parse_feature_name",
    "segment_name",
    "BlockImportance",
    "block_permutation_importance",
    "held_out_block_importance",
    "mean_face",
    "plot_block_heatmap",
    "plot_learning_curve",
    "plot_top_blocks",
]
