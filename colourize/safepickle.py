"""Unpickling data files (CIFAR-10 batches, the course's palette .npy) without letting them run code.

Both formats are pickles of dicts, lists, bytes and NumPy arrays. A plain pickle.load would run whatever a
crafted file names; this unpickler rebuilds only NumPy arrays and refuses every other callable.
"""

from __future__ import annotations

import pickle
from typing import BinaryIO

_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
# protocol 2 writes bytes via _codecs.encode, and empty ones as a call of bytes (builtins, or __builtin__ from Python 2)
ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"), ("builtins", "bytes"), ("__builtin__", "bytes"),
           *((m, n) for m in _NUMPY_CORE for n in ("_reconstruct", "scalar", "_frombuffer"))}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it holds {module}.{name}, not only data")


def load(stream: BinaryIO, encoding: str = "bytes"):
    """pickle.load for data: pickle.UnpicklingError when the stream names anything but NumPy arrays.

    encoding: how Python 2 str objects come back ("bytes" as CIFAR's own loader does; "latin1" for arrays)."""
    return _ArraysOnly(stream, encoding=encoding).load()
