"""Printing tensors in PyTorch's format: ``repr(t)`` (and ``str(t)``) give exactly what
PyTorch prints, with ``ember`` in place of ``torch``::

    tensor([[0.1000, 2.0000],
            [3.0000, 4.0000]], dtype=ember.float64, requires_grad=True)

How the numbers are laid out (PyTorch's rules):

* one width for every element of a tensor, computed from its finite non-zero values;
* floats that are all integers print as ``1.``; otherwise with ``precision`` decimals, or in
  scientific notation when the values span more than 1000x, exceed 1e8 or go below 1e-4;
* tensors with more than ``threshold`` elements print ``edgeitems`` items at each end of
  every dimension with ``...`` between;
* rows wrap at ``linewidth`` characters; suffixes (``dtype=``, ``requires_grad=True``,
  ``grad_fn=<...>``) go on the last line or a new one when it would overflow.

``set_printoptions`` changes these settings globally, ``printoptions`` for a block.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from . import _dtype

__all__ = ["get_printoptions", "set_printoptions"]


class _PrintOptions:
    __slots__ = ("edgeitems", "linewidth", "precision", "sci_mode", "threshold")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}
_KEYS = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")   # PyTorch's order


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set how tensors print (PyTorch's ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which a tensor is summarised with ``...`` (1000).
        edgeitems: items shown at each end of a summarised dimension (3).
        linewidth: characters per line before wrapping (80).
        profile: ``'default'``, ``'short'`` or ``'full'``: set the four above at once
            (applied first, then the explicit arguments).
        sci_mode: True/False forces scientific/fixed notation; None (the default, and what
            every call without it resets to) chooses automatically.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"Invalid profile: {profile!r} (expected one of "
                             f"{', '.join(repr(p) for p in _PROFILES)})")
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options as a dict (the keywords of :func:`set_printoptions`)."""
    return {k: getattr(PRINT_OPTS, k) for k in _KEYS}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager: ``set_printoptions(**kwargs)`` inside the block, restored after."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ---------------------------------------------------------------------------------------
# element formatting

class _Formatter:
    """Decides one width and one notation for all elements of a (real) array."""

    def __init__(self, arr: np.ndarray):
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        vals = arr.reshape(-1)
        p = PRINT_OPTS.precision
        if not self.floating:
            if vals.size:
                self.max_width = max(1, max(len(str(v)) for v in _distinct(vals)))
        else:
            with np.errstate(invalid="ignore"):
                nz = vals[np.isfinite(vals) & (vals != 0)]
            if nz.size:
                mag = np.abs(nz.astype(np.float64))
                lo, hi = float(mag.min()), float(mag.max())
                self.int_mode = bool(np.all(nz == np.ceil(nz)))
                if PRINT_OPTS.sci_mode is None:
                    self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
                else:
                    self.sci_mode = bool(PRINT_OPTS.sci_mode)
                distinct = [float(v) for v in _distinct(nz)]
                if self.sci_mode:
                    self.max_width = max(len(f"{v:.{p}e}") for v in distinct)
                elif self.int_mode:
                    # integral floats print as "3.": one more character than the digits
                    self.max_width = max(len(f"{v:.0f}") + 1 for v in distinct)
                else:
                    self.max_width = max(len(f"{v:.{p}f}") for v in distinct)
        # (all-zero/non-finite float arrays keep the defaults: int mode, width 1; the
        # sci_mode print option does not apply to them, as in PyTorch)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                s = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    s += "."
            else:
                s = f"{value:.{p}f}"
        else:
            s = f"{value}"
        return " " * (self.max_width - len(s)) + s


def _distinct(vals: np.ndarray):
    """The distinct values (widths depend only on them; saves formatting repeats)."""
    return np.unique(vals).tolist() if vals.size > 64 else vals.tolist()


def _complex_str(z, f1, f2) -> str:
    real = f1.format(z.real)
    imag = (f2.format(z.imag) + "j").lstrip()
    if imag[0] in "+-":                  # negative imaginary part, or -0.
        return real + imag
    return real + "+" + imag


# ---------------------------------------------------------------------------------------
# layout

def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (the formatter's input)."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        if a.shape[0] > 2 * e:
            return np.concatenate((a[:e], a[-e:]))    # (with e == 0, a[-0:] is all of a)
        return a
    if not e:
        return np.empty((0,) * a.ndim, dtype=a.dtype)
    n = a.shape[0]
    rows = list(range(e)) + list(range(n - e, n)) if n > 2 * e else range(n)
    return np.stack([_summarized(a[i]) for i in rows])


def _fmt_one(v, f1, f2):
    return _complex_str(v, f1, f2) if f2 is not None else f1.format(v)


def _vector_str(a, indent, summarize, f1, f2):
    element_length = f1.width() + 2
    if f2 is not None:
        element_length += f2.width() + 1
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = ([_fmt_one(v, f1, f2) for v in a[:e].tolist()] + [" ..."]
                + [_fmt_one(v, f1, f2) for v in a[-e:].tolist()])
    else:
        data = [_fmt_one(v, f1, f2) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(a, indent, summarize, f1, f2=None):
    if a.ndim == 0:
        return _fmt_one(a.item(), f1, f2)
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, f1, f2)
    e = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        slices = ([_nested_str(a[i], indent + 1, summarize, f1, f2) for i in range(e)]
                  + ["..."]
                  + [_nested_str(a[i], indent + 1, summarize, f1, f2)
                     for i in range(n - e, n)])
    else:
        slices = [_nested_str(a[i], indent + 1, summarize, f1, f2) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def array_str(a: np.ndarray, indent: int) -> str:
    """The bracketed values of ``a`` as PyTorch lays them out, continuation lines indented
    by ``indent`` (the length of the prefix before the opening bracket)."""
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    if a.dtype.kind == "f" and a.dtype.itemsize < 4 or a.dtype.kind == "V" or \
            a.dtype.name == "bfloat16":
        a = a.astype(np.float32)                 # half types print through float
    if a.dtype.kind == "c":
        src = _summarized(a) if summarize else a
        f1 = _Formatter(np.ascontiguousarray(src.real))
        f2 = _Formatter(np.ascontiguousarray(src.imag))
        return _nested_str(a, indent, summarize, f1, f2)
    f1 = _Formatter(_summarized(a) if summarize else a)
    return _nested_str(a, indent, summarize, f1)


# ---------------------------------------------------------------------------------------
# the whole repr

def _add_suffixes(text, suffixes, indent):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _default_prefix(t) -> str:
    cls = type(t)
    from ._tensor import Tensor
    if cls is Tensor or cls.__name__ == "Parameter":
        return "tensor("
    return f"{cls.__name__}("


def tensor_repr(t, prefix: str | None = None, tensor_contents: str | None = None) -> str:
    """``repr`` of an ember Tensor in PyTorch's format.

    Args:
        t: the tensor.
        prefix: text before the values, ``'tensor('`` by default (the class name for
            subclasses other than Parameter); continuation lines are indented by its length.
        tensor_contents: use this text instead of the formatted values.
    """
    if prefix is None:
        prefix = _default_prefix(t)
    indent = len(prefix)
    arr = t._data
    dt = t.dtype
    default = _dtype.get_default_dtype()
    default_complex = _dtype.complex128 if default is _dtype.float64 else _dtype.complex64
    suffixes = []
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append("size=" + str(tuple(arr.shape)))
        if dt is not default:
            suffixes.append(f"dtype={dt!r}")
        body = "[]" if tensor_contents is None else tensor_contents
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(arr.shape)))
        if dt not in (default, default_complex, _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={dt!r}")
        body = array_str(arr, indent) if tensor_contents is None else tensor_contents
    grad_fn = t.grad_fn
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
