"""Arguments the ``dfer`` subcommands share, and their translation into library objects.

Flags that an experiment file (``--config EXPERIMENT.toml``) can also hold default to None here, so
that a flag given on the command line overrides the file and a flag left out does not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys

__all__ = ["positive_int", "key_value", "add_run_arguments", "add_preprocess_arguments",
           "preprocess_from_args", "model_preprocess_from_args", "add_faces_in_video_argument",
           "face_file_name", "add_experiment_arguments", "methods_from_args",
           "experiment_from_args", "run_options_from_args", "cache_dir_from_args", "capped_jobs",
           "run_experiment", "check_output", "check_folder",
           "check_input"]

PROTOCOLS = ("loso", "kfold", "official", "holdout")


def positive_int(text: str) -> int:
    """An integer >= 1; anything else is an :class:`argparse.ArgumentTypeError`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text}")
    return value


def key_value(text: str) -> tuple:
    """``KEY=VALUE`` as ``(key, value)``, the value parsed as JSON where it is JSON, else a str."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _setting(text: str) -> tuple:
    from ..spec import parse_setting

    try:
        return parse_setting(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: Flags of :func:`add_preprocess_arguments`, as PreprocessConfig fields.
PREPROCESS_FLAGS = ("size", "frames", "clahe", "faces", "min_face", "detector", "crop_side",
                    "crop_centre")


def add_preprocess_arguments(parser: argparse.ArgumentParser, *, what: str = "") -> None:
    """``--size``, ``--frames``, ``--clahe``, ``--faces``, ``--min-face``, ``--detector``,
    ``--crop-side``, ``--crop-centre`` (each left out keeps the base configuration's value)."""
    from ..config import PreprocessConfig

    d = PreprocessConfig()
    parser.add_argument("--size", type=positive_int,
                        help=f"side of the square aligned face crop in pixels (default {d.size})")
    parser.add_argument("--frames", type=positive_int,
                        help=f"frames per clip after temporal normalization (default {d.frames})")
    parser.add_argument("--clahe", action=argparse.BooleanOptionalAction, default=None,
                        help="equalise aligned crops with CLAHE (default no)")
    parser.add_argument("--faces", choices=PreprocessConfig.FACE_MODES,
                        help="what the frames hold: scenes to detect faces in (detect), face crops "
                        "(cropped: landmarks fitted inside each) or aligned faces (aligned: only "
                        "resized, no landmarks); default: what the dataset declares, else detect"
                        + what)
    parser.add_argument("--min-face", type=positive_int, metavar="PIXELS",
                        help="smallest face width searched for, in frame pixels (at least 20; "
                        f"smaller costs more) (default {d.min_face})")
    parser.add_argument("--detector", choices=PreprocessConfig.DETECTORS,
                        help="dlib's HOG detector, or its CNN detector (turned and partly hidden "
                        f"faces; preprocessing about 7x slower) (default {d.detector})")
    parser.add_argument("--crop-side", type=float, metavar="UNITS",
                        help="side of the aligned crop in detector-box units (smaller is tighter) "
                        f"(default {d.crop_side})")
    parser.add_argument("--crop-centre", type=float, nargs=2, metavar=("X", "Y"),
                        help="centre of the aligned crop in detector-box units, y down (default "
                        f"{d.crop_centre[0]} {d.crop_centre[1]})")


def preprocess_from_args(args, base=None):
    """``base`` (default ``PreprocessConfig()``) with the preprocessing flags that were given."""
    from ..config import PreprocessConfig

    changes = {k: getattr(args, k) for k in PREPROCESS_FLAGS if getattr(args, k, None) is not None}
    if "crop_centre" in changes:
        changes["crop_centre"] = tuple(changes["crop_centre"])
    return dataclasses.replace(base or PreprocessConfig(), **changes)


def _faces_in_video(text: str):
    from ..face.preprocess import check_faces_in_video

    try:
        return check_faces_in_video(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected largest, all or an identity number 0, 1, ...; got {text!r}") from None


def add_faces_in_video_argument(parser: argparse.ArgumentParser) -> None:
    """``--faces-in-video largest|all|ID``."""
    parser.add_argument("--faces-in-video", type=_faces_in_video, default="largest",
                        metavar="largest|all|ID",
                        help="which faces: the largest, most central one (largest, the default); "
                        "every face, each person with an identity that stays the same across "
                        "gaps, cuts and re-entries (all; dlib's face descriptor, distance 0.6); "
                        "or one identity of 'all' by its number (0 is the first to appear)")


def face_file_name(path: str, face: int) -> str:
    """``path`` with ``{face}`` replaced by an identity number."""
    return path.replace("{face}", str(face))


def model_preprocess_from_args(args, model):
    """``model`` with the preprocessing flags that were given applied to its configuration
    (``--faces``, ``--min-face``, ...); ``--size`` and ``--frames`` must keep the model's clip
    shape (its features were computed on such clips), else ``ValueError``."""
    config = preprocess_from_args(args, model.config)
    if config.clip_shape != model.config.clip_shape:
        raise ValueError(f"--size and --frames must match the model's ({model.config.size} px, "
                         f"{model.config.frames} frames): its features were computed on such clips")
    return dataclasses.replace(model, config=config)


def add_run_arguments(parser: argparse.ArgumentParser, *, jobs_default=1) -> None:
    """``--jobs``, ``--backend``, ``--scheduler``, ``--cache``, ``--quiet``."""
    parser.add_argument("--jobs", type=positive_int, default=jobs_default, metavar="N",
                        help=f"clips preprocessed and described in parallel, and the 3D CNN's "
                        f"threads (default {jobs_default})")
    parser.add_argument("--backend", choices=("loky", "dask"), default=None,
                        help="where the clip-parallel stages run: loky (local processes, the "
                        "default) or dask (a local cluster of --jobs workers, or --scheduler)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler (with --backend dask; default "
                        "$DASK_SCHEDULER_ADDRESS, else a local cluster)")
    parser.add_argument("--cache", metavar="DIR",
                        help="feature store (default $XDG_CACHE_HOME/handcrafted_dfer or "
                        "~/.cache/handcrafted_dfer)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_experiment_arguments(parser: argparse.ArgumentParser, *, methods: str,
                             protocol: bool | None = None) -> None:
    """Dataset, protocol, preprocessing, methods, ``--set``, seed and ``--config``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    methods : {"features", "list", "one"}
        ``features``: ``--features`` and ``--classifier`` (one method per classifier, as in
        ``dfer evaluate``) or ``--methods``; ``list``: ``--methods`` only (``dfer compare``);
        ``one``: ``--features``/``--classifier`` or ``--method``, exactly one method
        (``dfer train``).
    protocol : bool, optional
        Add ``--protocol`` and ``--folds`` (default: unless ``methods`` is ``one``).
    """
    from ..spec import CLASSIFIERS
    from ..datasets import DATASETS

    if protocol is None:
        protocol = methods != "one"

    parser.add_argument("--config", metavar="EXPERIMENT.toml",
                        help="experiment file (dataset, protocol, preprocessing, methods with "
                        "their parameters, seed), e.g. the .toml a report writes; flags given "
                        "here override it")
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="dataset loader")
    parser.add_argument("--root", metavar="DIR",
                        help="dataset folder (or manifest CSV); for 'synthetic' it may be omitted "
                        "(default CACHE/synthetic, generated on first use)")
    parser.add_argument("--dataset-option", action="append", type=key_value, default=None,
                        metavar="KEY=VALUE", dest="dataset_options",
                        help="loader option, e.g. include_neutral=true (repeatable)")
    if methods != "one":
        parser.add_argument("--test-dataset", choices=sorted(DATASETS),
                            help="train on --dataset and test on this one (their common classes; "
                            "the others are dropped and listed in the report)")
        parser.add_argument("--test-root", metavar="DIR", help="folder of --test-dataset")
        parser.add_argument("--test-dataset-option", action="append", type=key_value,
                            default=None, metavar="KEY=VALUE", dest="test_dataset_options",
                            help="loader option of --test-dataset (repeatable)")
    if methods in ("features", "one"):
        parser.add_argument("--features", metavar="NAMES",
                            help="extractors concatenated into one descriptor: lbptop, hog3d, "
                            "flow, joined by commas, or 'fusion'")
        parser.add_argument("--classifier", metavar="NAMES",
                            help=f"{', '.join(CLASSIFIERS)}"
                            + (", comma-separated: each is one method" if methods == "features"
                               else ""))
    if methods in ("features", "list"):
        parser.add_argument("--methods", metavar="LIST",
                            help="comma-separated method specs: <features>-<classifier> "
                            "(features lbptop, hog3d, flow joined by '+', or fusion; classifier "
                            f"{', '.join(CLASSIFIERS)}) or c3d")
    else:
        parser.add_argument("--method", metavar="SPEC",
                            help="one method spec, e.g. lbptop+hog3d-linear-svm or c3d")
    parser.add_argument("--set", action="append", type=_setting, default=[], metavar="STEP.PARAM=V",
                        dest="settings",
                        help="set a parameter of a step of every method that has the step, e.g. "
                        "lbptop.radius=2, lbptop.grid=[1,6,6], flow.method=dis, svm.C=10, "
                        "c3d.epochs=30 (repeatable; JSON values; checked before any work)")
    if protocol:
        parser.add_argument("--protocol", choices=PROTOCOLS,
                            help="loso (leave one subject out, the default), kfold "
                            "(subject-independent), official (the dataset's folds) or holdout")
        parser.add_argument("--folds", type=positive_int, metavar="K",
                            help="number of folds of --protocol kfold (default 10)")
    add_preprocess_arguments(parser)
    parser.add_argument("--seed", type=int, help="random seed of everything random (default 0)")
    add_run_arguments(parser)


def methods_from_args(args, default: str) -> tuple | None:
    """Method specs the flags name, or None when they name none."""
    from ..spec import parse_methods

    listed = getattr(args, "methods", None) or getattr(args, "method", None)
    features, classifiers = getattr(args, "features", None), getattr(args, "classifier", None)
    if listed and (features or classifiers):
        raise ValueError("give either --methods/--method or --features with --classifier, "
                         "not both")
    if listed:
        return parse_methods(listed)
    if not (features or classifiers):
        return None
    from ..spec import MethodSpec

    fallback = MethodSpec.parse(default)
    feature_part = ("+".join(f.strip() for f in features.split(",") if f.strip()) if features
                    else "+".join(fallback.features))
    classifiers = classifiers or fallback.classifier
    return parse_methods(",".join(f"{feature_part}-{c.strip()}"
                                  for c in classifiers.split(",") if c.strip()))


def experiment_from_args(args, *, default_methods: str):
    """The :class:`~handcrafted_dfer.config.Experiment` of ``--config`` and the flags.

    Raises
    ------
    ValueError, DferError
        A bad combination of flags, an unreadable experiment file, a method that does not build
        (unknown step or parameter: the message lists the valid ones).
    """
    from ..config import DatasetRef, Experiment, PreprocessConfig, load_experiment
    from ..pipeline import check_spec

    base = load_experiment(args.config) if args.config else None
    if base is None and args.dataset is None:
        raise ValueError("give --dataset (and --root), or --config EXPERIMENT.toml")
    dataset = base.dataset if base else DatasetRef(args.dataset)
    if args.dataset is not None and (base is None or args.dataset != dataset.name):
        dataset = DatasetRef(args.dataset)
    if args.root is not None:
        dataset = dataclasses.replace(dataset, root=args.root)
    if args.dataset_options is not None:
        dataset = dataclasses.replace(dataset, options={**dataset.options,
                                                        **dict(args.dataset_options)})
    if dataset.root is None and dataset.name != "synthetic":
        raise ValueError(f"--root is required for dataset {dataset.name!r}")
    methods = methods_from_args(args, default_methods.split(",")[0])
    if methods is None:
        methods = base.methods if base and base.methods else None
    if methods is None:
        from ..spec import parse_methods

        methods = parse_methods(default_methods)
    if args.settings:
        steps = {step for spec in methods for step in spec.steps}
        for step, key, _ in args.settings:
            if step not in steps:
                raise ValueError(f"--set {step}.{key}: no method has a step {step!r}; the "
                                 f"methods' steps are {', '.join(sorted(steps))}")
        methods = tuple(spec.with_settings(s for s in args.settings if s[0] in spec.steps)
                        for spec in methods)
    preprocess = preprocess_from_args(args, base.preprocess if base else PreprocessConfig())
    protocol = getattr(args, "protocol", None) or (base.protocol if base else "loso")
    folds = getattr(args, "folds", None) or (base.folds if base else None)
    seed = args.seed if args.seed is not None else (base.seed if base else 0)
    test = base.test_dataset if base else None
    if getattr(args, "test_dataset", None) is not None:
        test = DatasetRef(args.test_dataset, args.test_root,
                          dict(getattr(args, "test_dataset_options", None) or []))
    elif getattr(args, "test_root", None) or getattr(args, "test_dataset_options", None):
        raise ValueError("--test-root and --test-dataset-option need --test-dataset")
    if test is not None and test.root is None and test.name != "synthetic":
        raise ValueError(f"--test-root is required for test dataset {test.name!r}")
    experiment = Experiment(dataset=dataset, methods=methods, protocol=protocol, folds=folds,
                            preprocess=preprocess, seed=seed, test_dataset=test)
    for spec in experiment.methods:
        check_spec(spec, preprocess=experiment.preprocess)
    return experiment


def cache_dir_from_args(args) -> pathlib.Path:
    """The cache folder of ``--cache`` (or the default), checked with :func:`check_folder`."""
    from ..cache import default_cache_dir

    return check_folder(args.cache or default_cache_dir(), "the cache")


def capped_jobs(jobs: int, *, command: str) -> int:
    """``jobs``, or the usable cores with a warning on stderr when it asks for more (each worker
    process holds its own copy of the models and clips: more workers than cores cost memory and
    run no faster)."""
    from ..parallel import usable_cores

    cores = usable_cores()
    if jobs <= cores:
        return jobs
    print(f"dfer {command}: warning: --jobs {jobs} is more than the {cores} usable cores of this "
          f"machine; using {cores} (see the README on memory per worker)", file=sys.stderr)
    return cores


def run_options_from_args(args):
    """The :class:`~handcrafted_dfer.config.RunOptions` of ``--jobs``, ``--backend``, ... .

    ``--jobs`` is capped at the usable cores (with a warning) unless the work goes to a running
    Dask cluster (``--scheduler``), whose size is its own.
    """
    from ..config import RunOptions

    cache = cache_dir_from_args(args)
    scheduler = args.scheduler or (os.environ.get("DASK_SCHEDULER_ADDRESS")
                                   if args.backend == "dask" else None)
    jobs = args.jobs if scheduler else capped_jobs(args.jobs, command=args.command)
    return RunOptions(cache_dir=os.fspath(cache), n_jobs=jobs, backend=args.backend,
                      scheduler=scheduler, progress=not args.quiet)


def run_experiment(args, function, *, default_methods: str, output: str, what: str,
                   suffix: str | None = None):
    """Check the output path, build the experiment and run options of the arguments, and call
    ``function(experiment, run_options)`` inside the backend's session (a Dask cluster, or
    nothing); returns what it returns."""
    from ..distributed import backend_session

    check_output(output, what, suffix=suffix)
    run_options = run_options_from_args(args)
    experiment = experiment_from_args(args, default_methods=default_methods)
    with backend_session(run_options):
        return function(experiment, run_options)


def check_input(path, what: str) -> pathlib.Path:
    """An existing video file or frame folder; else a
    :class:`~handcrafted_dfer.errors.VideoReadError`."""
    from ..errors import VideoReadError

    path = pathlib.Path(path)
    if not path.exists():
        raise VideoReadError(path, f"no such file or folder; expected {what}")
    return path


def check_folder(path, what: str) -> pathlib.Path:
    """A folder that exists or can be created: no file in its place or above it, and its nearest
    existing ancestor writable.

    Raises
    ------
    DferError
        A file stands where the folder (or one of its parents) would be, or the folder cannot be
        written or created.
    """
    from ..errors import DferError

    path = pathlib.Path(os.path.expanduser(os.fspath(path)))
    existing = next((p for p in (path, *path.absolute().parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise DferError(existing or path, f"is a file; expected a folder for {what}"
                        + ("" if existing == path else f" ({path} would be inside it)"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DferError(existing, f"folder is not writable; {what} cannot be "
                        + ("written there" if existing == path else f"created in it ({path})"))
    return path


def check_output(path, what: str, *, suffix: str | None = None) -> pathlib.Path:
    """An output file that can be written: its folder exists and it is not a folder itself.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for the message (``"the report"``).
    suffix : str, optional
        Required suffix (``".npz"``): a name without it is refused rather than renamed.

    Raises
    ------
    DferError
        The path is a folder, its folder is missing or not writable, or it lacks ``suffix``.
    """
    from ..errors import DferError

    path = pathlib.Path(path)
    if path.is_dir():
        raise DferError(path, f"is a folder; expected a file name for {what}")
    if suffix and path.suffix.lower() != suffix:
        raise DferError(path, f"expected a file name ending in {suffix} for {what}")
    parent = path.parent if str(path.parent) else pathlib.Path(".")
    if not parent.is_dir():
        raise DferError(parent, f"no such folder; create it first (it is where {what} goes)")
    if not os.access(parent, os.W_OK):
        raise DferError(parent, f"folder is not writable; {what} cannot be written there")
    return path
