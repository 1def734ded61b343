"""Interpretability: which face blocks, planes, bins and temporal segments carry an expression.

* :mod:`.blocks` parses feature names into blocks and names blocks from the mean aligned face;
* :mod:`.bins` names histogram bins (LBP patterns, 3D-HOG and flow directions);
* :mod:`.importance` measures permutation importance of blocks on held-out folds, overall and
  per class;
* :mod:`.views` sets permutation, random-forest and linear-SVM importance side by side;
* :mod:`.histograms` gives the mean histograms of each class, bins named;
* :mod:`.separability` gives χ² distances between the classes' mean histograms;
* :mod:`.occlusion` explains one clip by removing its blocks one at a time;
* :mod:`.plots` draws the top blocks, face heatmaps and the learning curve;
* :mod:`.teach` draws the teaching figures of LBP-TOP, 3D-HOG and HOF/MBH.

The explanations of ``dfer explain`` put these together, each into a folder of PNG figures with
an ``index.md`` that gives every figure one sentence (:mod:`.index`):

* :mod:`.report`: the figures a run report's JSON holds (``--report``);
* :mod:`.held_out`: a trained method refitted on every fold of a dataset's protocol, explained
  on the held-out folds (``--model --dataset``);
* :mod:`.video`: why one video got its label (``--model VIDEO``);
* :mod:`.lesson`: the teaching figures of one clip with a method's parameters (``--teach``);
* :mod:`.tutorial`: every figure of ``docs/tutorial.md``, made by the package itself.
"""

from .bins import (LBP_CATEGORIES, LBPBin, bin_labels, compass, flow_bin_labels,
                   hog3d_bin_labels, lbp_bins, lbp_pattern)
from .blocks import (KIND_TITLES, LANDMARK_GROUPS, NO_LANDMARKS, Block, BlockNamer, FeatureName,
                     block_kind, group_columns, has_landmarks, mean_landmarks, parse_block,
                     parse_feature_name, segment_name)
from .histograms import ClassHistograms, class_mean_histograms, plot_class_histograms
from .importance import (BlockImportance, ClassImportance, block_permutation_importance,
                         held_out_block_importance, held_out_class_importance)
from .occlusion import BlockOcclusion, block_occlusion, plot_block_occlusion
from .plots import (block_heat, face_sketch, mean_face, plot_block_heatmap, plot_class_heatmaps,
                    plot_group_importance, plot_learning_curve, plot_top_blocks, save_figure)
from .separability import Separability, chi2_distance, class_chi2_distances, plot_separability
from .teach import (FlowPair, HOG3DCell, LBPCode, flow_pair, hog3d_cell, hog3d_vote, lbp_code_at,
                    motion_slices, plot_block_histograms, plot_flow, plot_hog3d_cell,
                    plot_lbp_code, plot_motion_slices)
from .views import (VIEWS_NOTE, ImportanceViews, compare_importance_views, final_estimator,
                    forest_block_importance, linear_svm_coef, permutation_view,
                    plot_importance_views, svm_block_weights)
from .index import ExplainedFigure, Explanation, FigureWriter, index_figures
from .report import explain_report
from .held_out import explain_held_out, model_spec
from .video import explain_video
from .lesson import method_extractors, teaching_figures

__all__ = [
    # blocks
    "LANDMARK_GROUPS", "KIND_TITLES", "NO_LANDMARKS", "Block", "BlockNamer", "FeatureName",
    "block_kind", "group_columns", "has_landmarks", "mean_landmarks", "parse_block",
    "parse_feature_name", "segment_name",
    # bins
    "LBP_CATEGORIES", "LBPBin", "bin_labels", "compass", "flow_bin_labels", "hog3d_bin_labels",
    "lbp_bins", "lbp_pattern",
    # importance
    "BlockImportance", "ClassImportance", "block_permutation_importance",
    "held_out_block_importance", "held_out_class_importance",
    # views
    "VIEWS_NOTE", "ImportanceViews", "compare_importance_views", "final_estimator",
    "forest_block_importance", "linear_svm_coef", "permutation_view", "plot_importance_views",
    "svm_block_weights",
    # histograms and separability
    "ClassHistograms", "class_mean_histograms", "plot_class_histograms", "Separability",
    "chi2_distance", "class_chi2_distances", "plot_separability",
    # one clip
    "BlockOcclusion", "block_occlusion", "plot_block_occlusion",
    # plots
    "block_heat", "face_sketch", "mean_face", "plot_block_heatmap", "plot_class_heatmaps",
    "plot_group_importance", "plot_learning_curve",
    "plot_top_blocks", "save_figure",
    # teaching
    "FlowPair", "HOG3DCell", "LBPCode", "flow_pair", "hog3d_cell", "hog3d_vote", "lbp_code_at",
    "motion_slices", "plot_block_histograms", "plot_flow", "plot_hog3d_cell", "plot_lbp_code",
    "plot_motion_slices",
    # explanations (dfer explain)
    "ExplainedFigure", "Explanation", "FigureWriter", "index_figures", "explain_report",
    "explain_held_out", "model_spec", "explain_video", "method_extractors", "teaching_figures",
]
