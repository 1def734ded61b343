"""Clips in parallel: one map function over joblib (loky) or a Dask cluster, with a progress bar.

Work is handed to :func:`parallel_map` as a function and a list of argument tuples; results come
back in order. Every task a worker runs first starts, once per worker process, a watchdog thread
that ends the worker within :data:`WATCHDOG_PERIOD_S` seconds of its parent process dying (a
``kill -9`` of the command), so that no worker outlives the run and keeps writing cache entries.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import joblib
from tqdm.auto import tqdm

__all__ = ["parallel_map", "usable_cores", "WATCHDOG_PERIOD_S"]

#: How often (seconds) a worker checks that its parent process is still alive.
WATCHDOG_PERIOD_S = 1.0

_watchdog_lock = threading.Lock()
_watchdog_started = False


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_PERIOD_S)
        if os.getppid() != parent:  # re-parented: the process that started us has died
            os._exit(1)


def _start_watchdog() -> None:
    """Start the parent watchdog of this worker process (once)."""
    global _watchdog_started
    with _watchdog_lock:
        if _watchdog_started:
            return
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                         name="dfer-parent-watchdog").start()
        _watchdog_started = True


class _Watched:
    """``function`` run in a worker with the parent watchdog started first (picklable)."""

    def __init__(self, function, main_pid: int):
        self.function = function
        self.main_pid = main_pid

    def __call__(self, *args):
        if os.getpid() != self.main_pid:
            _start_watchdog()
        return self.function(*args)


def parallel_map(function, tasks: list, *, n_jobs: int = 1, backend: str | None = None,
                 progress: bool = False, desc: str = "", unit: str = "clip") -> list:
    """``[function(*task) for task in tasks]``, in parallel, in order, with a tqdm bar.

    Parameters
    ----------
    function : callable
        Picklable (a module-level function) when ``n_jobs > 1`` or a backend is given.
    tasks : list of tuple
        Positional arguments of each call.
    n_jobs : int
        Worker processes (1 runs in this process, without joblib).
    backend : str, optional
        joblib backend: ``None`` or ``"loky"`` (local processes) or ``"dask"`` (the
        ``dask.distributed.Client`` that is current, see :mod:`handcrafted_dfer.distributed`).
    progress : bool
        Show a bar with the count and the remaining time.
    desc, unit : str
        Label and unit of the bar.

    Returns
    -------
    list
    """
    if not tasks:
        return []
    bar = dict(total=len(tasks), desc=desc, unit=unit, disable=not progress)
    if n_jobs == 1 and backend in (None, "loky"):
        return [function(*task) for task in tqdm(tasks, **bar)]
    watched = _Watched(function, os.getpid())
    with (joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext()):
        results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
            joblib.delayed(watched)(*task) for task in tasks)
        return list(tqdm(results, **bar))
