"""How many threads NumPy's BLAS uses, read and changed at run time.

ember's heavy lifting (matrix products, hence linear layers, convolutions through im2col,
recurrent cells) runs in the BLAS library NumPy loaded. That library reads
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` once, when NumPy is imported, which is before
any ember code runs, so the only way to change the count later is to call the library
itself. That is what ``ember.set_num_threads`` does, through :func:`set_blas_threads`.

Finding the library. The BLAS is already loaded in the process; on Linux its path is in
``/proc/self/maps``. NumPy's wheels bundle OpenBLAS under prefixed symbol names
(``scipy_openblas_set_num_threads64_``), other builds use plain OpenBLAS or MKL's
``libmkl_rt``, so each library whose file name says OpenBLAS or MKL is opened with ctypes
and asked for the first of the known setter/getter names it exports. Where that finds
nothing (not Linux, or another BLAS such as BLIS or FlexiBLAS) ``threadpoolctl`` is used
when it is installed; it knows every platform and BLAS family.

Cost. Nothing happens at import: the scan (reading ``/proc/self/maps``, opening the
libraries, or building threadpoolctl's controller) runs on the first call and its result is
kept, so later calls are one C call each. A BLAS loaded after that first call (none is,
in practice: NumPy loads its own at import) would not be seen.

This module is part of ember's core and must not import :mod:`ember.train`;
``ember.train.threads`` re-exports it for the ``ember train`` command.
"""
from __future__ import annotations

import ctypes
import os
import threading

__all__ = ["get_blas_threads", "set_blas_threads"]

# Exported names, most specific first: NumPy's scipy-openblas wheels (64-bit and 32-bit
# integer builds), plain OpenBLAS, and MKL's single dynamic library.
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads", "MKL_Set_Num_Threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads", "MKL_Get_Max_Threads")

_lock = threading.Lock()
_backend: dict | None = None    # filled by _find_backend on first use


def _library_paths() -> list[str]:
    """Paths of the loaded shared libraries whose file name says OpenBLAS or MKL, in
    load order (an empty list where ``/proc/self/maps`` does not exist)."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                # "address perms offset dev inode   /path/to/lib.so"; anonymous maps have
                # no path, and [heap]/[stack] contain no slash
                if "/" not in line:
                    continue
                path = line.split(None, 5)[-1].strip()
                name = os.path.basename(path).lower()
                if ("openblas" in name or "libmkl_rt" in name) and path not in paths:
                    paths.append(path)
    except OSError:     # not Linux
        pass
    return paths


def _first_symbol(lib, names):
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn
    return None


def _ctypes_functions() -> list[tuple]:
    """``(setter, getter or None)`` for each loaded BLAS that exports a known setter."""
    found = []
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)     # already loaded: this only returns a handle
        except OSError:
            continue
        setter = _first_symbol(lib, _SETTERS)
        if setter is None:
            continue
        setter.argtypes = [ctypes.c_int]
        setter.restype = None
        getter = _first_symbol(lib, _GETTERS)
        if getter is not None:
            getter.argtypes = []
            getter.restype = ctypes.c_int
        found.append((setter, getter))
    return found


def _threadpool_controller():
    """threadpoolctl's controller when threadpoolctl is installed and sees a BLAS, else
    None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    controller = ThreadpoolController().select(user_api="blas")
    return controller if controller.lib_controllers else None


def _find_backend() -> dict:
    """The way to reach the BLAS, found once: ``{'ctypes': [...]}``, ``{'threadpoolctl':
    controller}`` or ``{}`` when no BLAS could be found."""
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                import numpy  # noqa: F401  (NumPy loads its BLAS on import)
                functions = _ctypes_functions()
                if functions:
                    _backend = {"ctypes": functions}
                else:
                    controller = _threadpool_controller()
                    _backend = {"threadpoolctl": controller} if controller else {}
    return _backend


def set_blas_threads(n: int) -> bool:
    """Use ``n`` BLAS threads from now on (the library caps ``n`` at the maximum it was
    built for); True if a BLAS library took the setting, False if none was found."""
    n = int(n)
    backend = _find_backend()
    if "ctypes" in backend:
        for setter, _ in backend["ctypes"]:
            setter(n)
        return True
    if "threadpoolctl" in backend:
        # applies at once; the returned limiter is only needed to undo the change
        backend["threadpoolctl"].limit(limits=n, user_api="blas")
        return True
    return False


def get_blas_threads() -> int | None:
    """The number of threads NumPy's BLAS uses now, or None when it cannot be read."""
    backend = _find_backend()
    for _, getter in backend.get("ctypes", ()):
        if getter is not None:
            return int(getter())
    controller = backend.get("threadpoolctl")
    if controller is not None:
        for info in controller.info():
            return int(info["num_threads"])
    return None
