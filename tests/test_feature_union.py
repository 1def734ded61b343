"""The three extractors compose in a scikit-learn FeatureUnion with unique feature names."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import FeatureUnion

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.features import HOG3D, LBPTOP, OpticalFlowFeatures


def test_feature_union_of_lbptop_hog3d_and_flow():
    rng = np.random.default_rng(0)
    vols = [rng.integers(0, 256, size=(8, 32, 32), dtype=np.uint8) for _ in range(3)]
    clips = [AlignedClip(v, np.zeros((8, 68, 2)), np.ones(8, bool), 25.0, f"clip{i}")
             for i, v in enumerate(vols)]
    parts = [("lbptop", LBPTOP(grid=(1, 2, 2))), ("hog3d", HOG3D(grid=(2, 2, 2))),
             ("flow", OpticalFlowFeatures(grid=(1, 2, 2)))]
    union = FeatureUnion(parts)
    X = union.fit_transform(clips)
    # each block of columns is exactly what the extractor alone gives
    alone = [est.fit(vols).transform(vols) for _, est in parts]
    np.testing.assert_array_equal(X, np.hstack(alone))
    assert X.shape == (3, 3 * 2 * 2 * 59 + 2 * 2 * 2 * 20 + 2 * 2 * (9 + 8 + 8))
    assert np.all(np.isfinite(X))
    names = union.get_feature_names_out()
    assert len(names) == X.shape[1] == len(set(names))
    # the families' own names are unique too, without the union's prefixes
    bare = np.concatenate([est.get_feature_names_out() for _, est in parts])
    assert len(set(bare)) == len(bare)
    assert {n.split("/")[0] for n in bare} == {"lbptop", "hog3d", "hof", "mbhx", "mbhy"}


@pytest.mark.parametrize("make", [lambda m: LBPTOP(grid=(1, 2, 2), mirror=m),
                                  lambda m: HOG3D(grid=(1, 2, 2), mirror=m),
                                  lambda m: OpticalFlowFeatures(grid=(1, 2, 2), mirror=m)])
def test_mirror_averages_the_clip_and_its_mirror_image(make):
    """mirror=True is, by definition, the mean of the rows of a clip and of its mirror image (the
    oracle: the extractor without mirror on both); a clip and its mirror then get one row."""
    rng = np.random.default_rng(4)
    volume = rng.integers(0, 256, (6, 32, 32), dtype=np.uint8)
    flipped = np.ascontiguousarray(volume[:, :, ::-1])
    plain = make(False).fit([volume])
    expected = (plain.transform([volume]) + plain.transform([flipped])) / 2
    mirrored = make(True).fit([volume])
    np.testing.assert_allclose(mirrored.transform([volume]), expected, atol=1e-12)
    np.testing.assert_allclose(mirrored.transform([flipped]), expected, atol=1e-12)
    assert not np.allclose(plain.transform([volume]), expected)  # the mirror does change rows
