"""Frozen configuration objects and the TOML form of an experiment.

* :class:`PreprocessConfig`: how a video becomes an aligned clip.
* :class:`Experiment`: *what* to run: dataset, protocol, preprocessing, methods (specs with their
  parameters), seed, and optionally a second dataset to test on.
* :class:`RunOptions`: *how* to run it: cache folder, parallel jobs, backend, progress, memory
  measurement. It never changes a result.

An experiment reads from and writes to TOML (:func:`load_experiment`, :func:`experiment_to_toml`):
a report records its fully resolved experiment in that form, and ``dfer evaluate --config`` on it
runs the same experiment again.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import tomllib
from dataclasses import dataclass, field
from typing import ClassVar

from .errors import DferError
from .spec import MethodSpec

__all__ = ["PreprocessConfig", "DatasetRef", "Experiment", "RunOptions", "load_experiment",
           "experiment_from_dict", "experiment_to_dict", "experiment_to_toml"]


@dataclass(frozen=True)
class PreprocessConfig:
    """How a video becomes an :class:`~handcrafted_dfer.clip.AlignedClip`.

    Parameters
    ----------
    size : int
        Side S of the square aligned face crop, in pixels.
    frames : int
        Number T of frames after temporal normalization.
    clahe : bool
        Apply CLAHE contrast equalisation to the aligned grey crop.
    detect_width : int
        Frames are first searched for faces on a copy reduced to this width (landmarks use full
        resolution); this fast pass finds faces of about ``80 * W / detect_width`` pixels and more.
    redetect_every : int
        Run the detector at least every this many frames while tracking (and, while no face is
        followed, search for small faces at least every this many frames).
    max_gap : int
        Longest run of frames without a face that is filled by interpolating landmarks; longer
        runs are marked invalid.
    min_valid_fraction : float
        A clip with fewer valid frames than this fraction raises :class:`NoFaceError`.
    faces : {"detect", "cropped", "aligned"} or None
        What the frames hold; None: what the dataset declares (``Dataset.faces``), else ``"detect"``
        (see :meth:`for_dataset`). ``"detect"``: whole scenes; the face is found, tracked and
        aligned. ``"cropped"``: every frame is already a face crop; the 68 landmarks are fitted
        inside it (small crops upscaled first) and the face is aligned as usual. ``"aligned"``:
        every frame is an aligned face; it is only resized to ``size x size`` and the clip has no
        measured landmarks (``AlignedClip.has_landmarks`` is False).
    min_face : int
        Smallest face width, in frame pixels, that ``"detect"`` finds. Where the fast pass finds
        nothing, and at every re-detection of a followed face, the detector runs at full
        resolution, upsampled as much as this needs (dlib's detectors find faces of about 80
        pixels: 40 needs twice the frame's size, four times its pixels).
    detector : {"hog", "cnn"}
        dlib's HOG frontal face detector (fast), or its CNN detector
        (``mmod_human_face_detector.dat``; finds turned and partly hidden faces; each detection
        is about 90 times slower on one core, so preprocessing is about 7 times slower).
    crop_side : float
        Side of the aligned crop in units of the canonical detector box (0.95, the default chosen
        on real faces in ``experiments/ckplus48``: from the brows to the chin, without the hair,
        the background at the sides and the text CK+ burns in under the chin; 1.1 reaches just
        under the chin; smaller is tighter).
    crop_centre : (float, float)
        Centre ``(x, y)`` of the aligned crop in canonical detector-box units (the box is
        ``[0, 1] x [0, 1]``, y down; the eyes are near y = 0.31, the mouth near y = 0.72).
    """

    #: The accepted values of ``faces``.
    FACE_MODES: ClassVar[tuple[str, ...]] = ("detect", "cropped", "aligned")
    #: The accepted values of ``detector``.
    DETECTORS: ClassVar[tuple[str, ...]] = ("hog", "cnn")

    size: int = 96
    frames: int = 16
    clahe: bool = False
    detect_width: int = 320
    redetect_every: int = 10
    max_gap: int = 5
    min_valid_fraction: float = 0.1
    faces: str | None = None
    min_face: int = 40
    detector: str = "hog"
    crop_side: float = 0.95
    crop_centre: tuple[float, float] = (0.5, 0.57)

    def __post_init__(self):
        if self.faces is not None and self.faces not in self.FACE_MODES:
            raise ValueError(f"faces must be one of {', '.join(self.FACE_MODES)}; "
                             f"got {self.faces!r}")
        if self.detector not in self.DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(self.DETECTORS)}; "
                             f"got {self.detector!r}")
        if isinstance(self.min_face, bool) or not isinstance(self.min_face, int) \
                or self.min_face < 20:
            raise ValueError("min_face must be an integer of at least 20 pixels (smaller faces "
                             f"hold too little detail for 68 landmarks); got {self.min_face!r}")
        if not (math.isfinite(self.crop_side) and 0.3 <= self.crop_side <= 4.0):
            raise ValueError(f"crop_side must be between 0.3 and 4 detector-box units; "
                             f"got {self.crop_side!r}")
        centre = tuple(float(v) for v in self.crop_centre)
        if len(centre) != 2 or not all(math.isfinite(v) and -1.0 <= v <= 2.0 for v in centre):
            raise ValueError("crop_centre must be two numbers (x, y) between -1 and 2 "
                             f"detector-box units; got {self.crop_centre!r}")
        object.__setattr__(self, "crop_side", float(self.crop_side))
        object.__setattr__(self, "crop_centre", centre)

    @property
    def face_mode(self) -> str:
        """``faces``, or ``"detect"`` when it is left to the data."""
        return self.faces or "detect"

    def for_dataset(self, dataset) -> "PreprocessConfig":
        """This configuration with ``faces`` resolved: as given, else as ``dataset`` declares,
        else ``"detect"``."""
        return dataclasses.replace(self, faces=self.faces or getattr(dataset, "faces", None)
                                   or "detect")

    @property
    def clip_shape(self) -> tuple:
        """``(T, S, S)`` of the aligned clips."""
        return (self.frames, self.size, self.size)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset by loader name, root and loader options (nothing is read until it is loaded).

    Parameters
    ----------
    name : str
        A loader of :data:`handcrafted_dfer.datasets.DATASETS`.
    root : str or None
        Its folder (or manifest CSV); None only for ``synthetic`` (generated in the cache).
    options : dict
        Loader options (``include_neutral``, ``subject_pattern``, ...).
    """

    name: str
    root: str | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """What a run evaluates (everything that can change a result).

    Parameters
    ----------
    dataset : DatasetRef
    methods : tuple of MethodSpec
    protocol : {"loso", "kfold", "official", "holdout"}
    folds : int or None
        Folds of ``kfold`` (None: the protocol's default, 10).
    preprocess : PreprocessConfig
    seed : int
        Reaches everything random: folds of ``holdout``, inner searches, forests, the 3D CNN,
        learning-curve subsets and permutations.
    test_dataset : DatasetRef or None
        Train on ``dataset`` and test on this one instead of cross-validating.
    """

    dataset: DatasetRef
    methods: tuple
    protocol: str = "loso"
    folds: int | None = None
    preprocess: PreprocessConfig = PreprocessConfig()
    seed: int = 0
    test_dataset: DatasetRef | None = None

    def __post_init__(self):
        object.__setattr__(self, "methods", tuple(self.methods))

    @property
    def protocol_options(self) -> dict:
        """Keyword options of :func:`~handcrafted_dfer.datasets.protocols.get_folds`."""
        if self.protocol == "kfold" and self.folds is not None:
            return {"n_splits": self.folds}
        if self.protocol == "holdout":
            return {"seed": self.seed}
        return {}


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out; nothing here changes a result.

    Parameters
    ----------
    cache_dir : str or None
        Feature store (aligned clips, feature rows, CNN checkpoints); None caches nothing.
    n_jobs : int
        Clips preprocessed and described in parallel (and the 3D CNN's torch threads).
    backend : {None, "loky", "dask"}
        Where the clip-parallel stages run (see :mod:`handcrafted_dfer.parallel`).
    scheduler : str or None
        Address of a running Dask scheduler (``backend="dask"``); None starts a local cluster.
    progress : bool
        Progress bars.
    measure_memory : bool
        Fit and predict the first fold once more under tracemalloc for the peak-memory figure.
    """

    cache_dir: str | None = None
    n_jobs: int = 1
    backend: str | None = None
    scheduler: str | None = None
    progress: bool = False
    measure_memory: bool = True


# -- the TOML form --------------------------------------------------------------------------------
_TOP_KEYS = ("seed", "dataset", "test_dataset", "protocol", "preprocess", "methods")
_DATASET_KEYS = ("name", "root", "options")
_PROTOCOL_KEYS = ("name", "folds")


def _fail(path, message):
    raise DferError(path, message)


def _check_keys(table: dict, allowed, where: str, path) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        _fail(path, f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in "
                    f"{where}; expected {', '.join(allowed)}")


def _dataset_from(table, where: str, path) -> DatasetRef:
    if not isinstance(table, dict) or "name" not in table:
        _fail(path, f"[{where}] must be a table with at least a name")
    _check_keys(table, _DATASET_KEYS, f"[{where}]", path)
    root = table.get("root")
    return DatasetRef(str(table["name"]), None if root is None else str(root),
                      dict(table.get("options", {})))


def experiment_from_dict(data: dict, *, path=None) -> Experiment:
    """An :class:`Experiment` from the (TOML-shaped) dictionary :func:`experiment_to_dict` makes.

    Raises
    ------
    DferError
        An unknown key (the message lists the allowed ones) or a missing part.
    """
    _check_keys(data, _TOP_KEYS, "the experiment", path)
    if "dataset" not in data:
        _fail(path, "expected a [dataset] table (name, root, options)")
    protocol = data.get("protocol", {})
    if isinstance(protocol, str):
        protocol = {"name": protocol}
    _check_keys(protocol, _PROTOCOL_KEYS, "[protocol]", path)
    preprocess = data.get("preprocess", {})
    names = [f.name for f in dataclasses.fields(PreprocessConfig)]
    _check_keys(preprocess, names, "[preprocess]", path)
    methods = []
    for k, table in enumerate(data.get("methods", [])):
        if not isinstance(table, dict) or "spec" not in table:
            _fail(path, f"methods entry {k + 1} must be a table with a spec, e.g. "
                        f"spec = \"lbptop-svm\"")
        spec = MethodSpec.parse(str(table["spec"]))
        for step, params in table.items():
            if step == "spec":
                continue
            if not isinstance(params, dict):
                _fail(path, f"methods entry {k + 1} ({spec.name}): {step} must be a table of "
                            f"parameters, e.g. [methods.{step}]")
            spec = spec.with_settings((step, key, value) for key, value in params.items())
        methods.append(spec)
    test = data.get("test_dataset")
    return Experiment(
        dataset=_dataset_from(data["dataset"], "dataset", path),
        methods=tuple(methods),
        protocol=str(protocol.get("name", "loso")),
        folds=protocol.get("folds"),
        preprocess=PreprocessConfig(**preprocess),
        seed=int(data.get("seed", 0)),
        test_dataset=None if test is None else _dataset_from(test, "test_dataset", path),
    )


def load_experiment(path: str | os.PathLike) -> Experiment:
    """Read an experiment TOML file (see the module docstring and ``docs``).

    Raises
    ------
    DferError
        The file is missing or is not valid TOML, or has an unknown key.
    """
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DferError(path, f"expected an experiment TOML file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DferError(path, "expected an experiment TOML file; it does not parse: "
                        f"{exc}") from exc
    return experiment_from_dict(data, path=path)


def experiment_to_dict(experiment: Experiment, *, resolved: dict | None = None) -> dict:
    """The TOML-shaped dictionary of an experiment.

    Parameters
    ----------
    experiment : Experiment
    resolved : dict, optional
        ``{method name: {step: {param: value}}}``, every parameter of every step (see
        :func:`handcrafted_dfer.pipeline.resolved_settings`); without it only the parameters the
        experiment sets are written.
    """
    def dataset(ref: DatasetRef) -> dict:
        out = {"name": ref.name}
        if ref.root is not None:
            out["root"] = ref.root
        if ref.options:
            out["options"] = dict(ref.options)
        return out

    protocol = {"name": experiment.protocol}
    if experiment.folds is not None:
        protocol["folds"] = experiment.folds
    methods = []
    for spec in experiment.methods:
        steps = (resolved or {}).get(spec.name) or {
            step: spec.step_settings(step) for step in spec.steps if spec.step_settings(step)}
        methods.append({"spec": spec.name, **{step: dict(p) for step, p in steps.items()}})
    out = {"seed": experiment.seed, "dataset": dataset(experiment.dataset), "protocol": protocol,
           "preprocess": dataclasses.asdict(experiment.preprocess), "methods": methods}
    if experiment.test_dataset is not None:
        out["test_dataset"] = dataset(experiment.test_dataset)
    return out


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                               for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_table(lines: list, header: str, table: dict) -> None:
    """``header`` and its entries, nested tables inline. None values are left out (TOML has no
    null; a parameter left out takes its default, and the parameters that are None by default are
    the only ones that are None)."""
    lines += ["", header]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if v is not None]


def experiment_to_toml(experiment: Experiment, *, resolved: dict | None = None,
                       comment: str | None = None) -> str:
    """The TOML text of an experiment (see :func:`experiment_to_dict`)."""
    data = experiment_to_dict(experiment, resolved=resolved)
    lines = [f"# {line}" for line in (comment or "").splitlines()]
    lines.append(f"seed = {_toml_value(data['seed'])}")
    for name in ("dataset", "test_dataset"):
        if name in data:
            _toml_table(lines, f"[{name}]", data[name])
    _toml_table(lines, "[protocol]", data["protocol"])
    _toml_table(lines, "[preprocess]", data["preprocess"])
    for method in data["methods"]:
        lines += ["", "[[methods]]", f"spec = {_toml_value(method['spec'])}"]
        for step, params in method.items():
            if step != "spec":
                _toml_table(lines, f"[methods.{_toml_key(step)}]", params)
    return "\n".join(lines).lstrip("\n") + "\n"
