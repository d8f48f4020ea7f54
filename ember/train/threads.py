"""The BLAS thread count for ``ember train`` (``--threads``).

The small matrix products of the models here are dominated by thread hand-off when BLAS
splits them over several threads (on a busy 2-core machine a digits CNN step took 60 ms with
2 BLAS threads and 7 ms with one), so the command sets the count itself. The code lives in
ember's core, :mod:`ember._threads` (``ember.set_num_threads`` uses it too); this module
keeps the names importable from here.
"""
from __future__ import annotations

from .._threads import get_blas_threads, set_blas_threads

__all__ = ["get_blas_threads", "set_blas_threads"]
