"""Shared fixtures: the real face videos in ../shared/data/videos and a small video writer."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest

SHARED_VIDEOS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


@pytest.fixture(scope="session")
def shared_videos() -> pathlib.Path:
    """Folder of real face footage (see its SOURCES.md); skips the test when it is absent."""
    if not (SHARED_VIDEOS / "SOURCES.md").is_file():
        pytest.skip(f"real face videos not found at {SHARED_VIDEOS} (present in CI, not in a fresh clone)")
    return SHARED_VIDEOS


def write_video(path, frames, fps: float = 25.0, fourcc: str | None = None) -> pathlib.Path:
    """Write grey or BGR uint8 frames to ``path`` with OpenCV (mp4v for .mp4/.mov, MJPG for .avi).

    Parameters
    ----------
    path : str or Path
    frames : sequence of ndarray, each (H, W) or (H, W, 3) uint8
    fps : float
    fourcc : str, optional
        Four-character codec code, instead of the one chosen by the suffix.
    """
    path = pathlib.Path(path)
    frames = [np.asarray(f) for f in frames]
    h, w = frames[0].shape[:2]
    fourcc = fourcc or ("MJPG" if path.suffix.lower() == ".avi" else "mp4v")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV could not open a video writer for {path}")
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) if f.ndim == 2 else f)
    writer.release()
    return path


@pytest.fixture(scope="session")
def video_writer():
    """The :func:`write_video` helper, as a fixture."""
    return write_video


def _two_faces_module():
    """``benchmarks/two_faces.py`` (the two-person videos made of the shared footage)."""
    import importlib.util

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "two_faces.py"
    spec = importlib.util.spec_from_file_location("two_faces", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def two_faces(shared_videos, tmp_path_factory):
    """A 196-frame 640x360 video: the woman of WolfgangLanger_Pexels.mp4 on the left, the man of
    the other clips on the right, away (an empty background) in frames 72..121; and its layout
    (``write_two_faces``' dict, with ``path``)."""
    module = _two_faces_module()
    path = tmp_path_factory.mktemp("two_faces") / "two_faces.mp4"
    layout = module.write_two_faces(path, frames=196, away=(72, 122))
    return {**layout, "path": path, "module": module}


@pytest.fixture(scope="session")
def synthetic_faces(tmp_path_factory):
    """A small synthetic set on disk (4 subjects x 7 classes x 1 clip of 8-10 frames, 160 px):
    its Dataset, whose clips tests pick into their own manifests (:func:`write_manifest`)."""
    from handcrafted_dfer.datasets.synthetic import load_synthetic

    return load_synthetic(tmp_path_factory.mktemp("synthetic_faces"), subjects=4,
                          clips_per_class=1, frames=(8, 10), size=160, progress=False)


def write_manifest(path, rows) -> pathlib.Path:
    """Write a ``path,label,subject`` manifest CSV of ``rows`` (clip path, label, subject)."""
    path = pathlib.Path(path)
    lines = ["path,label,subject"] + [f"{p},{label},{subject}" for p, label, subject in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def manifest_rows(dataset, labels, subjects=None) -> list:
    """``(path, label, subject)`` of the clips of ``dataset`` with one of ``labels`` (and one of
    ``subjects``), for :func:`write_manifest`."""
    return [(c.path, c.label, c.subject) for c in dataset.clips
            if c.label in labels and (subjects is None or c.subject in subjects)]


def mirror_oracle(extractor, volume) -> np.ndarray:
    """The row ``mirror=True`` must give, by its definition: the mean of the rows of the clip and
    of its left-right flipped copy, from a copy of ``extractor`` without mirror."""
    plain = type(extractor)(**{**extractor.get_params(), "mirror": False}).fit([volume])
    flipped = np.ascontiguousarray(volume[:, :, ::-1])
    return (plain.transform([volume]) + plain.transform([flipped])) / 2
