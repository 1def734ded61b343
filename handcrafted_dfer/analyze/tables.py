"""Tables written as CSV or Parquet, whole or a chunk at a time (OpenFace-style outputs).

The format follows the file name: ``.csv`` is CSV (missing values are empty fields), ``.parquet``
or ``.pq`` is Parquet (missing values are nulls; needs ``pyarrow``). :class:`TableWriter` appends
chunks as they come, so a table of a long video or a live stream is never held whole in memory.
"""

from __future__ import annotations

import importlib
import os
import pathlib

import numpy as np

from ..errors import DferError

__all__ = ["TABLE_FORMATS", "table_format", "TableWriter", "write_table"]

#: File suffix -> format.
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | os.PathLike, *, what: str = "the table") -> str:
    """``"csv"`` or ``"parquet"``, from the suffix of ``path``.

    Raises
    ------
    DferError
        If the suffix is neither, or it is Parquet and ``pyarrow`` is not installed.
    """
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise DferError(path, f"expected a file name ending in {', '.join(TABLE_FORMATS)} for "
                        f"{what} (CSV or Parquet)")
    kind = TABLE_FORMATS[suffix]
    if kind == "parquet":
        try:
            for module in ("pyarrow", "pyarrow.parquet"):
                importlib.import_module(module)
        except ImportError:
            raise DferError(path, f"writing {what} as Parquet needs pyarrow (pip install "
                            "pyarrow), which is not installed; or give a .csv name") from None
    return kind


def _schema(frame):
    """The Parquet schema of a chunk: text columns are strings even when all missing."""
    import pyarrow as pa

    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    fields = []
    for name, dtype in frame.dtypes.items():
        numeric = is_numeric_dtype(dtype) or is_bool_dtype(dtype)
        kind = pa.from_numpy_dtype(np.dtype(dtype)) if numeric else pa.string()
        fields.append(pa.field(str(name), kind))
    return pa.schema(fields)


class TableWriter:
    """Append pandas DataFrames with the same columns to one CSV or Parquet file.

    Use as a context manager. The file is created (replacing any) at the first chunk, which
    sets the columns and their types: write an empty DataFrame with the right columns where
    there may be no rows.

    Parameters
    ----------
    path : str or Path
    what : str
        What the table is, for error messages.
    """

    def __init__(self, path: str | os.PathLike, *, what: str = "the table"):
        self.path = pathlib.Path(path)
        self.format = table_format(path, what=what)
        self._writer = None
        self._schema = None
        self._rows = 0
        self._chunks = 0

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, frame) -> None:
        """Append the rows of ``frame`` (its columns must be those of the first chunk)."""
        if self.format == "csv":
            frame.to_csv(self.path, mode="w" if self._chunks == 0 else "a",
                         header=self._chunks == 0, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._writer is None:
                self._schema = _schema(frame)
                self._writer = pq.ParquetWriter(self.path, self._schema)
            self._writer.write_table(pa.Table.from_pandas(frame, schema=self._schema,
                                                          preserve_index=False))
        self._rows += len(frame)
        self._chunks += 1

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def write_table(frame, path: str | os.PathLike, *, what: str = "the table") -> pathlib.Path:
    """Write a whole DataFrame as CSV or Parquet (by suffix); returns the path."""
    with TableWriter(path, what=what) as writer:
        writer.write(frame)
    return writer.path
