"""The deep baseline as a scikit-learn classifier: :class:`C3DClassifier` and its training loop.

This module imports torch; import it only through :mod:`handcrafted_dfer.deep`, which checks that
the optional ``deep`` extra is installed.
"""

from __future__ import annotations

import copy
import io
import os
import pathlib
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ..cache import atomic_write, cache_key
from ..errors import ModelFileError
from ..features._validation import as_volume, check_volume
from .model import DEFAULT_WIDTHS, C3DNet

__all__ = ["C3DClassifier"]

#: Clips converted to tensors at a time (bounds the memory of full-resolution copies).
_CHUNK = 64
#: Largest random translation, as a fraction of the network's input side.
_MAX_SHIFT = 0.0625
#: Ranges of the random contrast factor and brightness offset (grey levels in [0, 1]).
_CONTRAST = (0.8, 1.2)
_BRIGHTNESS = (-0.1, 0.1)
#: Parameters left out of the checkpoint fingerprint: those that do not change what is learned
#: (``epochs`` is left out too with a constant learning rate, so that a longer run continues a
#: shorter one; the one-cycle schedule depends on it).
_NOT_FINGERPRINTED = ("checkpoint_dir", "device", "n_threads", "verbose")
#: Learning-rate schedules: one cycle over all epochs (warm-up, then cosine annealing), or none.
_SCHEDULES = ("onecycle", "constant")


class C3DClassifier(ClassifierMixin, BaseEstimator):
    """A compact 3D CNN (:class:`~handcrafted_dfer.deep.model.C3DNet`) trained on aligned clips.

    Clips are resized once to ``input_size`` x ``input_size`` (area averaging), scaled to [0, 1]
    and standardised with the training pixels' mean and standard deviation. With
    ``temporal_difference`` the network gets a second channel, each frame minus the clip's first
    frame (divided by the training clips' root mean square of that difference): on aligned clips
    that start neutral it holds the expression's motion without the identity. Training uses AdamW
    with a one-cycle learning-rate schedule, a class-balanced cross-entropy (weights
    ``n / (k * count)`` from the training labels), face-safe augmentation (horizontal flip,
    translation by up to 1/16 of the side, contrast 0.8-1.2 and brightness +-0.1), and early
    stopping on a validation split of the training data: whole subjects (``GroupShuffleSplit``)
    when ``groups`` are given, a stratified split otherwise. The weights of the epoch with the
    lowest validation loss averaged with the previous epoch's (from ``min_epochs`` on) are kept:
    on a validation set of one or two subjects the UAR moves in steps of 1/7 and a single epoch's
    loss is noisy, and selecting on them kept near-constant networks of the first epoch.

    Parameters
    ----------
    input_size : int or None
        Side the clips are resized to before the network; None keeps the clips' side. 48 makes
        an epoch of 100 16 x 96 x 96 clips take about 3 s on two CPU threads (96: about 11 s).
    widths : sequence of int
        Output channels of the network's convolution blocks.
    dropout : float
        Dropout before the linear layer.
    epochs : int
        Largest number of training epochs.
    batch_size : int
        Clips per optimisation step.
    lr, weight_decay : float
        AdamW (peak) learning rate and decoupled weight decay.
    lr_schedule : {"onecycle", "constant"}
        One cycle over ``epochs`` (warm-up for 30 % of the steps, then cosine annealing to
        nearly 0), or a constant learning rate.
    temporal_difference : bool
        Add the difference to the first frame as a second input channel.
    val_fraction : float
        Fraction of the training data (of its subjects, when ``groups`` are given) held out for
        early stopping, in [0, 1). 0 trains for ``epochs`` epochs and keeps the last weights.
    patience : int
        Epochs (from ``min_epochs`` on) without a lower smoothed validation loss before training
        stops.
    min_epochs : int or None
        Epochs always trained before early stopping may stop or select; None: half of
        ``epochs`` (rounded up).
    augment : bool
        Randomly flip, translate and change brightness and contrast of training clips.
    n_threads : int or None
        ``torch.set_num_threads`` during ``fit`` and prediction (restored afterwards); None leaves
        torch's setting alone.
    seed : int
        Seeds weight initialisation, dropout, the validation split, shuffling and augmentation.
    checkpoint_dir : str or os.PathLike or None
        Folder where a checkpoint is written after every epoch (one file per training set and
        parameters); ``fit`` resumes from it when the data and parameters match. ``epochs`` may
        differ: a run with more epochs continues from a finished shorter one (a checkpoint with
        more epochs than asked for is ignored and overwritten).
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    verbose : bool
        Show a progress bar with the loss and the remaining time.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, in the column order of :meth:`predict_proba`.
    n_parameters_ : int
        Number of trainable parameters of the network.
    history_ : list of dict
        One entry per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_uar``,
        ``val_loss_smoothed`` (mean of this and the previous epoch's ``val_loss``; NaN without a
        validation split) and ``seconds``.
    best_epoch_ : int
        The (1-based) epoch whose weights were kept.
    train_indices_, val_indices_ : ndarray of int
        The clips (indices into the ``fit`` input) trained on and used for early stopping.
    clip_shape_ : tuple of int
        ``(T, S, S)`` of the training clips; prediction needs the same shape.
    pixel_mean_, pixel_std_ : float
        Standardisation of grey levels in [0, 1], from the training clips.
    difference_scale_ : float
        Root mean square of the training clips' difference to their first frame (grey levels in
        [0, 1]); 1.0 without ``temporal_difference``.
    model_ : C3DNet
        The trained network (in evaluation mode).

    Notes
    -----
    Pickling stores the network's ``state_dict`` as bytes (``torch.save``); :meth:`model_bytes`
    is its size.
    """

    def __init__(
        self,
        *,
        input_size: int | None = 48,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        dropout: float = 0.3,
        epochs: int = 30,
        batch_size: int = 8,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        lr_schedule: str = "onecycle",
        temporal_difference: bool = True,
        val_fraction: float = 0.2,
        patience: int = 5,
        min_epochs: int | None = None,
        augment: bool = True,
        n_threads: int | None = None,
        seed: int = 0,
        checkpoint_dir: str | os.PathLike | None = None,
        device: str = "cpu",
        verbose: bool = True,
    ):
        self.input_size = input_size
        self.widths = widths
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.temporal_difference = temporal_difference
        self.val_fraction = val_fraction
        self.patience = patience
        self.min_epochs = min_epochs
        self.augment = augment
        self.n_threads = n_threads
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ public API

    def fit(self, clips, y, groups=None):
        """Train the network.

        Parameters
        ----------
        clips : sequence of AlignedClip or ndarray of shape (T, S, S)
            Grey clips of one shape, grey levels 0..255.
        y : array_like of shape (n_clips,)
            Class labels.
        groups : array_like of shape (n_clips,) or None
            Subject of each clip; the validation split then holds out whole subjects.

        Returns
        -------
        self
        """
        self._check_params()
        clips = list(clips)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(clips):
            raise ValueError(f"y must be 1D with one label per clip; got shape {y.shape} for "
                             f"{len(clips)} clips")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != y.shape:
                raise ValueError(f"groups must have one entry per clip; got shape {groups.shape} "
                                 f"for {len(clips)} clips")
            groups = groups.astype(str)  # subject ids of any type (object arrays included)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"fit needs at least two classes; got {self.classes_.tolist()}")
        self.clip_shape_ = None
        data = self._to_tensor(clips)
        self.train_indices_, self.val_indices_ = self._validation_split(y_idx, groups)
        self.pixel_mean_, self.pixel_std_ = _grey_level_stats(data, self.train_indices_)
        self.difference_scale_ = (_difference_rms(data, self.train_indices_)
                                  if self.temporal_difference else 1.0)
        with self._threads():
            self._train(data, y_idx)
        return self

    def predict_proba(self, clips) -> np.ndarray:
        """Class probabilities, one row per clip, columns in the order of :attr:`classes_`.

        Parameters
        ----------
        clips : sequence of AlignedClip or ndarray of shape (T, S, S)

        Returns
        -------
        ndarray of float64, shape (n_clips, n_classes)
        """
        check_is_fitted(self, "model_")
        data = self._to_tensor(list(clips))
        with self._threads():
            logits = self._logits(self.model_, data, np.arange(len(data)))
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, clips) -> np.ndarray:
        """The most probable class of each clip."""
        return self.classes_[np.argmax(self.predict_proba(clips), axis=1)]

    def model_bytes(self) -> int:
        """Size in bytes of the trained network's serialised ``state_dict``."""
        check_is_fitted(self, "model_")
        return len(_state_to_bytes(self.model_.state_dict()))

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__
        if "model_" in state:
            state["model_"] = _state_to_bytes(self.model_.state_dict())
        return state

    def __setstate__(self, state):
        model_state = state.get("model_")
        super().__setstate__(state)
        if isinstance(model_state, bytes):
            model = self._new_model(len(self.classes_))
            model.load_state_dict(_state_from_bytes(model_state, "the pickled C3DClassifier"))
            model = model.to(self._torch_device(), memory_format=torch.channels_last_3d)
            self.model_ = model.eval()

    # ------------------------------------------------------------------ training

    def _train(self, data: torch.Tensor, y_idx: np.ndarray) -> None:
        device = self._torch_device()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        model = self._new_model(len(self.classes_)).to(device, memory_format=torch.channels_last_3d)
        self.n_parameters_ = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        counts = np.bincount(y_idx[self.train_indices_], minlength=len(self.classes_))
        weights = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 0.0)
        criterion = torch.nn.CrossEntropyLoss(
            weight=torch.as_tensor(weights, dtype=torch.float32, device=device))
        labels = torch.as_tensor(y_idx, dtype=torch.long)
        n_batches = -(-len(self.train_indices_) // self.batch_size)
        scheduler = (torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.lr, total_steps=self.epochs * n_batches)
            if self.lr_schedule == "onecycle" else None)
        min_epochs = (-(-int(self.epochs) // 2) if self.min_epochs is None
                      else min(int(self.min_epochs), int(self.epochs)))

        progress = {"epoch": 0, "best_key": -np.inf, "best_epoch": 0, "bad_epochs": 0,
                    "history": []}
        best_state = copy.deepcopy(model.state_dict())
        path = self._checkpoint_path(data, y_idx)
        ckpt = _load_checkpoint(path) if path is not None and path.is_file() else None
        if ckpt is not None and ckpt["progress"]["epoch"] <= self.epochs:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(ckpt["scheduler"])
            best_state = ckpt["best_model"]
            rng.bit_generator.state = ckpt["numpy_rng"]
            torch.set_rng_state(ckpt["torch_rng"])
            progress = ckpt["progress"]

        bar = tqdm(total=self.epochs * n_batches, initial=progress["epoch"] * n_batches,
                   desc="C3D", unit="batch", disable=not self.verbose, leave=False)
        has_val = len(self.val_indices_) > 0
        while progress["epoch"] < self.epochs and progress["bad_epochs"] < self.patience:
            start = time.perf_counter()
            model.train()
            order = rng.permutation(self.train_indices_)
            total_loss = 0.0
            for b in range(n_batches):
                batch = order[b * self.batch_size:(b + 1) * self.batch_size]
                x = self._inputs(data, batch, rng if self.augment else None)
                optimizer.zero_grad(set_to_none=True)
                loss = criterion(model(x.to(device)), labels[batch].to(device))
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total_loss += loss.item() * len(batch)
                bar.update(1)
                bar.set_postfix(epoch=f"{progress['epoch'] + 1}/{self.epochs}",
                                loss=f"{total_loss / (b * self.batch_size + len(batch)):.3f}")
            entry = {"epoch": progress["epoch"] + 1,
                     "train_loss": total_loss / len(self.train_indices_),
                     "val_loss": float("nan"), "val_uar": float("nan"),
                     "val_loss_smoothed": float("nan")}
            if has_val:
                logits = self._logits(model, data, self.val_indices_)
                val_labels = labels[self.val_indices_]
                entry["val_loss"] = float(criterion(logits.to(device), val_labels.to(device)))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    entry["val_uar"] = float(balanced_accuracy_score(
                        val_labels.numpy(), logits.argmax(1).numpy()))
                previous = [e["val_loss"] for e in progress["history"][-1:]]
                entry["val_loss_smoothed"] = float(np.mean(previous + [entry["val_loss"]]))
                key = -entry["val_loss_smoothed"]
            else:
                key = float(entry["epoch"])  # no validation: the last epoch is the best
            entry["seconds"] = time.perf_counter() - start
            progress["history"].append(entry)
            progress["epoch"] += 1
            if entry["epoch"] < min_epochs:
                pass  # too early to select or stop
            elif key > progress["best_key"]:
                progress.update(best_key=key, best_epoch=entry["epoch"], bad_epochs=0)
                best_state = copy.deepcopy(model.state_dict())
            else:
                progress["bad_epochs"] += 1
            if has_val:
                bar.set_postfix(epoch=f"{entry['epoch']}/{self.epochs}",
                                loss=f"{entry['train_loss']:.3f}",
                                val_uar=f"{entry['val_uar']:.2f}")
            if path is not None:
                _save_checkpoint(path, {
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "best_model": best_state, "numpy_rng": rng.bit_generator.state,
                    "scheduler": None if scheduler is None else scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(), "progress": progress})
        bar.close()
        model.load_state_dict(best_state)
        self.model_ = model.eval()
        self.history_ = [dict(e) for e in progress["history"]]
        self.best_epoch_ = int(progress["best_epoch"])

    def _inputs(self, data: torch.Tensor, index, rng: np.random.Generator | None) -> torch.Tensor:
        """Standardised network input ``[B, C, T, s, s]`` (channels-last) of the clips ``index``.

        Channel 0 is the grey clip; with ``temporal_difference``, channel 1 is its difference to
        the first frame (both after augmentation).
        """
        x = data[torch.as_tensor(index)].float().div_(255.0).unsqueeze(1)
        if rng is not None:
            x = _augment(x, rng)
        channels = [(x - self.pixel_mean_) / self.pixel_std_]
        if self.temporal_difference:
            channels.append((x - x[:, :, :1]) / self.difference_scale_)
        return torch.cat(channels, dim=1).contiguous(memory_format=torch.channels_last_3d)

    def _logits(self, model, data: torch.Tensor, index) -> torch.Tensor:
        """Logits (on the CPU) of the clips ``index``, in evaluation mode, without gradients."""
        model.eval()
        device = self._torch_device()
        step = 2 * self.batch_size
        out = []
        with torch.no_grad():
            for i in range(0, len(index), step):
                out.append(model(self._inputs(data, index[i:i + step], None).to(device)).cpu())
        return torch.cat(out)

    # ------------------------------------------------------------------ helpers

    def _check_params(self) -> None:
        if self.input_size is not None and int(self.input_size) < 4:
            raise ValueError(f"input_size must be None or an integer >= 4; got {self.input_size}")
        for name in ("epochs", "batch_size", "patience"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)}")
        if not self.lr > 0 or not self.weight_decay >= 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0; got lr={self.lr}, "
                             f"weight_decay={self.weight_decay}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1); got {self.val_fraction}")
        if self.min_epochs is not None and int(self.min_epochs) < 1:
            raise ValueError(f"min_epochs must be None or a positive integer; got "
                             f"{self.min_epochs}")
        if self.lr_schedule not in _SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {_SCHEDULES}; got {self.lr_schedule!r}")
        if self.n_threads is not None and int(self.n_threads) < 1:
            raise ValueError(f"n_threads must be None or a positive integer; got {self.n_threads}")

    def _new_model(self, n_classes: int) -> C3DNet:
        return C3DNet(n_classes, widths=self.widths, dropout=self.dropout,
                      in_channels=2 if self.temporal_difference else 1)

    def _torch_device(self) -> torch.device:
        return torch.device(self.device)

    @contextmanager
    def _threads(self):
        if self.n_threads is None:
            yield
            return
        previous = torch.get_num_threads()
        torch.set_num_threads(int(self.n_threads))
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _to_tensor(self, clips: list) -> torch.Tensor:
        """Stack clips into a ``uint8`` tensor ``[N, T, s, s]`` resized to ``input_size``.

        Sets :attr:`clip_shape_` when it is None (in ``fit``) and checks it otherwise.
        """
        if not clips:
            raise ValueError("expected at least one clip")
        chunks = []
        for start in range(0, len(clips), _CHUNK):
            volumes = []
            for i, clip in enumerate(clips[start:start + _CHUNK], start):
                volume = check_volume(as_volume(clip), name=f"clip {i}")
                if volume.shape[1] != volume.shape[2]:
                    raise ValueError(f"clip {i} must be square [T, S, S]; got shape {volume.shape}")
                if self.clip_shape_ is None:
                    self.clip_shape_ = tuple(int(s) for s in volume.shape)
                if volume.shape != self.clip_shape_:
                    raise ValueError(f"clip {i} has shape {volume.shape}; every clip must have the "
                                     f"shape of the training clips {self.clip_shape_}")
                volumes.append(np.clip(volume, 0, 255).astype(np.float32))
            x = torch.from_numpy(np.stack(volumes))
            t, side = self.clip_shape_[0], self.clip_shape_[1]
            size = side if self.input_size is None else int(self.input_size)
            if size != side:
                x = F.interpolate(x.unsqueeze(1), size=(t, size, size), mode="area").squeeze(1)
            chunks.append(x.round_().to(torch.uint8))
        return torch.cat(chunks)

    def _validation_split(self, y_idx: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation indices; validation subjects never appear in training."""
        index = np.arange(len(y_idx))
        if self.val_fraction == 0:
            return index, index[:0]
        if groups is not None:
            if len(np.unique(groups)) < 2:
                warnings.warn("only one subject in the training data: no subject-independent "
                              "validation split, training for all epochs without early stopping",
                              stacklevel=3)
                return index, index[:0]
            splitter = GroupShuffleSplit(n_splits=1, test_size=self.val_fraction,
                                         random_state=self.seed)
            train, val = next(splitter.split(index, y_idx, groups))
        else:
            try:
                train, val = next(StratifiedShuffleSplit(
                    n_splits=1, test_size=self.val_fraction, random_state=self.seed
                ).split(index, y_idx))
            except ValueError:  # a class too small to stratify: a plain random split
                train, val = next(ShuffleSplit(n_splits=1, test_size=self.val_fraction,
                                               random_state=self.seed).split(index))
        return np.sort(train), np.sort(val)

    def _checkpoint_path(self, data: torch.Tensor, y_idx: np.ndarray) -> pathlib.Path | None:
        """File named by the cache key of the training data, labels, split and learning
        parameters."""
        if self.checkpoint_dir is None:
            return None
        skip = _NOT_FINGERPRINTED + (("epochs",) if self.lr_schedule == "constant" else ())
        params = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in self.get_params().items() if k not in skip}
        key = cache_key(params, self.classes_.tolist(), data.numpy(), y_idx, self.train_indices_,
                        self.val_indices_)
        folder = pathlib.Path(self.checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"c3d-{key}.pt"


def _grey_level_stats(data: torch.Tensor, index: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (at least 1e-3) of the grey levels / 255 of the clips ``index``.

    Counted as a histogram of the ``uint8`` values, a chunk of clips at a time (no float copy).
    """
    counts = torch.zeros(256, dtype=torch.float64)
    for start in range(0, len(index), _CHUNK):
        chunk = data[torch.as_tensor(index[start:start + _CHUNK])].flatten()
        counts += torch.bincount(chunk, minlength=256).double()
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    mean = float((counts * levels).sum() / counts.sum())
    var = float((counts * (levels - mean) ** 2).sum() / counts.sum())
    return mean, max(var ** 0.5, 1e-3)


def _difference_rms(data: torch.Tensor, index: np.ndarray) -> float:
    """Root mean square (at least 1e-3) of the clips' frames minus their first frame, in [0, 1]."""
    total, count = 0.0, 0
    for start in range(0, len(index), _CHUNK):
        chunk = data[torch.as_tensor(index[start:start + _CHUNK])].double().div_(255.0)
        diff = chunk - chunk[:, :1]
        total += float((diff * diff).sum())
        count += diff.numel()
    return max((total / count) ** 0.5, 1e-3)


def _augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Flip, translate, and change contrast and brightness of a batch ``[B, 1, T, s, s]`` in [0, 1].

    Each clip gets one draw of each transform, applied identically to all its frames.
    """
    n, side = x.shape[0], x.shape[-1]
    flip = torch.from_numpy(rng.random(n) < 0.5)
    x = torch.where(flip.view(n, 1, 1, 1, 1), x.flip(-1), x)
    shift = max(1, round(_MAX_SHIFT * side))
    padded = F.pad(x, (shift, shift, shift, shift, 0, 0), mode="replicate")
    offsets = rng.integers(0, 2 * shift + 1, size=(n, 2))
    x = torch.stack([padded[i, :, :, dy:dy + side, dx:dx + side]
                     for i, (dy, dx) in enumerate(offsets)])
    contrast, brightness = (torch.from_numpy(rng.uniform(*bounds, n).astype(np.float32))
                            .view(n, 1, 1, 1, 1) for bounds in (_CONTRAST, _BRIGHTNESS))
    mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp_(0.0, 1.0)


def _state_to_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def _state_from_bytes(blob: bytes, where: str) -> dict:
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt archive
        raise ModelFileError(None, f"{where} holds no readable network weights: {exc}") from exc


def _save_checkpoint(path: pathlib.Path, checkpoint: dict) -> None:
    """Write atomically (a killed run never leaves a truncated checkpoint behind)."""
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def _load_checkpoint(path: pathlib.Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        missing = {"model", "optimizer", "scheduler", "best_model", "numpy_rng", "torch_rng",
                   "progress"} - set(checkpoint)
    except Exception as exc:  # torch raises many types for a corrupt archive
        raise ModelFileError(path, f"expected a C3DClassifier checkpoint (delete the file to "
                                   f"start again): {exc}") from exc
    if missing:
        raise ModelFileError(path, f"expected a C3DClassifier checkpoint; missing "
                                   f"{sorted(missing)} (delete the file to start again)")
    return checkpoint
