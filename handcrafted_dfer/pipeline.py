"""Method spec -> scikit-learn Pipeline: the one place where features and classifiers are assembled.

A handcrafted method is::

    Pipeline([
        ("features", FeatureUnion([("lbptop", CachedExtractor(LBPTOP(...))), ...])),
        ("norm", HistogramNormalizer(method, segments)),
        ("clf", SubjectSearchClassifier(Pipeline([... ("svm", SVC(...))]), grid, ...)),
    ])

and the 3D CNN is ``Pipeline([("c3d", C3DClassifier(...))])``. Both take a sequence of
:class:`~handcrafted_dfer.clip.AlignedClip` and are fitted with :func:`fit_pipeline` (which hands
the subjects to the inner search). Evaluation, comparison, training, prediction and explanation all
build their methods here; the ``features`` step is stateless (its ``fit`` only records the clip
shape), so the runner may compute it once for all folds (:func:`split_features`).

The steps a spec's ``--set STEP.PARAM=VALUE`` addresses (:attr:`MethodSpec.steps
<handcrafted_dfer.spec.MethodSpec.steps>`) map to these objects: an extractor step to its
extractor, ``norm`` to the normalizer, ``svm``/``rf`` to the classifier inside the search, and
``search`` to the :class:`~handcrafted_dfer.classify.SubjectSearchClassifier`. A parameter set on
the classifier leaves the default search grid (``--set svm.C=10`` fixes C); ``search.param_grid``
replaces the grid.
"""

from __future__ import annotations

import os
import pathlib

from sklearn.pipeline import FeatureUnion, Pipeline

from .classify import (HistogramNormalizer, SubjectSearchClassifier, classifier_recipe,
                       histogram_segments)
from .config import PreprocessConfig, RunOptions
from .features import make_extractor
from .features.cached import CachedExtractor
from .spec import MethodSpec

__all__ = ["SEEDED", "RUN_PARAMETERS", "build_pipeline", "check_spec", "fit_pipeline",
           "resolved_settings", "split_features", "feature_names", "without_run_options",
           "deep_available"]

#: Parameters that the experiment's seed sets; ``--set`` refuses them (use ``--seed``).
SEEDED = {"search": ("random_state",), "rf": ("random_state",), "c3d": ("seed",),
          "ridge": ("random_state",)}
#: Parameters that run options set (never part of a method); ``--set`` refuses them.
RUN_PARAMETERS = {"search": ("n_jobs",), "rf": ("n_jobs",),
                  "c3d": ("checkpoint_dir", "n_threads", "verbose"),
                  "norm": ("segments", "families")}


def deep_available() -> bool:
    """True when the deep extra (torch) is installed."""
    try:
        from . import deep
        return deep.available()
    except ImportError:
        return False


def _c3d(seed: int, run: RunOptions):
    from .deep import C3DClassifier

    checkpoints = (None if run.cache_dir is None
                   else os.fspath(pathlib.Path(run.cache_dir) / "c3d-checkpoints"))
    return C3DClassifier(seed=seed, n_threads=run.n_jobs, verbose=run.progress,
                         checkpoint_dir=checkpoints)


def _steps(pipeline: Pipeline, spec: MethodSpec) -> dict:
    """``{spec step name: the object its parameters belong to}``."""
    if spec.family == "deep":
        return {"c3d": pipeline.named_steps["c3d"]}
    union = pipeline.named_steps["features"]
    search = pipeline.named_steps["clf"]
    steps = {name: wrapper.extractor for name, wrapper in union.transformer_list}
    steps["norm"] = pipeline.named_steps["norm"]
    steps[spec.classifier_step] = search.estimator.named_steps[spec.classifier_step]
    steps["search"] = search
    return steps


def _check_settings(spec: MethodSpec, steps: dict) -> None:
    for step, key, _ in spec.settings:
        if step not in steps:
            raise ValueError(f"method {spec.name}: unknown step {step!r} in {step}.{key}; its "
                             f"steps are {', '.join(steps)}")
        if key in SEEDED.get(step, ()):
            raise ValueError(f"method {spec.name}: {step}.{key} comes from the experiment's seed; "
                             f"set --seed instead")
        if key in RUN_PARAMETERS.get(step, ()):
            raise ValueError(f"method {spec.name}: {step}.{key} is set by the run, not by the "
                             f"method")
        valid = [k for k in steps[step].get_params(deep=False)
                 if k not in SEEDED.get(step, ()) + RUN_PARAMETERS.get(step, ())
                 and k not in ("estimator", "extractor")]
        if key not in valid:
            raise ValueError(f"method {spec.name}: step {step!r} has no parameter {key!r}; its "
                             f"parameters are {', '.join(sorted(valid))}")


def build_pipeline(spec: MethodSpec | str, *, seed: int = 0,
                   preprocess: PreprocessConfig = PreprocessConfig(),
                   run: RunOptions = RunOptions()) -> Pipeline:
    """The unfitted scikit-learn Pipeline of a method spec.

    Parameters
    ----------
    spec : MethodSpec or str
    seed : int
        Seeds the inner search's fallback folds, the random forest and the 3D CNN.
    preprocess : PreprocessConfig
        Gives the clip shape ``(T, S, S)`` that the feature grids are checked against and the
        histogram layout is computed for.
    run : RunOptions
        Cache folder, parallel jobs, backend and progress of the feature steps (and the CNN's
        threads and checkpoints).

    Returns
    -------
    Pipeline

    Raises
    ------
    ValueError
        An unknown step or parameter (the message lists the valid ones), a parameter the seed or
        the run sets, or a parameter value the step refuses (e.g. a grid finer than the clip).
    """
    if isinstance(spec, str):
        spec = MethodSpec.parse(spec)
    if spec.family == "deep":
        if not deep_available():
            raise ImportError("the 3D CNN needs the deep extra: pip install "
                              "'handcrafted_dfer[deep]' (torch)")
        pipeline = Pipeline([("c3d", _c3d(seed, run))])
        _check_settings(spec, _steps(pipeline, spec))
        pipeline.named_steps["c3d"].set_params(**spec.step_settings("c3d"))
        return pipeline
    recipe = classifier_recipe(spec.classifier, seed=seed)
    extractors = [(name, make_extractor(name)) for name in spec.features]
    union = FeatureUnion([(name, CachedExtractor(extractor, cache_dir=run.cache_dir,
                                                 n_jobs=run.n_jobs, backend=run.backend,
                                                 progress=run.progress))
                          for name, extractor in extractors], verbose_feature_names_out=False)
    search = SubjectSearchClassifier(recipe.estimator, recipe.grid, default=recipe.default,
                                     calibrate=recipe.calibrate, random_state=seed)
    pipeline = Pipeline([("features", union), ("norm", HistogramNormalizer(recipe.normalization)),
                         ("clf", search)])
    steps = _steps(pipeline, spec)
    _check_settings(spec, steps)
    for step, obj in steps.items():
        if step != "search":
            obj.set_params(**spec.step_settings(step))
    fixed = {f"{spec.classifier_step}__{key}" for key in spec.step_settings(spec.classifier_step)}
    search.set_params(param_grid={k: v for k, v in recipe.grid.items() if k not in fixed},
                      default={k: v for k, v in recipe.default.items() if k not in fixed})
    search_settings = spec.step_settings("search")
    if "param_grid" in search_settings and "default" not in search_settings:
        search_settings["default"] = None  # the middle of the new grid
    search.set_params(**search_settings)
    per_extractor = [e.feature_names_for(preprocess.clip_shape) for _, e in extractors]
    names = [n for family in per_extractor for n in family]
    pipeline.named_steps["norm"].set_params(segments=histogram_segments(names),
                                            families=[len(family) for family in per_extractor])
    return pipeline


def check_spec(spec: MethodSpec, *, preprocess: PreprocessConfig = PreprocessConfig()) -> None:
    """Raise ``ValueError`` if the spec's settings or its grids do not fit (no data is read).

    A ``c3d`` spec is not checked without torch (it is then reported as skipped).
    """
    if spec.family == "handcrafted" or deep_available():
        build_pipeline(spec, preprocess=preprocess)


def fit_pipeline(pipeline: Pipeline, X, y, groups=None) -> Pipeline:
    """``pipeline.fit(X, y)`` with the subjects ``groups`` handed to its last step."""
    return pipeline.fit(X, y, **{f"{pipeline.steps[-1][0]}__groups": groups})


def split_features(pipeline: Pipeline) -> tuple:
    """``(features, head)`` of a handcrafted pipeline, or ``(None, pipeline)`` for the CNN.

    ``features`` is the stateless feature union; ``head`` the rest (normalization and classifier),
    so that ``head`` fitted on ``features.fit_transform(clips)`` equals the whole pipeline fitted
    on the clips.
    """
    if "features" not in pipeline.named_steps:
        return None, pipeline
    return pipeline[:1], pipeline[1:]


def feature_names(pipeline: Pipeline):
    """Feature names of a fitted handcrafted pipeline (``lbptop/xy/r2c3/t0/b17``, ...)."""
    return pipeline.named_steps["features"].get_feature_names_out()


def without_run_options(pipeline: Pipeline) -> Pipeline:
    """The pipeline with its run options reset (no cache, one job, no progress, no checkpoints),
    as it is stored in a model file."""
    if "features" in pipeline.named_steps:
        for _, wrapper in pipeline.named_steps["features"].transformer_list:
            wrapper.set_params(cache_dir=None, n_jobs=1, backend=None, progress=False)
    else:
        pipeline.named_steps["c3d"].set_params(checkpoint_dir=None, verbose=False, n_threads=None)
    return pipeline


def _plain(value):
    """A JSON/TOML-ready value, or None where the value is an object or a function."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return None if any(i is None for i in items) else items
    if isinstance(value, dict):
        items = {str(k): _plain(v) for k, v in value.items()}
        return None if any(i is None for i in items.values()) else items
    return None


def resolved_settings(spec: MethodSpec, *, seed: int = 0,
                      preprocess: PreprocessConfig = PreprocessConfig()) -> dict:
    """Every parameter of every step of a spec, defaults filled in: ``{step: {param: value}}``.

    Seeded, run and derived parameters, and values that are objects (the classifier inside the
    search, a kernel function), are left out: the spec, the seed and the run set them.
    """
    run = RunOptions()
    pipeline = build_pipeline(spec, seed=seed, preprocess=preprocess, run=run)
    out = {}
    for step, obj in _steps(pipeline, spec).items():
        skip = SEEDED.get(step, ()) + RUN_PARAMETERS.get(step, ())
        params = {key: _plain(value) for key, value in obj.get_params(deep=False).items()
                  if key not in skip and key not in ("estimator", "extractor")}
        out[step] = {k: v for k, v in params.items()
                     if v is not None or obj.get_params(deep=False)[k] is None}
    return out
