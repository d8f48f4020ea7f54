"""How many threads NumPy's BLAS uses, changed at run time.

NumPy reads ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` once, when it is loaded, which
is before any ``ember`` code runs. The small matrix products of the models here are dominated
by thread hand-off when BLAS splits them over several threads (on a busy 2-core machine a
digits CNN step took 60 ms with 2 BLAS threads and 7 ms with one), so ``ember train``
sets the count itself (``--threads``). This talks to the BLAS library already loaded in the
process: ``threadpoolctl`` when installed, else OpenBLAS's own ``*_set_num_threads``
function (NumPy's wheels bundle OpenBLAS under prefixed names such as
``scipy_openblas_set_num_threads64_``) found with ctypes.
"""
from __future__ import annotations

import ctypes
import os

__all__ = ["get_blas_threads", "set_blas_threads"]

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads", "MKL_Set_Num_Threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads", "MKL_Get_Max_Threads")


def _blas_libraries() -> list:
    """ctypes handles of the loaded shared libraries that look like a BLAS."""
    import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded)
    paths = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                name = os.path.basename(path).lower()
                if ("openblas" in name or "libmkl_rt" in name) and path not in paths:
                    paths.append(path)
    except OSError:   # not Linux: nothing found, threadpoolctl is the way there
        return []
    libs = []
    for path in paths:
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libs


def set_blas_threads(n: int) -> bool:
    """Use ``n`` BLAS threads from now on; True if a BLAS library took the setting."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=int(n), user_api="blas")
        return True
    done = False
    for lib in _blas_libraries():
        for name in _SETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                fn(int(n))
                done = True
                break
    return done


def get_blas_threads() -> int | None:
    """The BLAS thread count, or None when no known BLAS library is found."""
    for lib in _blas_libraries():
        for name in _GETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                return int(fn())
    return None
