"""Padding: ``nn.functional.pad`` (constant, reflect, replicate and circular modes) and
``ember.constant_pad_nd``.

``pad`` takes PyTorch's pad tuple, last dimension first: ``(left, right)`` pads the last
dimension, ``(left, right, top, bottom)`` the last two, and so on. Negative entries crop.

How the kernels run:

* **constant**: one ``np.pad`` for the positive amounts and one slice for the negative ones.
  Its backward is constant padding again with the amounts negated (a crop of the gradient,
  and zeros where the forward cropped), so every derivative order is the same primitive.
* **reflect / replicate / circular**: every padded dimension gets an index array saying which
  input position each output position copies (``np.take`` along that axis, one pass per
  padded dimension). The backward is the adjoint of those gathers: positions copied more
  than once (replicate's borders, reflect's mirrored ones) have their gradients summed, with
  one sort-free ``np.add.reduceat`` per dimension (the index arrays are made of at most three
  monotonic runs, see ``_take_adjoint``). The adjoint's own backward is the gather again.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._dtype import NP_TO_DTYPE
from ._op import Op, Tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")

# The C++ type names PyTorch uses in its "cannot be converted" messages.
_C_TYPE = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
           "int64": "int64_t", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
           "float32": "float", "float64": "double"}


# ---------------------------------------------------------------------------------------
# argument handling

def _tname(arr) -> str:
    """PyTorch's scalar type name ('Float', 'Bool', ...) of an array."""
    return NP_TO_DTYPE[arr.dtype]._legacy[:-6]


def _pad_list(pad, fn="pad", pos=2) -> list:
    """``pad`` as a list of Python ints, with PyTorch's TypeError for anything else."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{fn}(): argument 'pad' (position {pos}) must be tuple of ints, not "
                        f"{type(pad).__name__}")
    out = []
    for i, p in enumerate(pad):
        if isinstance(p, Tensor) and p._data.ndim == 0 and p._data.dtype.kind in "iu":
            p = int(p._data)
        if isinstance(p, bool) or not isinstance(p, numbers.Integral):
            raise TypeError(f"{fn}(): argument 'pad' (position {pos}) must be tuple of ints, "
                            f"but found element of type {type(p).__name__} at pos {i}")
        out.append(int(p))
    return out


def _fill_value(value, dtype: np.dtype, fn="pad", pos=4):
    """The padding value converted to ``dtype`` as PyTorch converts a ``float`` argument:
    truncated toward zero for integers, RuntimeError when it does not fit."""
    if value is None:
        return dtype.type(0)
    if isinstance(value, Tensor):
        value = value._data.item()
    if isinstance(value, complex) and dtype.kind != "c":
        raise TypeError(f"{fn}(): argument 'value' (position {pos}) must be float, not complex")
    if not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"{fn}(): argument 'value' (position {pos}) must be float, not "
                        f"{type(value).__name__}")
    if dtype.kind == "c":
        return dtype.type(value)
    v = float(value)
    if dtype.kind == "b":
        return np.bool_(v != 0)
    overflow = RuntimeError(f"value cannot be converted to type "
                            f"{_C_TYPE.get(dtype.name, dtype.name)} without overflow")
    if dtype.kind in "iu":
        if not math.isfinite(v):
            raise overflow
        info = np.iinfo(dtype)
        iv = int(v)                            # truncation toward zero, as a C cast
        if not info.min <= iv <= info.max:
            raise overflow
        return dtype.type(iv)
    if math.isfinite(v) and abs(v) > float(np.finfo(dtype).max):
        raise overflow
    return dtype.type(v)


def _check_size(shape, pad):
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * len(shape):
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {len(shape)}")


def _pairs(pad, ndim):
    """PyTorch's flat pad list as ``(lo, hi)`` per dimension, first dimension first, for the
    last ``len(pad) // 2`` dimensions."""
    n = len(pad) // 2
    return [(pad[2 * i], pad[2 * i + 1]) for i in range(n)][::-1]


# ---------------------------------------------------------------------------------------
# constant padding

def _constant_np(x, pairs, value):
    lead = x.ndim - len(pairs)
    widths = [(0, 0)] * lead + [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    crops = [slice(None)] * lead + [slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s
                                    in zip(pairs, x.shape[lead:])]
    x = x[tuple(crops)]
    if any(w != (0, 0) for w in widths):
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.array(x, copy=True)              # PyTorch always returns a new tensor


class ConstantPad(Op):
    """Constant padding of the last ``len(pairs)`` dimensions (negative amounts crop).
    Backward: the same op with the amounts negated and zero fill."""

    def forward(self, x, *, pairs, value):
        self.pairs = pairs
        return _constant_np(x, pairs, value)

    def backward(self, grad):
        return ConstantPad.apply(grad, pairs=[(-lo, -hi) for lo, hi in self.pairs],
                                 value=0)

    def name(self):
        return "ConstantPadNdBackward0"


def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    """Pad with a constant (PyTorch's ``torch.constant_pad_nd``); see :func:`pad`."""
    _check_tensor(input, "constant_pad_nd")
    pad = _pad_list(pad, "constant_pad_nd", 2)
    _check_size(input._data.shape, pad)
    return _constant(input, pad, value, "constant_pad_nd", 3)


def _constant(input, pad, value, fn="pad", pos=4):
    shape = input._data.shape
    v = _fill_value(value, input._data.dtype, fn, pos)
    pairs = _pairs(pad, len(shape))
    lead = len(shape) - len(pairs)
    for (lo, hi), s in zip(pairs, shape[lead:]):
        if s + min(lo, 0) + min(hi, 0) < 0:          # the crops come first
            raise RuntimeError("narrow(): length must be non-negative.")
    return ConstantPad.apply(input, pairs=pairs, value=v)


# ---------------------------------------------------------------------------------------
# reflect / replicate / circular: gathers along each padded dimension

def _source_index(mode, lo, hi, n) -> np.ndarray:
    """For each output position along one dimension, the input position it copies."""
    out = n + lo + hi
    if mode == "circular":
        # PyTorch crops first, then wraps around the cropped interval
        start = max(-lo, 0)
        m = n - start - max(-hi, 0)
        return start + (np.arange(out) - max(lo, 0)) % max(m, 1)
    i = np.arange(out) - lo
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if n == 1:
        return np.zeros(out, dtype=np.int64)
    period = 2 * (n - 1)                       # reflect: mirror without repeating the edge
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def _runs(idx) -> list:
    """Split an index array into maximal monotonic (non-decreasing or non-increasing) runs,
    as ``(start, stop)`` pairs; padding index arrays have at most a handful."""
    d = np.sign(np.diff(idx))
    nz = np.flatnonzero(d)
    signs = d[nz]
    # a run ends where the direction of the last change flips; the turning point stays in
    # the run that reaches it
    bounds = [0] + (nz[1:][signs[1:] != signs[:-1]] + 1).tolist() + [len(idx)]
    return list(zip(bounds[:-1], bounds[1:]))


def _take_adjoint(g, idx, n, axis):
    """The adjoint of ``np.take(x, idx, axis)`` for an input of length ``n`` on ``axis``:
    gradients of output positions that copy the same input position are summed."""
    g = np.moveaxis(g, axis, 0)
    out = np.zeros((n,) + g.shape[1:], dtype=g.dtype)
    for a, b in _runs(idx):                    # a few monotonic runs: reduceat per run
        seg, gi = idx[a:b], g[a:b]
        if len(seg) > 1 and seg[0] > seg[-1]:
            seg, gi = seg[::-1], gi[::-1]
        starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
        out[seg[starts]] += np.add.reduceat(gi, starts, axis=0)
    return np.moveaxis(out, 0, axis)


def _gather_np(x, idxs):
    lead = x.ndim - len(idxs)
    for i, idx in enumerate(idxs):
        if idx is not None:
            x = np.take(x, idx, axis=lead + i)
    return x


class IndexPad(Op):
    """Reflect/replicate/circular padding as gathers along the padded dimensions (``idxs``:
    one index array or None per padded dimension). Backward: ``IndexPadAdjoint``."""

    def forward(self, x, *, idxs, label):
        self.idxs, self.label, self.in_shape = idxs, label, x.shape
        y = _gather_np(x, idxs)
        return np.array(y, copy=True) if y is x else y    # always a new tensor

    def backward(self, grad):
        return IndexPadAdjoint.apply(grad, idxs=self.idxs, in_shape=self.in_shape,
                                     label=self.label)

    def name(self):
        return self.label


class IndexPadAdjoint(Op):
    """The adjoint of ``IndexPad``: sums the gradient back onto the copied positions."""

    def forward(self, g, *, idxs, in_shape, label):
        self.idxs, self.label = idxs, label
        lead = g.ndim - len(idxs)
        for i in reversed(range(len(idxs))):
            if idxs[i] is not None:
                g = _take_adjoint(g, idxs[i], in_shape[lead + i], lead + i)
        return np.ascontiguousarray(g)

    def backward(self, grad):
        return IndexPad.apply(grad, idxs=self.idxs, label=self.label)


_DIM_LETTERS = {1: "W", 2: "HW", 3: "DHW"}


def _mode_checks(input, pairs, mode):
    shape = list(input._data.shape)
    nd = len(pairs)
    lead = len(shape) - nd
    sp = shape[lead:]
    if mode in ("reflect", "replicate"):
        if input._data.dtype == np.bool_:
            kernel = "reflection" if mode == "reflect" else "replication"
            raise NotImplementedError(f'"{kernel}_pad{nd}d" not implemented for \'Bool\'')
        # every dimension but an optional batch one must be non-empty
        first = 1 if len(shape) == nd + 2 else 0
        if any(s == 0 for s in shape[first:]):
            raise RuntimeError(f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with "
                               f"possibly 0 batch size and other non-zero dimensions for "
                               f"input, but got: {shape}")
        if mode == "reflect":
            for k in reversed(range(nd)):      # PyTorch checks the last dimension first
                lo, hi = pairs[k]
                if lo >= sp[k] or hi >= sp[k]:
                    raise RuntimeError(
                        f"Argument #{4 + 2 * (nd - 1 - k)}: Padding size should be less "
                        f"than the corresponding input dimension, but got: padding "
                        f"({lo}, {hi}) at dimension {lead + k} of input {shape}")
        outs = [s + lo + hi for s, (lo, hi) in zip(sp, pairs)]
        if any(o < 1 for o in outs):
            letters = _DIM_LETTERS[nd]
            ins = ", ".join(f"{c}: {s}" for c, s in zip(letters, sp))
            calc = " ".join(f"{c}: {o}" for c, o in zip(letters, outs))
            raise RuntimeError(f"input ({ins}) is too small. Calculated output {calc}")
    else:
        for k in reversed(range(nd)):
            lo, hi = pairs[k]
            kept = sp[k] - max(-lo, 0) - max(-hi, 0)
            if lo > sp[k] or hi > sp[k] or (lo > 0 and lo > kept) or (hi > 0 and hi > kept):
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if sp[k] + lo + hi < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")


def _mode_pad(input, pad, mode):
    shape = input._data.shape
    nd = len(pad) // 2
    if nd not in (1, 2, 3) or len(shape) not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {len(shape)}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    pairs = _pairs(pad, len(shape))
    _mode_checks(input, pairs, mode)
    sp = shape[len(shape) - nd:]
    idxs = [None if (lo == 0 and hi == 0) else _source_index(mode, lo, hi, n)
            for (lo, hi), n in zip(pairs, sp)]
    label = {"reflect": "ReflectionPad", "replicate": "ReplicationPad",
             "circular": "CircularPad"}[mode] + f"{nd}DBackward0"
    return IndexPad.apply(input, idxs=idxs, label=label)


# ---------------------------------------------------------------------------------------
# public

def _check_tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last dimensions of ``input``.

    Args:
        input (Tensor): the tensor to pad.
        pad (tuple of ints): ``(left, right)`` amounts per padded dimension, last dimension
            first; ``len(pad) // 2`` dimensions are padded. Negative amounts crop.
        mode (str): ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without
            repeating the edge), ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap
            around). The non-constant modes pad the last 1, 2 or 3 dimensions of a 2-5-D
            input (one or two leading batch/channel dimensions).
        value (float, optional): the fill value for ``'constant'`` mode. Default: 0.

    Returns:
        A new tensor (never a view of ``input``), differentiable with respect to ``input``.
    """
    _check_tensor(input, "pad")
    pad = _pad_list(pad)
    if not isinstance(mode, str):
        raise TypeError(f"pad(): argument 'mode' (position 3) must be str, not "
                        f"{type(mode).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    _check_size(input._data.shape, pad)
    if mode == "constant":
        return _constant(input, pad, value)
    if value is not None:
        v = value._data.item() if isinstance(value, Tensor) else value
        if v != 0:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    return _mode_pad(input, pad, mode)


# PyTorch's top-level functions of this family (``ember.<name>``), name -> function.
TOP_LEVEL = {"constant_pad_nd": constant_pad_nd}
