"""The embedded default set: synthetic expression clips animated from real public-domain portraits.

The set lets the whole pipeline run on a fresh machine with no download, on images a person
recognises as faces. It is **synthetic**: a smoke test of the pipeline and a teaching aid, not
evidence of accuracy on real faces (every expression is a warp of one still photograph, driven by
hand-made action-unit displacements).

Portraits (both ship inside our dependencies and are in the public domain):

- ``astronaut``: :func:`skimage.data.astronaut`, NASA photograph of Eileen Collins ("No known
  copyright restrictions, released into the public domain", per scikit-image).
- ``grace_hopper``: matplotlib's sample ``grace_hopper.jpg``, official U.S. Navy photograph of
  Grace Hopper (work of the U.S. federal government, public domain).

How a clip is made
------------------
1. dlib finds the 68 landmarks of the neutral portrait (once per portrait and process).
2. Each generated subject (``S901``, ``S902``, ...; subjects alternate between the portraits) gets
   an identity-like landmark morph (eye spacing, face width and length, mouth width, nose length,
   brow height, a smooth random shape field, optionally a mirror image), a head size and roll, and
   a global brightness, contrast and gamma.
3. Each clip animates the landmarks with the emotion's FACS prototype (see
   :mod:`handcrafted_dfer.datasets._facs`): happiness AU6+12, sadness AU1+4+15, surprise
   AU1+2+5+26, fear AU1+2+4+5+20+26, anger AU4+5+7+23, disgust AU9+15+16, neutral none. The time
   course follows CK+: the sequence runs from neutral to apex (a few neutral frames, a
   smoothstep onset, a few apex frames) and ends at the apex, with no offset; length and intensity
   are random.
4. The portrait is warped piecewise-affinely over a Delaunay triangulation of the landmarks, a ring
   of anchor points around the face and points beyond the frame border; an opening mouth is
   darkened inside the inner-lip contour. Small head translation, roll and zoom vary over time;
   an illumination gradient, Gaussian noise and, in some clips, an occluding bar or patch are
   added.
5. Frames are written as grey PNGs in the CK+ layout (GUIDE §5), with the CK+ emotion code in an
   ``_emotion.txt`` file on the last (apex) frame, landmarks in ``Landmarks/`` in CK+ style, a
   ``README.txt`` and a ``synthetic.json`` manifest of the generator parameters.

Everything is drawn from ``numpy.random.default_rng`` seeded by ``(seed, subject, clip)``, so the
same parameters give byte-identical PNGs.
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
import shutil
import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import DatasetLayoutError, NoFaceError
from ._facs import CKPLUS_CODES, MIRROR, PROTOTYPES, au_field
from ._warp import signed_areas, triangulate, warp_piecewise_affine

__all__ = [
    "PORTRAITS",
    "EMOTIONS",
    "SubjectStyle",
    "ClipSpec",
    "sample_subject_style",
    "sample_clip_spec",
    "render_clip",
    "generate_synthetic",
    "load_synthetic",
]

#: Names of the embedded portraits; subject k uses ``PORTRAITS[k % 2]``.
PORTRAITS = ("astronaut", "grace_hopper")

#: The generated classes, in CK+ code order.
EMOTIONS = tuple(sorted(CKPLUS_CODES, key=CKPLUS_CODES.get))

MANIFEST = "synthetic.json"
_FORMAT_VERSION = 1
_CROP_IOD = 4.2  # side of the output frame, in inter-ocular distances (face ~half the frame)
_CROP_CENTRE_Y = 0.4  # frame centre below the eye midpoint, in IOD
_RING = 20  # anchor points on an ellipse around the face
_RING_CENTRE, _RING_RADII = (0.0, 0.55), (1.75, 1.8)  # face frame, IOD units


# ----------------------------------------------------------------------------------------------
# portraits


@functools.lru_cache(maxsize=None)
def _portrait(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "astronaut":
        from skimage.data import astronaut

        grey, source = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY), "skimage.data.astronaut()"
    elif name == "grace_hopper":
        from matplotlib import cbook

        source = str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        grey = cv2.imread(source, cv2.IMREAD_GRAYSCALE)
    else:
        raise ValueError(f"unknown portrait {name!r}; known: {', '.join(PORTRAITS)}")
    from ..face.models import load_detector, load_shape_predictor

    faces = load_detector()(grey, 1)
    if len(faces) == 0:
        raise NoFaceError(source, "dlib found no face in this embedded portrait")
    face = max(faces, key=lambda r: r.width() * r.height())
    shape = load_shape_predictor(68)(grey, face)
    points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], dtype=np.float64)
    grey.setflags(write=False)
    points.setflags(write=False)
    return grey, points


def _face_frame(points: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Origin (eye midpoint), inter-ocular distance and 2x2 basis (rows x, y) of the face frame."""
    right_eye, left_eye = points[36:42].mean(0), points[42:48].mean(0)
    iod = float(np.linalg.norm(left_eye - right_eye))
    ex = (left_eye - right_eye) / iod
    return (right_eye + left_eye) / 2, iod, np.array([ex, [-ex[1], ex[0]]])


def _face_to_portrait(q: np.ndarray, portrait: str) -> np.ndarray:
    """Face-frame points (IOD units, origin at the eye midpoint) in a portrait's pixels."""
    origin, iod, basis = _face_frame(_portrait(portrait)[1])
    return origin + (q * iod) @ basis


# ----------------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class SubjectStyle:
    """What makes one synthetic subject look like another person.

    Lengths are in inter-ocular distances (IOD), relative changes are fractions, angles degrees.

    Parameters
    ----------
    portrait : str
        One of :data:`PORTRAITS`.
    eye_spread : float
        Added to the distance between the eyes (and brows), IOD.
    face_width, face_length : float
        Relative change of the jaw's width and of everything below the eyes' height.
    mouth_width : float
        Relative change of the mouth's width.
    nose_length : float
        Nose tip and nostrils moved down by this much, IOD.
    brow_height : float
        Brows moved up by this much, IOD.
    shape_seed : int or None
        Seed of a smooth random landmark displacement (about 0.03 IOD); None for none.
    mirror : bool
        Flip the output left to right.
    roll : float
        Head roll, degrees.
    scale : float
        Face size relative to the default framing.
    gamma, contrast, brightness : float
        Tone curve ``(x ** gamma - 0.5) * contrast + 0.5 + brightness`` on [0, 1] intensities.
    """

    portrait: str
    eye_spread: float = 0.0
    face_width: float = 0.0
    face_length: float = 0.0
    mouth_width: float = 0.0
    nose_length: float = 0.0
    brow_height: float = 0.0
    shape_seed: int | None = None
    mirror: bool = False
    roll: float = 0.0
    scale: float = 1.0
    gamma: float = 1.0
    contrast: float = 1.0
    brightness: float = 0.0


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one rendered clip.

    Parameters
    ----------
    style : SubjectStyle
    emotion : str
        One of :data:`EMOTIONS`.
    n_frames : int
    size : int
        Side of the square output frames, pixels.
    au_gains : tuple of (int, float)
        Action unit and its intensity at the apex (1.0 = the tabulated displacement).
    onset : int
        Frames before this index are neutral (at least frame 0 is, for ``onset >= 1``).
    apex : int or None
        Frames from this index on are at the apex (None: the last frame); in between, a
        smoothstep rise.
    roll : (float, float)
        Extra head roll (degrees) at the first and at the last frame.
    shift : (float, float, float, float)
        Head offset ``(x0, y0, x1, y1)`` at the first and last frame, IOD.
    zoom : (float, float)
        Head scale at the first and last frame.
    ramp : (float, float)
        Illumination gradient: direction (radians) and relative strength across the frame.
    noise : float
        Standard deviation of additive Gaussian noise, grey levels.
    noise_seed : int
    occlusion : tuple of 5 floats or None
        ``(cx, cy, width, height, grey)``: a rectangle in the face frame (IOD units, origin at
        the eye midpoint, turning with the head), filled with ``grey`` in [0, 1].
    """

    style: SubjectStyle
    emotion: str
    n_frames: int
    size: int
    au_gains: tuple = ()
    onset: int = 1
    apex: int | None = None
    roll: tuple = (0.0, 0.0)
    shift: tuple = (0.0, 0.0, 0.0, 0.0)
    zoom: tuple = (1.0, 1.0)
    ramp: tuple = (0.0, 0.0)
    noise: float = 0.0
    noise_seed: int = 0
    occlusion: tuple | None = None

    def progress(self) -> np.ndarray:
        """Expression intensity of every frame, 0 (neutral) to 1 (apex), shape (n_frames,)."""
        apex = self.n_frames - 1 if self.apex is None else self.apex
        t = np.arange(self.n_frames, dtype=np.float64)
        u = np.clip((t - self.onset + 1) / max(apex - self.onset + 1, 1), 0.0, 1.0)
        return u * u * (3 - 2 * u)


_OCCLUSIONS = (  # (cx, cy, width, height) in the face frame, IOD: forehead bar, cheek/hand patch
    (0.0, -0.95, 2.6, 0.4),
    (-1.15, 1.2, 0.6, 0.9),
    (1.15, 1.2, 0.6, 0.9),
)


def sample_subject_style(rng: np.random.Generator, portrait: str) -> SubjectStyle:
    """Random identity-like variation of a portrait.

    Parameters
    ----------
    rng : numpy.random.Generator
    portrait : str
        One of :data:`PORTRAITS`.

    Returns
    -------
    SubjectStyle
        Shape changes of a few percent of the inter-ocular distance, a mirror image half of the
        time, roll within 4 degrees, size within 8%, and a random tone curve.
    """
    u = rng.uniform
    return SubjectStyle(
        portrait=portrait,
        eye_spread=u(-0.06, 0.06),
        face_width=u(-0.08, 0.08),
        face_length=u(-0.06, 0.06),
        mouth_width=u(-0.10, 0.10),
        nose_length=u(-0.04, 0.04),
        brow_height=u(-0.05, 0.05),
        shape_seed=int(rng.integers(2**31)),
        mirror=bool(rng.random() < 0.5),
        roll=u(-4.0, 4.0),
        scale=u(0.92, 1.08),
        gamma=u(0.8, 1.25),
        contrast=u(0.85, 1.15),
        brightness=u(-0.06, 0.06),
    )


def sample_clip_spec(
    rng: np.random.Generator,
    style: SubjectStyle,
    emotion: str,
    *,
    frames: tuple[int, int] = (12, 24),
    size: int = 240,
    occlusion_rate: float = 0.25,
) -> ClipSpec:
    """Random duration, intensity, head motion, lighting, noise and occlusion of one clip.

    Parameters
    ----------
    rng : numpy.random.Generator
    style : SubjectStyle
    emotion : str
        One of :data:`EMOTIONS`.
    frames : (int, int)
        Inclusive range of the clip length.
    size : int
        Output frame side, pixels.
    occlusion_rate : float
        Probability that the clip has an occluding bar or patch.

    Returns
    -------
    ClipSpec
        Intensity 0.7-1.15 with each action unit jittered by 15%, a few neutral frames then a
        smoothstep rise to a few apex frames, head drift within 0.08 IOD, roll drift within 3
        degrees, zoom within 3%, a lighting gradient up to 25%, noise sigma 1-4 grey levels.

    Raises
    ------
    ValueError
        If ``emotion`` is unknown.
    """
    if emotion not in PROTOTYPES:
        raise ValueError(f"unknown emotion {emotion!r}; known: {', '.join(EMOTIONS)}")
    u = rng.uniform
    n = int(rng.integers(frames[0], frames[1] + 1))
    hold = max(1, n // 5)
    intensity = u(0.7, 1.15)
    gains = tuple((au, intensity * u(0.85, 1.15)) for au in PROTOTYPES[emotion])
    roll0 = u(-2.0, 2.0)
    zoom0 = u(0.97, 1.03)
    occlusion = None
    if rng.random() < occlusion_rate:
        occlusion = (*_OCCLUSIONS[int(rng.integers(len(_OCCLUSIONS)))], u(0.05, 0.95))
    return ClipSpec(
        style=style,
        emotion=emotion,
        n_frames=n,
        size=size,
        au_gains=gains,
        onset=int(rng.integers(1, hold + 1)),
        apex=n - int(rng.integers(1, hold + 1)),
        roll=(roll0, roll0 + u(-3.0, 3.0)),
        shift=tuple(u(-0.08, 0.08, size=4)),
        zoom=(zoom0, zoom0 * u(0.98, 1.02)),
        ramp=(u(0.0, 2 * math.pi), u(0.0, 0.25)),
        noise=u(1.0, 4.0),
        noise_seed=int(rng.integers(2**31)),
        occlusion=occlusion,
    )


# ----------------------------------------------------------------------------------------------
# rendering


def _ring() -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, _RING, endpoint=False)
    return np.c_[_RING_CENTRE[0] + _RING_RADII[0] * np.cos(a),
                 _RING_CENTRE[1] + _RING_RADII[1] * np.sin(a)]


def _identity_morph(q: np.ndarray, style: SubjectStyle) -> np.ndarray:
    """Apply the subject's shape changes to 68 landmarks plus ring points, in the face frame."""
    q = q.copy()
    lm = q[:68]
    eyes = np.r_[17:27, 36:48]
    lm[eyes, 0] += np.sign(lm[eyes, 0]) * style.eye_spread / 2
    lm[17:27, 1] -= style.brow_height
    lm[np.r_[30:36], 1] += style.nose_length
    mouth = lm[48:68]
    centre = mouth[:, 0].mean()
    mouth[:, 0] = centre + (mouth[:, 0] - centre) * (1 + style.mouth_width)
    for part in (lm[0:17], q[68:]):  # jaw and anchor ring get wider
        part[:, 0] *= 1 + style.face_width
    below = q[:, 1] > 0
    q[below, 1] *= 1 + style.face_length
    if style.shape_seed is not None:
        r = np.random.default_rng(style.shape_seed)
        centres = np.c_[r.uniform(-1, 1, 4), r.uniform(-0.6, 1.6, 4)]
        vectors = r.normal(0.0, 0.03, (4, 2))
        d2 = ((lm[:, None, :] - centres[None]) ** 2).sum(-1)
        lm += np.exp(-d2 / (2 * 0.6**2)) @ vectors
    return q


def _similarity(angle_deg: float, scale: float, centre: np.ndarray,
                target: np.ndarray) -> np.ndarray:
    """2x3 map ``p -> scale * R(angle) (p - centre) + target``."""
    a = math.radians(angle_deg)
    r = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.c_[r, target - r @ centre]


def _apply(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ m[:, :2].T + m[:, 2]


def _invert(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(m.astype(np.float64))


def _border(size: int) -> np.ndarray:
    lo, hi = -0.3 * size, 1.3 * size
    s = np.linspace(lo, hi, 5)
    return np.unique(np.r_[np.c_[s, np.full(5, lo)], np.c_[s, np.full(5, hi)],
                           np.c_[np.full(5, lo), s], np.c_[np.full(5, hi), s]], axis=0)


def _clip_geometry(spec: ClipSpec, field_scale: float) -> list[tuple]:
    """Per frame: portrait-to-frame similarity, face-frame shape, source and destination points.

    Source points are the portrait's neutral landmarks, the anchor ring and the frame-border
    points mapped back into the portrait; destination points are the subject's landmarks moved by
    ``field_scale`` times the clip's action units at that frame's progress, in output pixels.
    """
    image, neutral = _portrait(spec.style.portrait)
    origin, iod, basis = _face_frame(neutral)
    size = spec.size
    q_neutral = np.r_[(neutral - origin) @ basis.T / iod, _ring()]  # face frame, IOD units
    q_subject = _identity_morph(q_neutral, spec.style)
    src_face = _face_to_portrait(q_neutral, spec.style.portrait)
    field = field_scale * au_field(dict(spec.au_gains))
    tilt = math.degrees(math.atan2(basis[0, 1], basis[0, 0]))
    centre = origin + iod * _CROP_CENTRE_Y * basis[1]
    base_scale = size / (_CROP_IOD * iod) * spec.style.scale
    border = _border(size)
    x0, y0, x1, y1 = spec.shift
    geometry = []
    for t, p in enumerate(spec.progress()):
        u = t / max(spec.n_frames - 1, 1)
        w = u * u * (3 - 2 * u)  # head motion eases in and out over the clip
        q = q_subject.copy()
        q[:68] += p * field
        m = _similarity(
            -tilt + spec.style.roll + spec.roll[0] + (spec.roll[1] - spec.roll[0]) * w,
            base_scale * (spec.zoom[0] + (spec.zoom[1] - spec.zoom[0]) * w),
            centre,
            np.array([size / 2 + (x0 + (x1 - x0) * w) * iod * base_scale,
                      size / 2 + (y0 + (y1 - y0) * w) * iod * base_scale]),
        )
        dst = np.r_[_apply(m, _face_to_portrait(q, spec.style.portrait)), border]
        src = np.r_[src_face, _apply(_invert(m), border)]
        geometry.append((m, q, src, dst))
    return geometry


def _fold_free_triangles(geometry: list[tuple]) -> np.ndarray | None:
    """A triangulation positive in every frame's source and destination points, or None.

    Tries the Delaunay triangulations of the first frame's source points, of the apex shape and
    of the half-way shape.
    """
    n = len(geometry)
    for points in (geometry[0][2], geometry[-1][3], geometry[n // 2][3]):
        triangles = triangulate(points)
        if all((signed_areas(g[2], triangles) > 0).all()
               and (signed_areas(g[3], triangles) > 0).all() for g in geometry):
            return triangles
    return None


def render_clip(spec: ClipSpec) -> tuple[np.ndarray, np.ndarray]:
    """Render the frames of one synthetic clip.

    Where the action units at the clip's intensity would fold a warp triangle over (rare, with
    strong mouth movements on an extreme face shape), the intensity is lowered in steps of 10%
    until no triangle folds; the returned landmarks are those actually rendered.

    Parameters
    ----------
    spec : ClipSpec

    Returns
    -------
    frames : ndarray, (n_frames, size, size) uint8
        Grey frames, neutral first, apex last.
    landmarks : ndarray, (n_frames, 68, 2) float32
        The intended (x, y) position of every landmark in every frame, in output pixels.
    """
    image, _ = _portrait(spec.style.portrait)
    n, size = spec.n_frames, spec.size
    for field_scale in 0.9 ** np.arange(30):
        geometry = _clip_geometry(spec, field_scale)
        triangles = _fold_free_triangles(geometry)
        if triangles is not None:
            break
    else:  # the neutral shape of every portrait and style is fold-free; not reached in practice
        raise RuntimeError("no fold-free triangulation for this clip specification")
    rng = np.random.default_rng(spec.noise_seed)
    a, strength = spec.ramp
    ramp = (np.arange(size, dtype=np.float32) - size / 2) / size
    light = 1 + strength * (ramp[None, :] * math.cos(a) + ramp[:, None] * math.sin(a))
    mouth_gap0 = geometry[0][1][66, 1] - geometry[0][1][62, 1]
    st = spec.style

    frames = np.empty((n, size, size), np.uint8)
    landmarks = np.empty((n, 68, 2), np.float32)
    levels = np.arange(256) / 255
    tone = np.clip(255 * ((levels**st.gamma - 0.5) * st.contrast + 0.5 + st.brightness), 0, 255)
    tone = np.rint(tone).astype(np.uint8)
    for t, (m, q, src, dst) in enumerate(geometry):
        frame = warp_piecewise_affine(image, src, dst, triangles, (size, size), outside=_invert(m))
        frame = cv2.LUT(frame, tone).astype(np.float32)
        overlays = []
        opening = np.clip((q[66, 1] - q[62, 1] - mouth_gap0) / 0.2, 0.0, 1.0)
        if opening > 0:  # an opening mouth shows its dark inside
            overlays.append((dst[60:68], 25.0, 0.85 * opening))
        if spec.occlusion is not None:
            cx, cy, ow, oh, grey = spec.occlusion
            rect = np.array([[cx - ow / 2, cy - oh / 2], [cx + ow / 2, cy - oh / 2],
                             [cx + ow / 2, cy + oh / 2], [cx - ow / 2, cy + oh / 2]])
            corners = _apply(m, _face_to_portrait(rect, spec.style.portrait))
            overlays.append((corners, 255 * grey, 1.0))
        for polygon, grey, alpha in overlays:
            mask = np.zeros((size, size), np.float32)
            cv2.fillConvexPoly(mask, np.round(polygon * 16).astype(np.int32), alpha, cv2.LINE_AA, 4)
            frame += mask * (grey - frame)
        frame *= light
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(spec.noise)
        out = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        points = dst[:68]
        if st.mirror:
            out = out[:, ::-1]
            points = np.c_[size - 1 - points[:, 0], points[:, 1]][MIRROR]
        frames[t] = out
        landmarks[t] = points
    return frames, landmarks


# ----------------------------------------------------------------------------------------------
# the set on disk


def _check_params(subjects, clips_per_class, frames, size, seed) -> dict:
    if not isinstance(subjects, (int, np.integer)) or not 1 <= subjects <= 99:
        raise ValueError(
            f"subjects must be an integer from 1 to 99 (ids S901..S999), got {subjects!r}")
    max_clips = 999 // len(EMOTIONS)
    if not isinstance(clips_per_class, (int, np.integer)) or not 1 <= clips_per_class <= max_clips:
        raise ValueError(
            f"clips_per_class must be an integer from 1 to {max_clips}, got {clips_per_class!r}")
    try:
        lo, hi = (int(v) for v in frames)
    except (TypeError, ValueError):
        raise ValueError(f"frames must be a pair (min, max) of integers, got {frames!r}") from None
    if not 3 <= lo <= hi <= 999:
        raise ValueError(f"frames must satisfy 3 <= min <= max <= 999, got {frames!r}")
    if not isinstance(size, (int, np.integer)) or not 160 <= size <= 1024:
        raise ValueError(f"size must be an integer from 160 to 1024 pixels (dlib needs faces of "
                         f"about 80 pixels), got {size!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return {"subjects": int(subjects), "clips_per_class": int(clips_per_class),
            "frames": [lo, hi], "size": int(size), "seed": int(seed)}


def _read_manifest(root: pathlib.Path) -> dict | None:
    try:
        return json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _write_manifest(root: pathlib.Path, params: dict, complete: bool, clips: int = 0) -> None:
    manifest = {"generator": __name__, "format_version": _FORMAT_VERSION, "params": params,
                "complete": complete, "clips": clips}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _prepare_root(root: pathlib.Path) -> None:
    """Make ``root`` an empty folder, removing only a synthetic set written here before."""
    if root.exists() and not root.is_dir():
        raise DatasetLayoutError(root, "expected a folder for the synthetic set, found a file")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MANIFEST).is_file():
            raise DatasetLayoutError(
                root, f"folder is not empty and holds no synthetic set (no {MANIFEST}); "
                "choose a new or empty folder"
            )
        for name in ("cohn-kanade-images", "Emotion", "Landmarks"):
            shutil.rmtree(root / name, ignore_errors=True)
        for name in ("README.txt", MANIFEST):
            (root / name).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)


def _readme(params: dict, n_clips: int, seconds: float) -> str:
    aus = "\n".join(f"  {e:9s} {'+'.join(f'AU{a}' for a in PROTOTYPES[e]) or '(none)':24s} "
                    f"CK+ code {CKPLUS_CODES[e]}" for e in EMOTIONS)
    return f"""SYNTHETIC facial expression clips (handcrafted_dfer embedded default set)

THIS DATA SET IS SYNTHETIC. Every clip is a piecewise-affine warp of one of two still
photographs, animated by hand-made FACS-style action-unit displacements of the 68 facial
landmarks.

What it is for: a smoke test of the whole pipeline (face detection and alignment, LBP-TOP,
3D-HOG and optical-flow features, classifiers, the 3D CNN, subject-independent protocols, reports)
on a fresh machine with no download, and a teaching aid.

What it is not: it is not evidence of accuracy on real faces. Real expressions differ across
people, are not warps of one photograph, and are far harder to tell apart; accuracy here says
nothing about accuracy on CK+, DFEW, MAFW, FERV39k or any real data.

Layout: CK+ (cohn-kanade-images/Sxxx/NNN/Sxxx_NNN_0000000k.png, Emotion/.../_emotion.txt on the
last, apex, frame; Landmarks/.../_landmarks.txt with the intended 68 landmarks of every frame).
Load it with handcrafted_dfer.datasets.synthetic.load_synthetic or as CK+.

Portraits (public domain, shipped inside the dependencies):
  astronaut     scikit-image skimage.data.astronaut(): NASA photograph of Eileen Collins
  grace_hopper  matplotlib sample data grace_hopper.jpg: U.S. Navy photograph of Grace Hopper
Subjects S901, S902, ... alternate between the portraits; each has its own landmark morph
(eye spacing, face width and length, mouth width, nose length, brow height, smooth random shape,
optional mirror image), head size and roll, brightness, contrast and gamma.

Expressions (EMFACS-style prototypes):
{aus}
Time course: neutral -> apex as in CK+ (a few neutral frames, smoothstep onset, a few apex frames;
no offset), random length and intensity (0.7-1.15, each action unit jittered +-15%).
Per clip: head translation (+-0.08 inter-ocular distances), roll (+-2 deg start, +-3 deg drift),
zoom (+-3%), an illumination gradient (up to 25%), Gaussian noise (sigma 1-4 grey levels), and in
about a quarter of the clips an occluding bar or patch.

Generator parameters: subjects={params['subjects']} clips_per_class={params['clips_per_class']}
frames={params['frames'][0]}-{params['frames'][1]} size={params['size']} seed={params['seed']}
Clips: {n_clips}. Generated in {seconds:.1f} s by {__name__} (format {_FORMAT_VERSION}).
Same parameters -> byte-identical PNGs.
"""


def generate_synthetic(
    root,
    *,
    subjects: int = 8,
    clips_per_class: int = 2,
    frames: tuple[int, int] = (12, 24),
    size: int = 240,
    seed: int = 0,
    progress: bool = True,
) -> pathlib.Path:
    """Write the synthetic expression set in the CK+ layout under ``root``.

    Parameters
    ----------
    root : str or Path
        A new or empty folder, or one holding a synthetic set written before (which is replaced).
    subjects : int
        Number of subjects (1-99), ids ``S901``, ``S902``, ...; they alternate between the
        portraits.
    clips_per_class : int
        Clips of each of the 7 classes (neutral and the six basic emotions) per subject.
    frames : (int, int)
        Inclusive range of clip lengths, frames.
    size : int
        Side of the square grey frames, pixels.
    seed : int
        Seed of every random choice; the same arguments give byte-identical files.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pathlib.Path
        ``root``.

    Raises
    ------
    ValueError
        If a numeric argument is out of range.
    DatasetLayoutError
        If ``root`` is a file or a non-empty folder that holds no synthetic set.
    """
    from tqdm.auto import tqdm

    params = _check_params(subjects, clips_per_class, frames, size, seed)
    root = pathlib.Path(root)
    _prepare_root(root)
    _write_manifest(root, params, complete=False)
    start = time.perf_counter()
    jobs = []
    for k in range(params["subjects"]):
        rng = np.random.default_rng([params["seed"], k, 0])
        style = sample_subject_style(rng, PORTRAITS[k % len(PORTRAITS)])
        emotions = [e for e in EMOTIONS for _ in range(params["clips_per_class"])]
        order = rng.permutation(len(emotions))  # sequence numbers do not reveal the class
        jobs += [(k, j, style, emotions[i]) for j, i in enumerate(order)]
    for k, j, style, emotion in tqdm(jobs, desc="synthetic clips", disable=not progress):
        rng = np.random.default_rng([params["seed"], k, j + 1])
        spec = sample_clip_spec(rng, style, emotion, frames=tuple(params["frames"]),
                                size=params["size"])
        clip_frames, clip_landmarks = render_clip(spec)
        subject, seq = f"S{901 + k}", f"{j + 1:03d}"
        folders = [root / part / subject / seq
                   for part in ("cohn-kanade-images", "Emotion", "Landmarks")]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        for t, (frame, points) in enumerate(zip(clip_frames, clip_landmarks), start=1):
            stem = f"{subject}_{seq}_{t:08d}"
            if not cv2.imwrite(str(folders[0] / f"{stem}.png"), frame):
                raise OSError(f"OpenCV could not write {folders[0] / f'{stem}.png'}")
            rows = "".join(f"{x:16.7e}{y:16.7e}\n" for x, y in points.astype(np.float64))
            (folders[2] / f"{stem}_landmarks.txt").write_text(rows)
        (folders[1] / f"{stem}_emotion.txt").write_text(f"{float(CKPLUS_CODES[emotion]):16.7e}\n")
    seconds = time.perf_counter() - start
    (root / "README.txt").write_text(_readme(params, len(jobs), seconds))
    _write_manifest(root, params, complete=True, clips=len(jobs))
    return root


def load_synthetic(
    root,
    *,
    subjects: int = 8,
    clips_per_class: int = 2,
    frames: tuple[int, int] = (12, 24),
    size: int = 240,
    seed: int = 0,
    progress: bool = True,
):
    """The synthetic set under ``root``, generated first unless a complete one with these
    parameters is already there.

    Parameters are those of :func:`generate_synthetic`.

    Returns
    -------
    Dataset
        Loaded by :func:`handcrafted_dfer.datasets.ckplus.load_ckplus` with ``name="synthetic"``;
        classes (CK+ code order) neutral, anger, disgust, fear, happiness, sadness, surprise.
    """
    params = _check_params(subjects, clips_per_class, frames, size, seed)
    root = pathlib.Path(root)
    manifest = _read_manifest(root)
    if not (manifest and manifest.get("complete") and manifest.get("params") == params
            and manifest.get("format_version") == _FORMAT_VERSION):
        generate_synthetic(root, progress=progress, **params)
    from .ckplus import load_ckplus

    return load_ckplus(root, name="synthetic")

