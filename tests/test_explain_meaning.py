"""The explanations mean something: on clips built so that the answer is known, every view of
handcrafted_dfer.explain finds it.

The set: 16 x 64 x 64 clips of static noise texture (a new texture per clip, plus a little noise
in every frame), LBP-TOP on a (2, 4, 4) grid. Three classes differ by construction in one block
each and in nothing else:

- ``neutral``: nothing more;
- ``appearance``: the "eye" block (row 1, column 1) holds a static texture of diagonal lines,
  whose rows and columns are, like the noise, independent values: only the XY plane sees it;
- ``motion``: in the apex half (frames 8-15) the texture of the "mouth" block (row 3, column 1)
  slides down and to the right by one pixel per frame: every frame is still noise (XY cannot
  see it) but the XT and YT slices become slanted stripes.

Features are real LBP-TOP histograms, classifiers are real scikit-learn SVMs and forests.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import confusion_matrix
from sklearn.metrics.pairwise import linear_kernel
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.explain import (Block, BlockNamer, block_heat, block_kind, block_occlusion,
                                      chi2_distance, class_chi2_distances, class_mean_histograms,
                                      compare_importance_views, forest_block_importance,
                                      held_out_block_importance, held_out_class_importance,
                                      mean_face, parse_feature_name, permutation_view,
                                      plot_block_occlusion, plot_class_heatmaps,
                                      plot_class_histograms, plot_importance_views,
                                      plot_separability, save_figure, svm_block_weights)
from handcrafted_dfer.features.lbptop import LBPTOP

T, S = 16, 64
EYE = (slice(18, 31), slice(18, 31))      # inside block r1c1 of the 4 x 4 grid
MOUTH = (slice(49, 62), slice(18, 31))    # inside block r3c1
EYE_XY = {Block("lbptop", "xy", 1, 1, t) for t in (0, 1)}
MOUTH_MOTION = {Block("lbptop", plane, 3, 1, 1) for plane in ("xt", "yt")}
CLASSES = ("appearance", "motion", "neutral")


def make_clip(rng, kind: str) -> np.ndarray:
    vol = np.repeat(rng.uniform(0, 255, (S, S))[None], T, 0) + rng.normal(0, 4, (T, S, S))
    if kind == "appearance":
        lines = rng.uniform(0, 255, 64)
        yy, xx = np.mgrid[EYE]
        vol[:, EYE[0], EYE[1]] = lines[(yy - xx) % 64][None] + rng.normal(0, 4, (T, 13, 13))
    wide = rng.uniform(0, 255, (13 + T, 13 + T))
    for t in range(T):
        s = max(0, t - T // 2) if kind == "motion" else 0
        vol[t, MOUTH[0], MOUTH[1]] = wide[s:s + 13, s:s + 13] + rng.normal(0, 4, (13, 13))
    return np.clip(np.rint(vol), 0, 255).astype(np.uint8)


def hellinger_linear_svm():
    """A linear SVM on square-rooted histograms, its kernel a callable as in classify.py."""
    return make_pipeline(FunctionTransformer(np.sqrt), SVC(kernel=linear_kernel))


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    y = np.repeat(CLASSES, 24)
    volumes = [make_clip(rng, kind) for kind in y]
    extractor = LBPTOP(grid=(2, 4, 4), radius=(1, 1, 1), mirror=False).fit(volumes)
    X = extractor.transform(volumes)
    names = list(extractor.get_feature_names_out())
    folds, train_sets = [], []
    for train, test in StratifiedKFold(2, shuffle=True, random_state=0).split(X, y):
        model = hellinger_linear_svm().fit(X[train], y[train])
        folds.append((model, X[test], y[test]))
        train_sets.append((X[train], y[train]))
    return {"X": X, "y": y, "names": names, "volumes": volumes, "folds": folds,
            "train": train_sets}


@pytest.fixture(scope="module")
def per_class(synthetic):
    return held_out_class_importance(synthetic["folds"], feature_names=synthetic["names"],
                                     n_repeats=5, random_state=0)


@pytest.fixture(scope="module")
def table(synthetic):
    return held_out_block_importance(synthetic["folds"], feature_names=synthetic["names"],
                                     n_repeats=5, random_state=0)


def test_the_models_learn_the_set(synthetic):
    for model, X_test, y_test in synthetic["folds"]:
        assert np.mean(model.predict(X_test) == y_test) > 0.85


class TestPerClassImportance:
    def test_motion_class_is_explained_by_the_mouth_blocks_of_the_motion_planes(self, per_class):
        ranking = per_class.ranking("motion")
        assert {b for b, _ in ranking[:2]} == MOUTH_MOTION
        assert all(drop > 0.08 for _, drop in ranking[:2])
        assert all(drop < 0.05 for _, drop in ranking[2:])

    def test_appearance_class_is_explained_by_the_eye_block_of_the_xy_plane(self, per_class):
        ranking = per_class.ranking("appearance")
        assert {b for b, _ in ranking[:2]} == EYE_XY
        assert all(drop > 0.2 for _, drop in ranking[:2])
        assert all(drop < 0.1 for _, drop in ranking[2:])

    def test_whole_planes_rank_as_built(self, synthetic):
        planes = held_out_class_importance(synthetic["folds"], feature_names=synthetic["names"],
                                           group=lambda f: block_kind(f.block), n_repeats=5)
        assert set(planes.groups) == {"lbptop/xy", "lbptop/xt", "lbptop/yt"}
        appearance = dict(planes.ranking("appearance"))
        assert planes.ranking("appearance")[0][0] == "lbptop/xy"
        assert appearance["lbptop/xy"] > 0.3 > 0.1 > max(appearance["lbptop/xt"],
                                                          appearance["lbptop/yt"])
        motion = dict(planes.ranking("motion"))
        assert planes.ranking("motion")[0][0] in ("lbptop/xt", "lbptop/yt")
        assert min(motion["lbptop/xt"], motion["lbptop/yt"]) > 0.08
        assert abs(motion["lbptop/xy"]) < 0.05

    def test_apex_segment_carries_the_motion(self, synthetic):
        segments = held_out_class_importance(synthetic["folds"], feature_names=synthetic["names"],
                                             group=lambda f: f.segment, n_repeats=5)
        motion = dict(segments.ranking("motion"))
        assert motion[1] > 0.1 and abs(motion[0]) < 0.05

    def test_mean_over_classes_is_the_uar_drop(self, table, per_class):
        # every fold holds out every class, and both functions draw the same permutations
        uar = {t.block: t.uar_drop for t in table}
        mean = per_class.recall_drop.mean(axis=0)
        np.testing.assert_allclose([uar[b] for b in per_class.groups], mean, atol=1e-12)
        assert per_class.n_folds.tolist() == [2, 2, 2]
        assert per_class.classes == CLASSES

    def test_totals_by_plane(self, per_class):
        totals = per_class.totals("appearance", block_kind)
        expected = sum(d for b, d in per_class.values("appearance").items() if b.plane == "xy")
        assert totals["lbptop/xy"] == pytest.approx(expected)

    def test_a_class_no_fold_holds_out_is_nan(self):
        rng = np.random.default_rng(0)
        names = [f"hof/r0c{c}/t0/o{b}" for c in range(3) for b in range(2)]
        y = np.repeat(["a", "b", "c"], 20)
        X = rng.normal(size=(60, 6)) + (y == "b")[:, None] * np.r_[3, 3, 0, 0, 0, 0]
        model = SVC(kernel="linear").fit(X, y)
        without_c = y != "c"
        imp = held_out_class_importance([(model, X[without_c], y[without_c]), (model, X, y)],
                                        feature_names=names, n_repeats=2)
        assert imp.classes == ("a", "b", "c") and imp.n_folds.tolist() == [2, 2, 1]
        assert imp.ranking("b")[0][0] == Block("hof", None, 0, 0, 0)
        only = held_out_class_importance([(model, X[y == "a"], y[y == "a"])],
                                         feature_names=names, n_repeats=1)
        assert only.classes == ("a",)
        with pytest.raises(ValueError, match="not among"):
            only.values("b")


class TestHistogramsAndSeparability:
    def test_class_means_are_means_over_blocks_then_clips(self, synthetic):
        X, y, names = synthetic["X"], synthetic["y"], synthetic["names"]
        hists = class_mean_histograms(X, y, feature_names=names)
        assert list(hists) == ["lbptop/xy", "lbptop/xt", "lbptop/yt"]
        xt = hists["lbptop/xt"]
        assert xt.classes == CLASSES and xt.n_blocks == 32 and len(xt.labels) == 59
        assert xt.categories[0] == "spot" and xt.categories[58] == "non-uniform"
        # oracle: a plain loop over the columns named lbptop/xt/.../b<k>
        parsed = [parse_feature_name(n) for n in names]
        for k, cls in enumerate(CLASSES):
            rows = X[y == cls]
            for b in (0, 25, 57, 58):
                cols = [j for j, f in enumerate(parsed) if f.plane == "xt" and f.bin == b]
                per_clip = rows[:, cols].mean(axis=1)
                assert xt.mean[k, b] == pytest.approx(per_clip.mean())
                assert xt.std[k, b] == pytest.approx(per_clip.std())

    def test_mouth_xt_histogram_shows_the_motion(self, synthetic):
        X, y, names = synthetic["X"], synthetic["y"], synthetic["names"]
        mouth = class_mean_histograms(X, y, feature_names=names,
                                      select=lambda b: b in MOUTH_MOTION)
        xt = mouth["lbptop/xt"]
        assert set(mouth) == {"lbptop/xt", "lbptop/yt"} and xt.n_blocks == 1
        gap = np.abs(xt.mean[CLASSES.index("motion")] - xt.mean[CLASSES.index("neutral")])
        same = np.abs(xt.mean[CLASSES.index("appearance")] - xt.mean[CLASSES.index("neutral")])
        assert gap.sum() > 4 * same.sum()

    def test_chi2_distance_matches_a_loop(self):
        rng = np.random.default_rng(0)
        a, b = rng.random(7), rng.random(7)
        a[2] = b[2] = 0
        expected = 0.5 * sum((p - q) ** 2 / (p + q) for p, q in zip(a, b) if p + q > 0)
        assert chi2_distance(a, b) == pytest.approx(expected)
        assert chi2_distance(a, a) == 0

    def test_separability_sees_what_was_built(self, synthetic):
        X, y, names = synthetic["X"], synthetic["y"], synthetic["names"]
        app, mot, neu = (CLASSES.index(c) for c in ("appearance", "motion", "neutral"))
        eye = class_chi2_distances(X, y, feature_names=names, select=lambda b: b in EYE_XY)
        mouth = class_chi2_distances(X, y, feature_names=names,
                                     select=lambda b: b in MOUTH_MOTION)
        assert eye.n_blocks == 2 and mouth.n_blocks == 2
        # the changed class stands out from neutral by more than a clip from its class mean
        assert eye.between[app, neu] > 10 * eye.between[mot, neu]
        assert eye.between[app, neu] > eye.within[neu]
        assert mouth.between[mot, neu] > 10 * mouth.between[app, neu]
        assert mouth.between[mot, neu] > mouth.within[neu]
        # over whole planes the 30 unchanged blocks dilute it, but the order stays
        xy = class_chi2_distances(X, y, feature_names=names, select=lambda b: b.plane == "xy")
        motion = class_chi2_distances(X, y, feature_names=names, select=lambda b: b.plane != "xy")
        assert xy.n_blocks == 32 and motion.n_blocks == 64
        assert xy.between[app, neu] > 2 * xy.between[mot, neu]
        assert motion.between[mot, neu] > 2 * motion.between[app, neu]
        np.testing.assert_allclose(xy.between, xy.between.T)
        assert np.all(np.diag(xy.between) == 0) and np.all(xy.within > 0)

    def test_separability_of_one_block_is_the_chi2_of_its_class_means(self, synthetic):
        X, y, names = synthetic["X"], synthetic["y"], synthetic["names"]
        block = Block("lbptop", "xt", 3, 1, 1)
        sep = class_chi2_distances(X, y, feature_names=names, select=lambda b: b == block)
        cols = [j for j, n in enumerate(names) if parse_feature_name(n).block == block]
        means = {c: X[y == c][:, cols].mean(axis=0) for c in CLASSES}
        means = {c: m / m.sum() for c, m in means.items()}
        assert sep.between[1, 2] == pytest.approx(chi2_distance(means["motion"], means["neutral"]))

    def test_bad_inputs_raise(self, synthetic):
        X, y, names = synthetic["X"], synthetic["y"], synthetic["names"]
        with pytest.raises(ValueError, match="two classes"):
            class_chi2_distances(X[y == "motion"], y[y == "motion"], feature_names=names)
        with pytest.raises(ValueError, match="non-negative"):
            class_mean_histograms(-X, y, feature_names=names)
        with pytest.raises(ValueError, match="keeps no block"):
            class_chi2_distances(X, y, feature_names=names, select=lambda b: False)


class TestThreeViews:
    @pytest.fixture(scope="class")
    @classmethod
    def views(cls, synthetic, table):
        X_train, y_train = synthetic["train"][0]
        svm = synthetic["folds"][0][0]
        forest = make_pipeline(FunctionTransformer(np.sqrt),
                               RandomForestClassifier(150, random_state=0)).fit(X_train, y_train)
        return {
            "permutation": permutation_view(table),
            "forest impurity": forest_block_importance(forest, feature_names=synthetic["names"],
                                                       X=X_train),
            "SVM |w|": svm_block_weights(svm, X_train=X_train, feature_names=synthetic["names"]),
        }

    def test_every_view_puts_the_built_blocks_first(self, views):
        informative = EYE_XY | MOUTH_MOTION
        compared = compare_importance_views(views)
        for name in compared.names:
            top = {b for b, _ in compared.ranking(name, top=2)}
            assert top <= informative, name
        assert sum(views["forest impurity"].values()) == pytest.approx(1.0)

    def test_rank_correlation_is_spearman_over_blocks(self, views):
        compared = compare_importance_views(views)
        assert compared.values.shape == (3, 96)
        for i in range(3):
            for k in range(3):
                expected = 1.0 if i == k else spearmanr(compared.values[i],
                                                        compared.values[k]).statistic
                assert compared.spearman[i, k] == pytest.approx(expected)
        assert compared.spearman[0, 2] > 0.2  # permutation and SVM weights agree broadly

    def test_mismatched_views_raise(self, views):
        partial = dict(list(views["SVM |w|"].items())[:10])
        with pytest.raises(ValueError, match="same blocks"):
            compare_importance_views({"a": views["SVM |w|"], "b": partial})

    def test_steps_that_mix_blocks_are_refused(self, synthetic):
        X_train, y_train = synthetic["train"][0]
        model = make_pipeline(PCA(5), SVC(kernel="linear")).fit(X_train, y_train)
        with pytest.raises(ValueError, match="mix the columns"):
            svm_block_weights(model, X_train=X_train, feature_names=synthetic["names"])


class TestOneClip:
    @pytest.mark.parametrize("kind, built", [("motion", MOUTH_MOTION), ("appearance", EYE_XY)])
    def test_removing_the_built_block_changes_the_prediction_most(self, synthetic, kind, built):
        model, X_test, y_test = synthetic["folds"][0]
        X_train, _ = synthetic["train"][0]
        reference = X_train.mean(axis=0)
        hits = 0
        rows = np.flatnonzero((y_test == kind) & (model.predict(X_test) == kind))
        for i in rows:
            occlusion = block_occlusion(model, X_test[i], feature_names=synthetic["names"],
                                        reference=reference)
            assert occlusion.label == kind and occlusion.score == "decision"
            hits += occlusion.ranking(top=1)[0][0] in built
        assert len(rows) >= 8 and hits >= 0.8 * len(rows)

    def test_scores_fall_back_to_probability_and_label(self, synthetic):
        X_train, y_train = synthetic["train"][0]
        row = synthetic["folds"][0][1][0]
        forest = RandomForestClassifier(50, random_state=0).fit(X_train, y_train)
        assert block_occlusion(forest, row, feature_names=synthetic["names"]).score == "probability"

        class LabelsOnly:
            def __init__(self, model):
                self.model = model

            def predict(self, X):
                return self.model.predict(X)

        occlusion = block_occlusion(LabelsOnly(forest), row, feature_names=synthetic["names"])
        assert occlusion.score == "label" and set(occlusion.effect.tolist()) <= {0.0, 1.0}
        with pytest.raises(ValueError, match="one value per feature name"):
            block_occlusion(forest, row[:-1], feature_names=synthetic["names"])


def hand_landmarks():
    """68 points on a 64-pixel crop: eyes in block row 1, mouth in row 3 (4 x 4 grid)."""
    lm = np.zeros((68, 2))
    lm[0:17] = np.c_[np.linspace(2, 62, 17), np.full(17, 62.0)]
    lm[17:27] = np.c_[np.linspace(14, 50, 10), np.full(10, 12.0)]
    lm[27:36] = np.c_[np.full(9, 32.0), np.linspace(20, 44, 9)]
    lm[36:42] = np.c_[np.linspace(18, 28, 6), np.full(6, 24.0)]
    lm[42:48] = np.c_[np.linspace(36, 46, 6), np.full(6, 24.0)]
    lm[48:68] = np.c_[np.linspace(20, 44, 20), np.full(20, 55.0)]
    return lm


def test_explanation_figures_are_written(synthetic, per_class, tmp_path):
    X, y, names = synthetic["X"], synthetic["y"], synthetic["names"]
    lm = hand_landmarks()
    clips = [AlignedClip(v, np.repeat(lm[None], T, 0).astype(np.float32), np.ones(T, bool), 25.0,
                         f"clip{i}") for i, v in enumerate(synthetic["volumes"][:4])]
    namer = BlockNamer.from_feature_names(names, landmarks=lm, size=S)
    face = mean_face(clips)
    model, X_test, y_test = synthetic["folds"][0]
    X_train, _ = synthetic["train"][0]
    views = compare_importance_views({
        "permutation": per_class.values("motion"),
        "SVM |w|": svm_block_weights(model, X_train=X_train, feature_names=names)})
    occlusion = block_occlusion(model, X[0], feature_names=names, reference=X_train.mean(axis=0))
    sep = class_chi2_distances(X, y, feature_names=names)
    figures = {
        "heat_kind": plot_class_heatmaps(per_class, namer=namer, face=face),
        "heat_segment": plot_class_heatmaps(per_class, namer=namer, face=face, split="segment",
                                            classes=["motion"]),
        "views": plot_importance_views(views, namer=namer, face=face),
        "hist": plot_class_histograms(list(class_mean_histograms(X, y, feature_names=names)
                                           .values())),
        "sep": plot_separability(sep, confusion=confusion_matrix(y_test, model.predict(X_test),
                                                                 labels=list(CLASSES))),
        "clip": plot_block_occlusion(occlusion, clip=clips[0], namer=namer),
    }
    for name, fig in figures.items():
        image = cv2.imread(str(save_figure(fig, tmp_path / f"{name}.png")))
        assert image is not None and min(image.shape[:2]) > 200 and image.std() > 10, name
    # the kind split has the overall column and one per plane; the segment split one per half
    assert len(figures["heat_kind"].axes) >= 3 * 4
    with pytest.raises(ValueError, match="split"):
        plot_class_heatmaps(per_class, namer=namer, face=face, split="bin")


def test_block_heat_fills_each_block_cell():
    lm = hand_landmarks()
    namer = BlockNamer(landmarks=lm, size=S, grids={"lbptop": (4, 4, 2)})
    heat = block_heat({Block("lbptop", "xt", 3, 1, 1): 0.5, Block("lbptop", "xy", 3, 1, 0): 0.25,
                       Block("lbptop", "xy", 0, 0, 0): -1.0}, namer=namer)
    expected = np.zeros((S, S))
    expected[48:64, 16:32] = 0.75  # both mouth blocks share a cell; negative values count 0
    np.testing.assert_array_equal(heat, expected)
