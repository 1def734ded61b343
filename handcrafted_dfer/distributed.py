"""Running the clip-parallel stages on a Dask cluster (``--backend dask``).

:func:`backend_session` opens what :class:`~handcrafted_dfer.config.RunOptions` asks for: with
``backend="dask"`` and no scheduler address it starts a :class:`dask.distributed.LocalCluster` of
``n_jobs`` single-threaded worker processes; with an address (``--scheduler`` or
``$DASK_SCHEDULER_ADDRESS``) it connects to a running cluster (``dask scheduler`` and ``dask
worker`` on each host, or dask-jobqueue on SLURM; see ``docs/scaling.md``). Joblib's ``dask``
backend then sends every clip task to the cluster, and each worker writes its own cache entries, so
the cache folder must be a path every worker can write: a probe task on every worker checks this
before any work starts.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket

from .errors import DferError

__all__ = ["backend_session", "probe_cache"]


def probe_cache(cache_dir: str) -> str:
    """Write, read back and delete a small file in ``cache_dir`` (run on a worker); returns the
    worker's host name, or raises ``OSError``."""
    folder = pathlib.Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".probe-{socket.gethostname()}-{os.getpid()}"
    probe.write_text("ok")
    try:
        if probe.read_text() != "ok":
            raise OSError(f"{probe} did not read back")
    finally:
        probe.unlink()
    return socket.gethostname()


@contextlib.contextmanager
def backend_session(run):
    """Open the cluster of ``run.backend`` for the duration of a run (nothing for loky).

    Parameters
    ----------
    run : RunOptions

    Yields
    ------
    dask.distributed.Client or None

    Raises
    ------
    DferError
        The distributed extra is missing, the scheduler cannot be reached, or a worker cannot
        write the cache folder.
    """
    if run.backend != "dask":
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise DferError(None, "--backend dask needs the distributed extra: pip install "
                              "'handcrafted_dfer[distributed]'") from None
    cluster = None
    try:
        if run.scheduler:
            client = Client(run.scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=run.n_jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=":0",
                                   env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                        "OPENBLAS_NUM_THREADS": "1"})
            client = Client(cluster)
    except OSError as exc:
        raise DferError(run.scheduler, f"cannot reach the Dask scheduler: {exc}") from exc
    try:
        if run.cache_dir is not None:
            try:
                client.run(probe_cache, os.fspath(run.cache_dir))
            except OSError as exc:
                raise DferError(run.cache_dir, f"a Dask worker cannot write the cache folder "
                                f"({exc}); give --cache a path every worker can write (a "
                                f"shared file system)") from exc
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
