"""Method specs: the one way a method is described, on the command line, in Python and in TOML.

A spec is ``FEATURES-CLASSIFIER`` or ``c3d``:

* ``FEATURES`` is an extractor (``lbptop``, ``hog3d``, ``flow``), several joined with ``+``, or
  ``fusion`` (= ``lbptop+hog3d+flow``);
* ``CLASSIFIER`` is one of :data:`CLASSIFIERS` (``svm``, ``linear-svm``, ``chi2-svm``, ``ridge``,
  ``rf``);
* ``c3d`` is the 3D-CNN baseline.

Any parameter of any step is set with ``STEP.PARAM=VALUE`` (``--set lbptop.radius=2``, JSON
values): the steps of ``lbptop+hog3d-linear-svm`` are ``lbptop``, ``hog3d`` (the extractors),
``norm`` (histogram normalization), ``svm`` (the classifier; ``ridge`` or ``rf`` for those) and
``search``
(the inner search); ``c3d`` has one step, ``c3d``. Keys are checked against each step's
``get_params()`` by :func:`handcrafted_dfer.pipeline.check_spec` before any work, and
:func:`handcrafted_dfer.pipeline.build_pipeline` turns a spec into a scikit-learn Pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["CLASSIFIERS", "FUSION", "EXTRACTOR_NAMES", "DEFAULT_METHOD", "MethodSpec",
           "parse_methods", "parse_setting"]

#: Classifier names of specs (``lbptop-linear-svm``); see :func:`handcrafted_dfer.classify.classifier_recipe`.
CLASSIFIERS = ("svm", "linear-svm", "chi2-svm", "ridge", "rf")
#: Extractors of the ``fusion`` feature set, concatenated in this order.
FUSION = ("lbptop", "hog3d", "flow")
#: Extractor names of specs.
EXTRACTOR_NAMES = ("lbptop", "hog3d", "flow")
#: The method of ``dfer evaluate`` and ``dfer train`` when none is named.
DEFAULT_METHOD = "lbptop-linear-svm"


def _check_value(value, where: str):
    """A JSON-ready value (numbers, strings, booleans, lists and string-keyed dicts of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_check_value(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _check_value(v, where) for k, v in value.items()}
    raise ValueError(f"{where}: expected a JSON value (number, string, boolean, list or table); "
                     f"got {type(value).__name__}")


@dataclass(frozen=True)
class MethodSpec:
    """One method: its features and classifier (or ``c3d``) and the parameters set on its steps.

    Parameters
    ----------
    features : tuple of str
        Extractor names, concatenated in this order (empty for ``c3d``).
    classifier : str or None
        One of :data:`~handcrafted_dfer.classify.CLASSIFIERS`; None for ``c3d``.
    settings : tuple of (str, str, object)
        ``(step, parameter, value)`` in the order given; a later entry for the same key wins.
    label : str or None
        How the method was written (``fusion-svm``); None: :attr:`name` is rebuilt from the parts.
    """

    features: tuple = ()
    classifier: str | None = None
    settings: tuple = ()
    label: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "settings", tuple(
            (str(step), str(key), _check_value(value, f"{step}.{key}"))
            for step, key, value in self.settings))
        if self.classifier is None:
            if self.features:
                raise ValueError("a handcrafted method needs a classifier")
            return
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.classifier!r}; choose from "
                             f"{', '.join(CLASSIFIERS)}")
        unknown = [f for f in self.features if f not in EXTRACTOR_NAMES]
        if unknown or not self.features or len(set(self.features)) != len(self.features):
            raise ValueError(f"method features {'+'.join(self.features)!r}: use "
                             f"{', '.join(EXTRACTOR_NAMES)}, each at most once, joined with '+', "
                             f"or fusion")

    @property
    def family(self) -> str:
        """``"handcrafted"`` or ``"deep"``."""
        return "deep" if self.classifier is None else "handcrafted"

    @property
    def name(self) -> str:
        """The spec as written (``fusion-svm``, ``lbptop+hog3d-rf``, ``c3d``)."""
        if self.label:
            return self.label
        if self.family == "deep":
            return "c3d"
        features = "fusion" if self.features == FUSION else "+".join(self.features)
        return f"{features}-{self.classifier}"

    @property
    def classifier_step(self) -> str | None:
        """The spec step of the classifier: ``svm``, ``ridge``, ``rf``, or None for ``c3d``."""
        if self.classifier is None:
            return None
        return self.classifier if self.classifier in ("ridge", "rf") else "svm"

    @property
    def steps(self) -> tuple:
        """The step names ``--set`` may address, in pipeline order."""
        if self.family == "deep":
            return ("c3d",)
        return (*self.features, "norm", self.classifier_step, "search")

    def step_settings(self, step: str) -> dict:
        """``{parameter: value}`` set on one step (later settings win)."""
        return {key: value for s, key, value in self.settings if s == step}

    def with_settings(self, settings) -> "MethodSpec":
        """A copy with ``settings`` (``(step, parameter, value)`` triples) added after its own."""
        return MethodSpec(self.features, self.classifier, self.settings + tuple(settings),
                          self.label)

    @classmethod
    def parse(cls, text: str) -> "MethodSpec":
        """A spec from its text, e.g. ``lbptop+hog3d-linear-svm``, ``fusion-rf`` or ``c3d``."""
        token = text.strip()
        if token == "c3d":
            return cls(label="c3d")
        for clf in sorted(CLASSIFIERS, key=len, reverse=True):
            if token.endswith("-" + clf):
                feature_part = token[: -len(clf) - 1]
                break
        else:
            raise ValueError(f"method {token!r} must be <features>-<classifier> with a classifier "
                             f"in {', '.join(CLASSIFIERS)}, or c3d")
        features = FUSION if feature_part == "fusion" else tuple(feature_part.split("+"))
        try:
            return cls(features, clf, label=token)
        except ValueError as exc:
            raise ValueError(f"method {token!r}: {exc}") from None


def parse_methods(text: str) -> tuple:
    """Specs from a comma-separated list such as ``"lbptop-svm,hog3d+flow-rf,fusion-svm,c3d"``."""
    methods = tuple(MethodSpec.parse(t) for t in text.split(",") if t.strip())
    if not methods:
        raise ValueError("no method given")
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"a method is listed twice: {', '.join(names)}")
    return methods


def parse_setting(text: str) -> tuple:
    """``STEP.PARAM=VALUE`` as ``(step, param, value)``; the value is JSON where it parses as JSON,
    else the string itself (``--set flow.method=dis``)."""
    if "=" not in text:
        raise ValueError(f"expected STEP.PARAM=VALUE; got {text!r}")
    key, value = text.split("=", 1)
    step, dot, param = key.strip().partition(".")
    if not dot or not step or not param or "." in param:
        raise ValueError(f"expected STEP.PARAM=VALUE (e.g. lbptop.radius=2); got {text!r}")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return step, param, parsed
