"""Frame readers: video files, frame folders, arrays, and every kind of bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.errors import VideoReadError
from handcrafted_dfer.face.preprocess import preprocess_video
from handcrafted_dfer.video import DEFAULT_FPS, list_frame_files, open_video


def _frames(n, h=24, w=32, colour=False):
    """Frames whose pixels all equal 10 * index (known by construction)."""
    shape = (h, w, 3) if colour else (h, w)
    return [np.full(shape, 10 * k, np.uint8) for k in range(n)]


class TestFrameFolder:
    def test_numeric_sort(self, tmp_path):
        for k in (10, 2, 1, 33, 3):
            cv2.imwrite(str(tmp_path / f"frame{k}.png"), np.full((4, 4), k, np.uint8))
        (tmp_path / "notes.txt").write_text("not a frame")
        names = [p.name for p in list_frame_files(tmp_path)]
        assert names == ["frame1.png", "frame2.png", "frame3.png", "frame10.png", "frame33.png"]
        values = [int(f[0, 0]) for f in open_video(tmp_path)]
        assert values == [1, 2, 3, 10, 33]

    def test_16bit_rgba_and_grey_pngs(self, tmp_path):
        grey16 = np.arange(0, 65536, 257, dtype=np.uint16)[:64].reshape(8, 8)
        bgra = np.zeros((8, 8, 4), np.uint8)
        bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 30, 7
        colour16 = np.zeros((8, 8, 3), np.uint16)
        colour16[..., 2] = 65535
        cv2.imwrite(str(tmp_path / "1.png"), grey16)
        cv2.imwrite(str(tmp_path / "2.png"), bgra)
        cv2.imwrite(str(tmp_path / "3.png"), np.full((8, 8), 99, np.uint8))
        cv2.imwrite(str(tmp_path / "4.png"), colour16)
        a, b, c, d = list(open_video(tmp_path))
        assert a.dtype == np.uint8 and a.shape == (8, 8)
        np.testing.assert_array_equal(a, (grey16 // 257).astype(np.uint8))
        assert b.shape == (8, 8, 3) and b.dtype == np.uint8
        np.testing.assert_array_equal(b[0, 0], [10, 20, 30])
        assert c.shape == (8, 8) and (c == 99).all()
        np.testing.assert_array_equal(d[0, 0], [0, 0, 255])

    def test_fps_default_and_given(self, tmp_path):
        cv2.imwrite(str(tmp_path / "0.png"), np.zeros((4, 4), np.uint8))
        assert open_video(tmp_path).fps == DEFAULT_FPS
        assert open_video(tmp_path, fps=30).fps == 30.0
        assert open_video(tmp_path).n_frames == 1

    def test_empty_folder(self, tmp_path):
        (tmp_path / "readme.txt").write_text("x")
        with pytest.raises(VideoReadError, match=str(tmp_path)):
            open_video(tmp_path)

    def test_unreadable_frame_names_the_file(self, tmp_path):
        cv2.imwrite(str(tmp_path / "1.png"), np.zeros((4, 4), np.uint8))
        (tmp_path / "2.png").write_text("not a png")
        with pytest.raises(VideoReadError, match="2.png"):
            list(open_video(tmp_path))


class TestArray:
    def test_grey_and_colour(self):
        grey = np.stack(_frames(5))
        out = list(open_video(grey))
        assert len(out) == 5 and all((f == 10 * k).all() for k, f in enumerate(out))
        colour = np.stack(_frames(3, colour=True))
        stream = open_video(colour, fps=12.5)
        assert stream.fps == 12.5 and stream.n_frames == 3 and stream.path == "<array>"
        assert all(f.shape == (24, 32, 3) for f in stream)

    @pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((2, 4, 4, 2), np.uint8),
                                     np.zeros((2, 4, 4), np.float32)])
    def test_bad_arrays(self, bad):
        with pytest.raises(ValueError):
            open_video(bad)

    def test_empty_array(self):
        with pytest.raises(VideoReadError):
            open_video(np.zeros((0, 4, 4), np.uint8))

    def test_bad_fps(self):
        with pytest.raises(ValueError, match="fps"):
            open_video(np.zeros((1, 4, 4), np.uint8), fps=0)


class TestVideoFile:
    @pytest.mark.parametrize("suffix", [".avi", ".mp4"])
    def test_synthetic_video(self, tmp_path, video_writer, suffix):
        path = video_writer(tmp_path / f"clip{suffix}", _frames(12, 48, 64), fps=15)
        stream = open_video(path)
        assert stream.fps == pytest.approx(15, abs=0.01)
        assert stream.n_frames is None  # not read yet
        frames = list(stream)
        assert len(frames) == 12 and stream.n_frames == 12
        assert frames[0].shape == (48, 64, 3)
        means = [float(f.mean()) for f in frames]
        np.testing.assert_allclose(means, [10 * k for k in range(12)], atol=6)  # lossy codecs
        assert np.all(np.diff(means) > 0)  # frames come in order
        assert len(list(stream)) == 12  # a second pass works

    def test_missing_path(self, tmp_path):
        with pytest.raises(VideoReadError, match="nothere.mp4"):
            open_video(tmp_path / "nothere.mp4")

    def test_empty_file(self, tmp_path):
        path = tmp_path / "empty.mp4"
        path.touch()
        with pytest.raises(VideoReadError, match="empty.mp4"):
            open_video(path)

    def test_text_renamed_mp4(self, tmp_path):
        path = tmp_path / "notes.mp4"
        path.write_text("this is not a video\n" * 50)
        with pytest.raises(VideoReadError, match="notes.mp4"):
            open_video(path)

    def test_unsupported_suffix(self, tmp_path):
        path = tmp_path / "clip.xyz"
        path.write_text("x")
        with pytest.raises(VideoReadError, match="clip.xyz"):
            open_video(path)


#: Containers other than the usual four, with the fourccs OpenCV's writer may use for them.
CONTAINERS = {".flv": ("FLV1",), ".webm": ("VP80", "VP90")}


def _write_container(write_video, path, frames, fps=15):
    """Write ``frames`` with the first fourcc of :data:`CONTAINERS` this OpenCV build encodes."""
    fourccs = CONTAINERS[path.suffix]
    for fourcc in fourccs:
        try:
            return write_video(path, frames, fps=fps, fourcc=fourcc)
        except RuntimeError:
            continue
    pytest.skip(f"this OpenCV build has no encoder for {path.suffix} (tried {', '.join(fourccs)})")


class TestAnyContainer:
    """Whether a file is a video is decided by decoding it, not by its suffix."""

    @pytest.mark.parametrize("suffix", sorted(CONTAINERS))
    def test_written_by_opencv_decodes(self, tmp_path, video_writer, suffix):
        path = _write_container(video_writer, tmp_path / f"clip{suffix}", _frames(12, 48, 64))
        stream = open_video(path)
        frames = list(stream)
        assert len(frames) == 12 and frames[0].shape == (48, 64, 3)
        np.testing.assert_allclose([f.mean() for f in frames], [10 * k for k in range(12)], atol=6)
        assert stream.fps == pytest.approx(15, abs=0.01)

    @pytest.mark.parametrize("suffix", sorted(CONTAINERS))
    def test_real_face_preprocesses(self, tmp_path, video_writer, shared_videos, suffix):
        source = [f for _, f in zip(range(15), open_video(shared_videos / "single_face.mp4"))]
        path = _write_container(video_writer, tmp_path / f"face{suffix}", source, fps=30)
        clip = preprocess_video(path, PreprocessConfig(size=64, frames=8))
        assert clip.frames.shape == (8, 64, 64) and clip.valid.all()
        assert clip.source == str(path) and clip.fps == pytest.approx(30, abs=0.01)

    def test_the_suffix_does_not_matter(self, tmp_path, video_writer):
        real = video_writer(tmp_path / "clip.mp4", _frames(8, 48, 64), fps=15)
        odd = tmp_path / "clip.data"
        odd.write_bytes(real.read_bytes())
        assert len(list(open_video(odd))) == 8

    def test_text_is_not_a_video_whatever_the_suffix(self, tmp_path):
        """FFmpeg would render a .txt file as video frames (its tty demuxer): refused by content."""
        for name in ("notes.txt", "notes.webm"):
            path = tmp_path / name
            path.write_text("this is not a video\n" * 50)
            with pytest.raises(VideoReadError, match=f"{name}: this is a text file"):
                open_video(path)

    def test_undecodable_file_names_the_file_and_what_was_tried(self, tmp_path):
        path = tmp_path / "garbage.flv"
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
        with pytest.raises(VideoReadError, match="garbage.flv") as info:
            open_video(path)
        assert "FFmpeg" in str(info.value) and "expected a video" in str(info.value)

    def test_a_frame_image_stays_an_image(self, tmp_path):
        path = tmp_path / "face.png"
        cv2.imwrite(str(path), np.full((8, 8), 77, np.uint8))
        stream = open_video(path)
        assert stream.n_frames == 1 and [int(f[0, 0]) for f in stream] == [77]


class TestRealVideos:
    def test_container_count_is_not_trusted(self, shared_videos):
        stream = open_video(shared_videos / "no_face.mp4")
        assert stream.n_frames_hint == 98
        assert sum(1 for _ in stream) == 95
        assert stream.n_frames == 95

    @pytest.mark.parametrize("name", ["WolfgangLanger_Pexels.mp4", "single_face.mp4"])
    def test_truncated_mp4(self, shared_videos, tmp_path, name):
        """First half of a real file: an error naming it, at opening or after the frames that decode."""
        data = (shared_videos / name).read_bytes()
        path = tmp_path / f"half_{name}"
        path.write_bytes(data[: len(data) // 2])
        decoded = 0
        with pytest.raises(VideoReadError, match=f"half_{name}"):
            for _ in open_video(path):
                decoded += 1
        assert decoded < 472 // 2 + 20
