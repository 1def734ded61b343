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
