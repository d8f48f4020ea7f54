"""Pooling: max, average, adaptive, power-average (LP) pooling and max unpooling.

Every pooling op works on the last 1, 2 or 3 dimensions of an array; the dimensions before
them (batch and channels, or channels alone for unbatched input) are carried along, so no
reshaping is needed for unbatched input.

How the kernels run (NumPy, no loops over batch entries or pixels):

* **Windowed pooling** (max/avg): the input is padded once (with -inf, the dtype's lowest
  integer, or 0), then each of the ``prod(kernel_size)`` kernel offsets selects a strided view
  of the padded array that holds that offset's element of every window. Max pooling is a
  running ``np.maximum`` over these views, average pooling a running sum; the loop is over
  kernel offsets (4 for a 2x2 kernel), each step a full vectorised pass. Large max-pooling
  kernels (5x5, 3x3x3) are reduced one dimension at a time instead (``sum(kernel)`` passes
  rather than ``prod(kernel)``); both orders give the same values and indices.
* **Max indices** are PyTorch's: the flat position inside each input plane (``h * W + w``),
  the first maximum in window order, the last NaN when the window holds NaNs, and the
  window's first non-padding position when no element exceeds -inf.
* **Backward**: max pooling scatters the gradient to the argmax positions (a plain indexed
  write when windows do not overlap, ``np.add.at`` when they do; one primitive whose own
  backward gathers at the same positions, so double backward works); average pooling's
  backward is its adjoint (the gradient divided by the divisors and added into every window
  position), a primitive whose backward is average pooling again.
* **Adaptive average pooling** is separable: per pooled dimension it is a linear map, a
  strided sum when the input size is a multiple of the output size, otherwise a product
  with a small ``(out, in)`` averaging matrix (PyTorch's windows ``[floor(i*in/out),
  ceil((i+1)*in/out))``). A 1x1 (global) output is a plain ``mean``.
* **Adaptive max pooling** with non-uniform windows is separable too: per dimension the
  windows are gathered into a ``(out, max_window)`` block (short windows repeat their last
  element) and reduced; the per-dimension argmaxes are chained back into flat indices.
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from ..autograd.grad_mode import STATE
from .._dtype import NP_TO_DTYPE
from ._op import Op, Tensor

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "max_unpool1d",
           "max_unpool2d", "max_unpool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d"]

_DIM_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("T", "H", "W")}


# ---------------------------------------------------------------------------------------
# argument handling

def _tname(arr) -> str:
    """PyTorch's scalar type name of an array's dtype ('Float', 'Long', ...)."""
    return NP_TO_DTYPE[arr.dtype]._legacy[:-6]


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _check_input(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _int_list(v, fn, arg, pos, allow_none=False):
    """An int or a sequence of ints as a tuple; PyTorch's TypeError for anything else."""
    if v is None and allow_none:
        return ()
    if _is_int(v):
        return (int(v),)
    if isinstance(v, (tuple, list)) and all(_is_int(e) for e in v):
        return tuple(int(e) for e in v)
    if isinstance(v, Tensor) and v.ndim <= 1 and v._data.dtype.kind in "iu":
        return tuple(int(e) for e in np.atleast_1d(v._data))
    raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be tuple of ints, not "
                    f"{type(v).__name__}")


def _expand(vals, n):
    """A 1-element tuple repeated to ``n`` (PyTorch accepts a single int for every dim)."""
    return vals * n if len(vals) == 1 else vals


def _out_size(L, k, p, s, d, ceil_mode) -> int:
    """PyTorch's pooling output size, with its checks on stride and padding.

    ``floor((L + 2p - d(k-1) - 1) / s) + 1`` (ceil with ``ceil_mode``), where in ceil mode
    the last window must start inside the input or the left padding."""
    if s == 0:
        raise RuntimeError("stride should not be zero")
    if p < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    if p > ((k - 1) * d + 1) // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                           f"pad={p}, kernel_size={k} and dilation={d}")
    num = L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1                    # Python's // floors, as PyTorch's div_rtn
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _fmt_pairs(names, prefix, vals):
    return " ".join(f"{prefix}{n}: {v}" for n, v in zip(names, vals))


def _shape_checks(x, nd, k, s, p, d, out, *, fn3d=None, avg3d=False):
    """The checks PyTorch runs after computing the output size (pool2d/pool3d_shape_check).

    ``x`` is the (possibly unsqueezed) input shape with 1 + nd or 2 + nd dimensions."""
    names = _DIM_NAMES[nd]
    if nd == 2:
        if min(k) <= 0:
            raise RuntimeError("kernel size should be greater than zero, but got "
                               f"kH: {k[0]} kW: {k[1]}")
        if min(s) <= 0:
            raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} "
                               f"dW: {s[1]}")
        if min(d) <= 0:
            raise RuntimeError("dilation should be greater than zero, but got "
                               f"dilationH: {d[0]} dilationW: {d[1]}")
        if len(x) not in (3, 4) or any(v == 0 for v in x[len(x) - 3:]):
            raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim "
                               f"batch size for input, but got:{_shape_str(x)}")
        if k[0] // 2 < p[0] or k[1] // 2 < p[1]:
            raise RuntimeError("pad should be smaller than or equal to half of kernel size, "
                               f"but got padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, "
                               f"kH = {k[0]}")
    else:
        if min(k) <= 0:
            raise RuntimeError("kernel size should be greater than zero, but got "
                               + _fmt_pairs(names, "k", k))
        if min(s) <= 0:
            raise RuntimeError("stride should be greater than zero, but got "
                               + _fmt_pairs(names, "d", s))
        if min(d) <= 0:
            raise RuntimeError("dilation should be greater than zero, but got "
                               + _fmt_pairs(names, "dilation", d))
        if len(x) not in (4, 5):
            raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
        if any(v == 0 for v in x[len(x) - 4:]):
            # (PyTorch always names "non-batch dimension 0" here)
            raise RuntimeError(f"{fn3d}(): Expected input's non-batch dimensions to have "
                               f"positive length, but input has a shape of {_shape_str(x)} "
                               "and non-batch dimension 0 has length zero!")
        if avg3d and any(L < kk for L, kk in zip(x[-3:], k)):
            raise RuntimeError(f"input image (T: {x[-3]} H: {x[-2]} W: {x[-1]}) smaller than "
                               f"kernel size (kT: {k[0]} kH: {k[1]} kW: {k[2]})")
        if any(kk // 2 < pp for kk, pp in zip(k, p)):
            raise RuntimeError("pad should be smaller than or equal to half of kernel size, "
                               f"but got kT: {k[0]} kW: {k[2]} kH: {k[1]} padT: {p[0]} "
                               f"padW: {p[2]} padH: {p[1]}")
    if min(out) < 1:
        c = x[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + tuple(x[-nd:])))})."
                           f" Calculated output size: ({'x'.join(map(str, (c,) + out))}). "
                           "Output size is too small")


def _parse_nd(fn, nd, kernel_size, stride, padding, dilation, *, avg):
    """kernel, stride, padding and dilation of a 2-d or 3-d pooling op as nd-tuples, with
    PyTorch's arity messages."""
    k = _int_list(kernel_size, fn, "kernel_size", 2)
    s = _int_list(stride, fn, "stride", 3, allow_none=True)
    p = _int_list(padding, fn, "padding", 4)
    d = _int_list(dilation, fn, "dilation", 5) if dilation is not None else (1,)
    word = {2: "two", 3: "three"}[nd]
    either = "" if (avg and nd == 3) else "either "
    if len(k) not in (1, nd):
        raise RuntimeError(f"{fn}: kernel_size must {either}be a single int, or a tuple of "
                           f"{word} ints")
    if len(s) not in (0, 1, nd):
        raise RuntimeError(f"{fn}: stride must {either}be omitted, a single int, or a tuple "
                           f"of {word} ints")
    if len(p) not in (1, nd):
        raise RuntimeError(f"{fn}: padding must {either}be a single int, or a tuple of "
                           f"{word} ints")
    if len(d) not in (1, nd):
        raise RuntimeError(f"{fn}: dilation must be either a single int, or a tuple of "
                           f"{word} ints")
    k = _expand(k, nd)
    s = _expand(s, nd) if s else k
    return k, s, _expand(p, nd), _expand(d, nd)


def _parse_1d_strict(fn, kernel_size, stride, padding, dilation):
    """1-d arguments through PyTorch's argument parser (one int each)."""
    vals = []
    for arg, pos, v in (("kernel_size", 2, kernel_size), ("stride", 3, stride),
                        ("padding", 4, padding), ("dilation", 5, dilation)):
        if v is None and arg == "dilation":
            vals.append((1,))
            continue
        t = _int_list(v, fn, arg, pos, allow_none=arg == "stride")
        if len(t) > 1 or (len(t) == 0 and arg != "stride"):
            raise RuntimeError(f"{fn}() argument '{arg}' should contain one int (got {len(t)})")
        vals.append(t)
    k, s, p, d = vals
    return k, (s or k), p, d


def _check_rank_1d(x, fn):
    if x.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor "
                           f"for argument #1 'self' (while checking arguments for {fn})")


# ---------------------------------------------------------------------------------------
# window geometry

class _Geom:
    """Where the windows of a pooling op lie: kernel, stride, padding, dilation, the input
    and output spatial sizes, the padded extent and the strided slices of each kernel
    offset. Built once per call; shared by an op and its backward."""

    def __init__(self, insp, k, s, p, d, out):
        self.insp, self.k, self.s, self.p, self.d, self.out = insp, k, s, p, d, out
        self.nd = len(k)
        # right padding needed so that the last (ceil-mode) window lies in the buffer
        need = [(o - 1) * ss + (kk - 1) * dd + 1 for o, ss, kk, dd in zip(out, s, k, d)]
        self.padr = tuple(max(0, n - pp - L) for n, pp, L in zip(need, p, insp))
        self.padded = any(p) or any(self.padr)
        self.pshape = tuple(L + pp + r for L, pp, r in zip(insp, p, self.padr))
        self.overlap = any(ss < (kk - 1) * dd + 1 for ss, kk, dd in zip(s, k, d))
        self.slices = [(Ellipsis,) + tuple(slice(j * dd, j * dd + (o - 1) * ss + 1, ss)
                                           for j, dd, o, ss in zip(offs, d, out, s))
                       for offs in itertools.product(*[range(kk) for kk in k])]
        self.crop = (Ellipsis,) + tuple(slice(pp, pp + L) for pp, L in zip(p, insp))
        self.div = None               # average pooling: the divisor of every window

    def pad(self, x, value):
        """``x`` inside a buffer of the padded shape filled with ``value``."""
        if not self.padded:
            return x
        buf = np.full(x.shape[:x.ndim - self.nd] + self.pshape, value, dtype=x.dtype)
        buf[self.crop] = x
        return buf

    def plane_strides(self):
        """Element strides of the pooled dimensions within one (unpadded) input plane."""
        return [int(np.prod(self.insp[i + 1:], dtype=np.int64)) for i in range(self.nd)]

    def window_starts(self):
        """Per dimension: the first input position of each window (negative in padding)."""
        return [np.arange(o, dtype=np.int64) * ss - pp
                for o, ss, pp in zip(self.out, self.s, self.p)]


def _outer_sum(parts):
    """``parts[0][:, None, None] + parts[1][:, None] + parts[2]`` for any count."""
    nd = len(parts)
    total = 0
    for i, v in enumerate(parts):
        total = total + v.reshape((-1,) + (1,) * (nd - 1 - i))
    return np.asarray(total)


def _is_float(dtype) -> bool:
    """Floating point, including bfloat16 (an ``ml_dtypes`` extension type, kind 'V')."""
    return dtype.kind == "f" or dtype.name == "bfloat16"


def _lowest(dtype):
    return -np.inf if _is_float(dtype) else np.iinfo(dtype).min


def _widened(fn):
    """Run an averaging kernel on 16-bit floats in float32 and round the result once
    (PyTorch accumulates half and bfloat16 in float)."""
    def run(x, *args, **kwargs):
        if _is_float(x.dtype) and x.dtype.itemsize == 2:
            return fn(x.astype(np.float32), *args, **kwargs).astype(x.dtype)
        return fn(x, *args, **kwargs)
    return run


# ---------------------------------------------------------------------------------------
# max pooling kernels

def _max_values(x, geo):
    if _separable(geo):
        return _max_separable(x, geo, False)[0]
    xp = geo.pad(x, _lowest(x.dtype))
    views = [xp[sl] for sl in geo.slices]
    if len(views) == 1:
        return views[0].copy()
    cur = np.maximum(views[0], views[1])
    for v in views[2:]:
        np.maximum(cur, v, out=cur)
    return cur


def _max_stage(cur, off, axis, sels, coefs, odt):
    """One dimension of a separable max: reduce ``cur`` along ``axis`` over the ``k``
    selections ``sels`` (slices, or index arrays for adaptive windows) and carry the flat
    in-plane offset of the chosen element: ``coefs[j]`` is the offset that choosing ``j``
    adds, ``off`` the offsets chosen by earlier (later-dimension) stages.

    Ties keep the first selection, NaN the last one, so chaining the stages from the last
    dimension to the first gives PyTorch's row-major choice over the whole window."""
    pre = (slice(None),) * axis

    def take(a, sel):
        return a[pre + (sel,)] if isinstance(sel, slice) else np.take(a, sel, axis=axis)

    views = [take(cur, sel) for sel in sels]
    m = views[0].copy()
    for v in views[1:]:
        np.maximum(m, v, out=m)
    if off is None:
        cand = [c if np.ndim(c) == 0 else np.asarray(c) for c in coefs]
    else:
        cand = [take(off, sel) + c for sel, c in zip(sels, coefs)]
    k = len(views)
    new = np.broadcast_to(cand[k - 1], m.shape).astype(odt)
    for j in range(k - 2, -1, -1):
        eq = views[j] == m
        new -= eq * (new - cand[j])
    if _is_float(m.dtype) and np.isnan(m).any():
        for j in range(k):
            nan = np.isnan(views[j])
            new[nan] = np.broadcast_to(cand[j], m.shape)[nan]
    return m, new


def _separable(geo) -> bool:
    """Reduce one dimension at a time? Pays for large kernels only: it makes
    ``sum(kernel)`` passes instead of ``prod(kernel)``, but over larger intermediates and
    with offset bookkeeping (measured: 5x5 and 3x3x3 gain, 2x2, 3x3 and 2x2x2 lose)."""
    return math.prod(geo.k) >= 2 * sum(geo.k)


def _max_separable(x, geo, want_idx):
    """Windowed max pooling one dimension at a time (last dimension first); returns the
    values and the argmax offsets relative to each window's start (or None)."""
    xp = geo.pad(x, _lowest(x.dtype))
    lead = x.ndim - geo.nd
    strides = geo.plane_strides()
    odt = np.int32 if math.prod(geo.insp) < 2 ** 31 else np.int64
    cur, off = xp, None
    for a in reversed(range(geo.nd)):
        k, s, d, o = geo.k[a], geo.s[a], geo.d[a], geo.out[a]
        sels = [slice(j * d, j * d + (o - 1) * s + 1, s) for j in range(k)]
        if not want_idx:
            pre = (slice(None),) * (lead + a)
            m = cur[pre + (sels[0],)].copy()
            for sl in sels[1:]:
                np.maximum(m, cur[pre + (sl,)], out=m)
            cur = m
            continue
        cur, off = _max_stage(cur, off, lead + a, sels,
                              [odt(j * d * strides[a]) for j in range(k)], odt)
    return cur, off


def _max_with_indices(x, geo):
    """Values and PyTorch's flat per-plane indices of windowed max pooling, and whether
    some index lies outside its window (a window wholly in the padding)."""
    low = _lowest(x.dtype)
    strides = geo.plane_strides()
    starts = geo.window_starts()
    base = _outer_sum([st * w for st, w in zip(starts, strides)])
    if _separable(geo):
        cur, off = _max_separable(x, geo, True)
        return _fix_lowest(cur, off + base, geo, low, starts, strides)
    xp = geo.pad(x, low)
    views = [xp[sl] for sl in geo.slices]
    K = len(views)
    cur = views[0].copy()
    for v in views[1:]:
        np.maximum(cur, v, out=cur)            # NaN propagates, as in PyTorch
    adt = np.int8 if K <= 127 else np.int16 if K <= 32767 else np.int32
    # the window offset of the first maximum: walk the offsets backwards, each match moves
    # the choice to the earlier offset (arithmetic instead of a masked write: much faster)
    arg = np.full(cur.shape, K - 1, dtype=adt)
    for j in range(K - 2, -1, -1):
        eq = views[j] == cur
        arg -= eq * (arg - adt(j))
    if _is_float(x.dtype):
        nan = np.isnan(cur)
        if nan.any():                          # PyTorch keeps the last NaN of a window
            for j in range(K):
                arg[np.isnan(views[j])] = j
    # flat index = window start + the offset's position; the offset index is split into
    # per-dimension offsets with small-integer arithmetic (cheaper than a table gather)
    idx = None
    rem = arg
    for i in reversed(range(geo.nd)):
        kk = geo.k[i]
        if kk == 1:
            continue
        q = rem // adt(kk)
        off = rem - q * adt(kk)
        rem = q
        term = off * np.int64(geo.d[i] * strides[i])
        idx = term + base if idx is None else np.add(idx, term, out=idx)
    if idx is None:                           # a 1x1 kernel
        idx = np.broadcast_to(base, cur.shape).copy()
    return _fix_lowest(cur, idx, geo, low, starts, strides)


def _fix_lowest(cur, idx, geo, low, starts, strides):
    """Windows whose maximum is the lowest value (all -inf, or padding): PyTorch's index is
    the window's first position inside the input."""
    low_win = cur == low
    aliased = False
    if low_win.any():
        # nothing exceeds the lowest value: PyTorch's index is the window's first position
        # inside the input (skipping left padding in steps of the dilation); for a window
        # wholly in the padding that position lies outside the input (see _drop_outside)
        firsts = [np.where(st < 0, st + (-st + dd - 1) // dd * dd, st)
                  for st, dd in zip(starts, geo.d)]
        first = _outer_sum([f * w for f, w in zip(firsts, strides)])
        idx = np.where(low_win, np.broadcast_to(first, idx.shape), idx)
        aliased = any((f >= L).any() for f, L in zip(firsts, geo.insp))
    return cur, idx, aliased


def _drop_outside(pos, total):
    """A window lying wholly in the padding (possible with dilation and ceil_mode) gets
    PyTorch's index of its first would-be position, which may lie past its plane. PyTorch
    then adds the gradient at that flat position (into the next plane); past the end of
    the input it is dropped here (PyTorch writes out of bounds). Returns the positions with
    those set to -1, and whether there were any."""
    if pos.size == 0 or pos.max() < total:
        return pos, False
    return np.where(pos >= total, -1, pos), True


def _positions(idx, lead_shape, plane_size):
    """Flat positions in an array of shape ``lead_shape + plane`` for per-plane indices
    ``idx`` of shape ``lead_shape + out``."""
    m = int(np.prod(lead_shape, dtype=np.int64))
    planes = np.arange(m, dtype=np.int64) * plane_size
    return idx + planes.reshape(tuple(lead_shape) + (1,) * (idx.ndim - len(lead_shape)))


def _scatter(g, pos, shape, unique, dropped=False):
    """Zeros of ``shape`` with ``g`` added at flat positions ``pos`` (-1: dropped)."""
    n = int(np.prod(shape, dtype=np.int64))
    out = np.zeros(n, dtype=g.dtype)
    if dropped:
        keep = pos >= 0
        pos, g = pos[keep], np.broadcast_to(g, keep.shape)[keep]
    if unique:                       # positions never repeat (non-overlapping windows)
        out[pos.reshape(-1)] = g.reshape(-1)
    else:                            # (NumPy 2's add.at beats bincount, and keeps the dtype)
        np.add.at(out, pos.reshape(-1), g.reshape(-1))
    return out.reshape(shape)


class _MaxScatter(Op):
    """The gradient of max pooling: zeros of the input's shape with ``grad`` added at the
    argmax positions. Its backward gathers at the same positions. ``names`` is the pair
    (gather's node name, scatter's node name) shared by the two."""

    def forward(self, g, pos, shape, unique, names, dropped=False):
        self.pos, self.names, self.unique, self.dropped = pos, names, unique, dropped
        return _scatter(g, pos, shape, unique, dropped)

    def backward(self, grad):
        return _MaxGather.apply(grad, pos=self.pos, unique=self.unique, names=self.names,
                                dropped=self.dropped)

    def name(self):
        return self.names[1]


class _MaxGather(Op):
    """``x.ravel()[pos]`` with ``pos``'s shape (max pooling for known argmax positions,
    and the gradient of max unpooling). Its backward scatters back."""

    def forward(self, x, pos, unique, names, dropped=False):
        self.pos, self.names, self.unique, self.dropped = pos, names, unique, dropped
        self.in_shape = x.shape
        if dropped:                               # dropped positions (-1) read 0
            return np.where(pos >= 0, np.take(x.reshape(-1), np.maximum(pos, 0)), 0)
        return np.take(x.reshape(-1), pos)

    def backward(self, grad):
        return _MaxScatter.apply(grad, pos=self.pos, shape=self.in_shape,
                                 unique=self.unique, names=self.names, dropped=self.dropped)

    def name(self):
        return self.names[0]


class _MaxPool(Op):
    """Windowed max pooling; outputs the values and (not differentiable) the indices."""

    nondiff_outputs = (1,)

    def forward(self, x, geo, name, returned):
        self.geo, self._name = geo, name
        self.in_shape = x.shape
        vals, idx, self.aliased = _max_with_indices(x, geo)
        # indices handed to the caller may be modified in place: backward keeps its own
        self.idx = idx.copy() if returned else idx
        return vals, idx

    def backward(self, grad, _):
        geo = self.geo
        lead = self.in_shape[:len(self.in_shape) - geo.nd]
        plane = int(np.prod(geo.insp, dtype=np.int64))
        pos = _positions(self.idx, lead, plane)
        dropped = False
        if geo.padded:
            pos, dropped = _drop_outside(pos, plane * math.prod(lead))
        # (aliased positions of all-padding windows may repeat: no plain assignment then)
        return _MaxScatter.apply(grad, pos=pos, shape=self.in_shape,
                                 unique=not (geo.overlap or dropped or self.aliased),
                                 names=(self._name, self._name[:-1] + "Backward0"),
                                 dropped=dropped)

    def name(self):
        return self._name


class _MaxPoolValues(Op):
    """Windowed max pooling without indices (nothing needs the gradient)."""

    def forward(self, x, geo):
        return _max_values(x, geo)


# ---------------------------------------------------------------------------------------
# average pooling kernels

def _avg_divisors(geo, count_include_pad, divisor_override):
    """PyTorch's divisor of every window (broadcastable to the output): the override, or
    the window's size clipped to the padded input (count_include_pad), or the number of
    input elements it covers."""
    if divisor_override is not None:
        return None
    sizes = []
    for L, k, s, p, o in zip(geo.insp, geo.k, geo.s, geo.p, geo.out):
        start = np.arange(o, dtype=np.int64) * s - p
        end = np.minimum(start + k, L + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, L) - np.maximum(start, 0))
    nd = len(sizes)
    div = 1
    for i, v in enumerate(sizes):
        div = div * v.reshape((-1,) + (1,) * (nd - 1 - i))
    return np.maximum(div, 1)           # an empty window sums to 0; keep it 0, not NaN


def _window_sum(x, geo):
    xp = geo.pad(x, 0)
    views = [xp[sl] for sl in geo.slices]
    s = views[0].copy() if len(views) == 1 else np.add(views[0], views[1])
    for v in views[2:]:
        np.add(s, v, out=s)
    return s


def _divide(s, div, override):
    if _is_float(s.dtype):
        if override is not None:
            s /= s.dtype.type(override)
        else:
            s /= div.astype(s.dtype)
        return s
    # integer average pooling divides with C's truncation toward zero
    d = np.int64(override) if override is not None else div
    q = s // d
    q += ((s % d) != 0) & ((s < 0) != (d < 0))
    return q


def _window_adjoint(g, geo, in_shape):
    """The adjoint of the window sum: every output's ``g`` added to all its window's input
    positions (padding dropped)."""
    shape = in_shape[:len(in_shape) - geo.nd] + geo.pshape
    buf = np.zeros(shape, dtype=g.dtype)
    if geo.overlap:
        for sl in geo.slices:
            buf[sl] += g
    else:
        for sl in geo.slices:
            buf[sl] = g
    return buf[geo.crop] if geo.padded else buf


@_widened
def _avg_forward(x, geo, override):
    return _divide(_window_sum(x, geo), geo.div, override)


@_widened
def _avg_adjoint(g, geo, override, in_shape):
    if override is not None:
        g = g / g.dtype.type(override)
    else:
        g = g / geo.div.astype(g.dtype)
    return _window_adjoint(g, geo, in_shape)


class _AvgPool(Op):
    """Windowed average pooling; its backward is ``_AvgPoolAdjoint``."""

    def forward(self, x, geo, override, name):
        self.geo, self.override, self._name = geo, override, name
        self.in_shape = x.shape
        return _avg_forward(x, geo, override)

    def backward(self, grad):
        return _AvgPoolAdjoint.apply(grad, geo=self.geo, override=self.override,
                                     in_shape=self.in_shape, name=self._name)

    def name(self):
        return self._name


class _AvgPoolAdjoint(Op):
    """The gradient of average pooling: ``grad / divisor`` spread over each window. Its
    backward is average pooling with the same windows and divisors."""

    def forward(self, g, geo, override, in_shape, name):
        self.geo, self.override, self._name = geo, override, name
        return _avg_adjoint(g, geo, override, in_shape)

    def backward(self, grad):
        return _AvgPool.apply(grad, geo=self.geo, override=self.override, name=self._name)

    def name(self):
        return self._name[:-1] + "Backward0"


# ---------------------------------------------------------------------------------------
# max pooling: public functions

def _max_pool(x, nd, fn, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    """Shared body of max_pool2d/3d (and 1d through an unsqueezed 2-d shape)."""
    shape = x._data.shape
    k, s, p, d = _parse_nd(fn, nd, kernel_size, stride, padding, dilation, avg=False)
    if x._data.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected "
                           "for input")
    return _max_pool_checked(x, nd, shape, k, s, p, d, ceil_mode, return_indices)


def _max_pool_checked(x, nd, shape, k, s, p, d, ceil_mode, return_indices,
                      spatial_from=None):
    """Compute output sizes (with PyTorch's checks) and run the op. ``shape`` is the shape
    the checks describe (1-d pooling reports an unsqueezed 2-d shape)."""
    sp = tuple(shape[-nd:])
    out = tuple(_out_size(L, kk, pp, ss, dd, ceil_mode)
                for L, kk, pp, ss, dd in zip(sp, k, p, s, d))
    _shape_checks(shape, nd, k, s, p, d, out,
                  fn3d="max_pool3d_with_indices_out_cpu_template")
    dt = x._data.dtype
    if not (_is_float(dt) or dt.kind in "iu"):
        raise NotImplementedError(f'"max_pool{nd}d" not implemented for \'{_tname(x._data)}\'')
    # 1-d pooling runs on the real (not unsqueezed) array: drop the dummy H dimension
    if spatial_from is not None:
        k, s, p, d, sp, out = (v[spatial_from:] for v in (k, s, p, d, sp, out))
    geo = _Geom(sp, k, s, p, d, out)
    need_idx = return_indices or (x._requires_grad and STATE.enabled)
    if not need_idx:
        return _MaxPoolValues.apply(x, geo=geo)
    name = f"MaxPool{len(k) if spatial_from is None else 2}DWithIndicesBackward0"
    vals, idx = _MaxPool.apply(x, geo=geo, name=name, returned=return_indices)
    return (vals, idx) if return_indices else vals


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-d max pooling over the last two dimensions of ``(N, C, H, W)`` or ``(C, H, W)``.

    Args:
        kernel_size, stride (default: kernel_size), padding (implicit -inf, at most half the
            kernel), dilation: ints or pairs.
        ceil_mode: round the output size up (the last window must start inside the input or
            the left padding).
        return_indices: also return the flat ``h * W + w`` position of each maximum
            (for ``max_unpool2d``).

    Shape: ``H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1`` (ceil in ceil mode).
    """
    _check_input(input, "max_pool2d_with_indices" if return_indices else "max_pool2d")
    return _max_pool(input, 2, "max_pool2d", kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-d max pooling over the last three dimensions of ``(N, C, D, H, W)`` or
    ``(C, D, H, W)``; arguments as in ``max_pool2d`` (ints or triples)."""
    _check_input(input, "max_pool3d_with_indices" if return_indices else "max_pool3d")
    return _max_pool(input, 3, "max_pool3d", kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-d max pooling over the last dimension of ``(N, C, L)`` or ``(C, L)``; arguments
    as in ``max_pool2d`` (ints or 1-tuples)."""
    if return_indices:
        return max_pool1d_with_indices(input, kernel_size, stride, padding, dilation,
                                       ceil_mode, True)
    _check_input(input, "max_pool1d")
    x = input._data
    if x.ndim not in (2, 3) or any(v == 0 for v in x.shape[-2:]):
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{_shape_str(x.shape)}")
    k = _int_list(kernel_size, "max_pool1d", "kernel_size", 2)
    s = _int_list(stride, "max_pool1d", "stride", 3, allow_none=True)
    p = _int_list(padding, "max_pool1d", "padding", 4)
    d = _int_list(dilation, "max_pool1d", "dilation", 5)
    pre = "max_pool1d()"
    if len(k) != 1:
        raise RuntimeError(f"{pre} kernel_size must be an int, list of ints or tuple of ints of "
                           f"size 1 but got size {len(k)}")
    if len(s) > 1:
        raise RuntimeError(f"{pre} stride must be None, an int, list of ints, or tuple of ints "
                           f"of size 1 but got size {len(s)}")
    if len(p) != 1:
        raise RuntimeError(f"{pre} padding must be an int, list of ints, or tuple of ints of "
                           f"size 1 but got size {len(p)}")
    if len(d) != 1:
        raise RuntimeError(f"{pre} dilation must be an int, list of ints or tuple of ints of "
                           f"size 1 but got size {len(d)}")
    s = s or k
    (k,), (s,), (p,), (d,) = k, s, p, d
    if k <= 0:
        raise RuntimeError(f"{pre} kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"{pre} stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"{pre} padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"{pre} padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if d <= 0:
        raise RuntimeError(f"{pre} dilation must be greater than zero, but got {d}")
    num = x.shape[-1] + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    o = num // s + 1
    if ceil_mode and (o - 1) * s >= x.shape[-1] + p:
        o -= 1
    if o <= 0:
        raise RuntimeError(f"{pre} Invalid computed output size: {o}")
    if not _is_float(x.dtype):
        raise NotImplementedError(f'"max_pool1d_impl" not implemented for \'{_tname(x)}\'')
    geo = _Geom((x.shape[-1],), (k,), (s,), (p,), (d,), (o,))
    if input._requires_grad and STATE.enabled:
        return _MaxPool.apply(input, geo=geo, name="MaxPool2DWithIndicesBackward0",
                              returned=False)[0]
    return _MaxPoolValues.apply(input, geo=geo)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """``max_pool1d`` returning ``(values, indices)``."""
    _check_input(input, "max_pool1d_with_indices")
    _check_rank_1d(input._data, "max_pool1d")
    k, s, p, d = _parse_1d_strict("max_pool1d", kernel_size, stride, padding, dilation)
    shape = input._data.shape[:-1] + (1,) + input._data.shape[-1:]
    return _max_pool_checked(input, 2, shape, (1,) + k, (1,) + s, (0,) + p, (1,) + d,
                             ceil_mode, True, spatial_from=1)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """``max_pool2d`` returning ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """``max_pool3d`` returning ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---------------------------------------------------------------------------------------
# average pooling: public functions

def _avg_pool(x, nd, shape, k, s, p, ceil_mode, count_include_pad, divisor_override,
              spatial_from=None):
    sp = tuple(shape[-nd:])
    out = tuple(_out_size(L, kk, pp, ss, 1, ceil_mode) for L, kk, pp, ss in zip(sp, k, p, s))
    _shape_checks(shape, nd, k, s, p, (1,) * nd, out, fn3d="avg_pool3d", avg3d=nd == 3)
    dt = x._data.dtype
    if (not _is_float(dt) and dt != np.int64) or (nd == 3 and dt.itemsize == 2):
        kernel = {2: "avg_pool2d", 3: "avg_pool3d_out_frame"}[nd]
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(x._data)}\'')
    if spatial_from is not None:
        k, s, p, sp, out = (v[spatial_from:] for v in (k, s, p, sp, out))
    geo = _Geom(sp, k, s, p, (1,) * len(k), out)
    geo.div = _avg_divisors(geo, count_include_pad, divisor_override)
    name = f"AvgPool{nd}DBackward0"
    return _AvgPool.apply(x, geo=geo, override=divisor_override, name=name)


def _check_divisor(divisor_override, fn):
    if divisor_override is None:
        return
    if not _is_int(divisor_override):
        raise TypeError(f"{fn}(): argument 'divisor_override' must be int, not "
                        f"{type(divisor_override).__name__}")
    if divisor_override == 0:
        raise RuntimeError("divisor must be not zero")


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-d average pooling over the last two dimensions of ``(N, C, H, W)`` or ``(C, H, W)``.

    Args:
        kernel_size, stride (default: kernel_size), padding (implicit zeros, at most half the
            kernel): ints or pairs.
        ceil_mode: round the output size up (the last window must start inside the input or
            the left padding).
        count_include_pad: divide by the window size including padding (clipped to the
            padded input) rather than the number of input elements in the window.
        divisor_override: divide by this instead.

    float and int64 inputs (int64 divides with truncation, as PyTorch).
    """
    _check_input(input, "avg_pool2d")
    k, s, p, _ = _parse_nd("avg_pool2d", 2, kernel_size, stride, padding, None, avg=True)
    _check_divisor(divisor_override, "avg_pool2d")
    shape = input._data.shape
    if len(shape) < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(len(shape), 1)}, {max(len(shape), 1) - 1}], but got -3)")
    return _avg_pool(input, 2, shape, k, s, p, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-d average pooling over the last three dimensions of ``(N, C, D, H, W)`` or
    ``(C, D, H, W)``; arguments as in ``avg_pool2d`` (ints or triples). PyTorch's extra
    rule: the unpadded input must be at least as large as the kernel."""
    _check_input(input, "avg_pool3d")
    k, s, p, _ = _parse_nd("avg_pool3d", 3, kernel_size, stride, padding, None, avg=True)
    shape = input._data.shape
    if len(shape) not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    _check_divisor(divisor_override, "avg_pool3d")
    return _avg_pool(input, 3, shape, k, s, p, ceil_mode, count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over the last dimension of ``(N, C, L)`` or ``(C, L)``;
    arguments as in ``avg_pool2d`` (ints or 1-tuples)."""
    _check_input(input, "avg_pool1d")
    _check_rank_1d(input._data, "avg_pool1d")
    k, s, p, _ = _parse_1d_strict("avg_pool1d", kernel_size, stride, padding, None)
    shape = input._data.shape[:-1] + (1,) + input._data.shape[-1:]
    return _avg_pool(input, 2, shape, (1,) + k, (1,) + s, (0,) + p, ceil_mode,
                     count_include_pad, None, spatial_from=1)


# ---------------------------------------------------------------------------------------
# max unpooling

def _unpool_size(x, k, s, p, output_size):
    """PyTorch's default unpooled size ``(in - 1) * stride + kernel - 2 * padding``, or the
    requested ``output_size`` checked to lie strictly within a stride of it."""
    nd = len(k)
    insz = x._data.shape
    default = [(insz[-nd + i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(nd)]
    if output_size is None:
        ret = default
    else:
        out = output_size
        if not hasattr(out, "__len__"):
            raise TypeError(f"object of type '{type(out).__name__}' has no len()")
        if len(out) == nd + 2:
            out = out[2:]
        if len(out) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(out)}'")
        for i in range(nd):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < out[i] < hi:
                raise ValueError(f'invalid output_size "{out}" (dim {i} must be '
                                 f"between {lo} and {hi})")
        ret = [int(v) for v in out]
    for i in range(nd):
        if ret[i] < 0:
            raise ValueError("max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{i}]={ret[i]}")
    return ret


class _MaxUnpool(Op):
    """Zeros of the unpooled shape with ``x`` written at the flat positions ``pos``. The
    backward gathers the gradient at the same positions."""

    def forward(self, x, pos, shape, name):
        self.pos, self._name = pos, name
        self.in_shape = x.shape
        out = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=x.dtype)
        out[pos.reshape(-1)] = x.reshape(-1)
        return out.reshape(shape)

    def backward(self, grad):
        # repeated indices: every input still reads its position (as PyTorch's gather)
        return _MaxGather.apply(grad, pos=self.pos, unique=False,
                                names=(self._name[:-1] + "Backward0", self._name))

    def name(self):
        return self._name


def _max_unpool(input, indices, nd, out_sp, squeeze_last=False):
    """Max unpooling on ``nd`` trailing dims (after 1-d's unsqueeze to 2-d)."""
    fn = f"max_unpooling{nd}d"
    x, idx = input._data, indices._data
    if squeeze_last:                     # 1-d: PyTorch unsqueezes a trailing W = 1
        x_shape, i_shape = x.shape + (1,), idx.shape + (1,)
    else:
        x_shape, i_shape = x.shape, idx.shape
    if idx.dtype != np.int64:
        extra = f" but got: {_tname(idx)}" if nd == 2 else ""
        raise RuntimeError(f"elements in indices should be type int64{extra}")
    if len(x_shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to {fn} should be a {nd + 1}d or {nd + 2}d Tensor, but got a "
                           f"tensor with {len(x_shape)} dimensions.")
    if x_shape != i_shape:
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor "
                           f"({_shape_str(x_shape)}) but got indices tensor with shape: "
                           f"{_shape_str(i_shape)}")
    for i in range(len(x_shape) - nd - 1, len(x_shape)):
        if x_shape[i] == 0:
            raise RuntimeError(f"{fn}_forward_out_cpu(): Expected input to have non-zero size "
                               f"for non-batch dimensions, but got {_shape_str(x_shape)} with "
                               f"dimension {i} being empty.")
    if not _is_float(x.dtype):
        raise NotImplementedError(f'"max_unpool{nd}d" not implemented for \'{_tname(x)}\'')
    plane = int(np.prod(out_sp, dtype=np.int64))
    bad = (idx < 0) | (idx >= plane)
    if bad.any():
        # PyTorch reports the last invalid index it met (in a serial run)
        first = idx.reshape(-1)[bad.size - 1 - np.argmax(bad.reshape(-1)[::-1])]
        raise RuntimeError(f"Found an invalid max index: {first} (output volumes are of size "
                           f"{'x'.join(map(str, out_sp))})")
    lead = x.shape[:x.ndim - (nd - (1 if squeeze_last else 0))]
    real_sp = tuple(out_sp[:-1]) if squeeze_last else tuple(out_sp)
    pos = _positions(idx, lead, plane)
    return _MaxUnpool.apply(input, pos=pos, shape=lead + real_sp,
                            name=f"MaxUnpool{nd}DBackward0")


def _unpool_args(fn, nd, kernel_size, stride, padding):
    k = _expand(_int_list(kernel_size, fn, "kernel_size", 3), nd)
    s = _expand(_int_list(stride, fn, "stride", 4), nd) if stride is not None else k
    p = _expand(_int_list(padding, fn, "padding", 5), nd)
    return k, s, p


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool1d``: put each value at its index (a position in the
    unpooled length), zeros elsewhere. ``output_size`` picks among the lengths that pool to
    the input's size."""
    _check_input(input, "max_unpool1d")
    k, s, p = _unpool_args("max_unpool1d", 1, kernel_size, stride, padding)
    out = _unpool_size(input, k, s, p, output_size)
    return _max_unpool(input, indices, 2, tuple(out) + (1,), squeeze_last=True)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool2d``: put each value at its flat ``h * W + w`` index,
    zeros elsewhere. Default size ``(H_in - 1) * stride - 2 * padding + kernel_size``;
    ``output_size`` (2 or 4 entries) picks another size within a stride of it."""
    _check_input(input, "max_unpool2d")
    k, s, p = _unpool_args("max_unpool2d", 2, kernel_size, stride, padding)
    out = _unpool_size(input, k, s, p, output_size)
    return _max_unpool(input, indices, 2, tuple(out))


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool3d`` (see ``max_unpool2d``)."""
    _check_input(input, "max_unpool3d")
    k, s, p = _unpool_args("max_unpool3d", 3, kernel_size, stride, padding)
    out = _unpool_size(input, k, s, p, output_size)
    return _max_unpool(input, indices, 3, tuple(out))


# ---------------------------------------------------------------------------------------
# adaptive pooling

def _adaptive_windows(L, o):
    """PyTorch's adaptive windows: ``start = floor(i*L/o)``, ``end = ceil((i+1)*L/o)``."""
    i = np.arange(o, dtype=np.int64)
    return (i * L) // o, -((-(i + 1) * L) // o)


def _avg_matrix(L, o, dtype):
    starts, ends = _adaptive_windows(L, o)
    j = np.arange(L)
    inside = (j >= starts[:, None]) & (j < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(dtype)


def _strided_axis_sum(x, axis, k):
    """Sum of groups of ``k`` consecutive entries along ``axis`` (size divisible by k)."""
    if k <= 16:
        pre = (slice(None),) * axis
        s = x[pre + (slice(0, None, k),)].copy()
        for j in range(1, k):
            s += x[pre + (slice(j, None, k),)]
        return s
    shape = x.shape[:axis] + (x.shape[axis] // k, k) + x.shape[axis + 1:]
    return x.reshape(shape).sum(axis=axis + 1)


@_widened
def _adaptive_avg_np(x, insp, outsp, adjoint=False):
    """Adaptive average pooling (or its adjoint) as one linear map per pooled dimension."""
    nd = len(insp)
    lead = x.ndim - nd
    x0 = x
    for a in range(nd):
        axis = lead + a
        L, o = insp[a], outsp[a]
        if L == o:
            continue
        if o > 0 and L % o == 0:
            k = L // o
            if not adjoint:
                x = _strided_axis_sum(x, axis, k)
                x /= x.dtype.type(k)
            else:
                x = np.repeat(x / x.dtype.type(k), k, axis=axis)
        else:
            A = _avg_matrix(L, o, x.dtype)
            m = A if adjoint else A.T                 # (in, out) to apply on the last axis
            x = np.moveaxis(np.matmul(np.moveaxis(x, axis, -1), m), -1, axis)
    return np.array(x, order="C", copy=True) if x is x0 else np.ascontiguousarray(x)


class _AdaptiveAvgPool(Op):
    """Adaptive average pooling; its backward is the adjoint map, whose backward is this."""

    def forward(self, x, insp, outsp, name, adjoint=False):
        self.insp, self.outsp, self._name, self.adjoint = insp, outsp, name, adjoint
        return _adaptive_avg_np(x, insp, outsp, adjoint)

    def backward(self, grad):
        return _AdaptiveAvgPool.apply(grad, insp=self.insp, outsp=self.outsp, name=self._name,
                                      adjoint=not self.adjoint)

    def name(self):
        return self._name if not self.adjoint else self._name[:-1] + "Backward0"


def _adaptive_max_np(x, insp, outsp):
    """Adaptive max pooling one dimension at a time (last first, as ``_max_stage``); the
    windows of a dimension are gathered as ``max_window`` index columns, short windows
    repeating their last element. Returns the values and PyTorch's flat per-plane indices
    (first maximum in window order, last NaN)."""
    nd = len(insp)
    lead = x.ndim - nd
    strides = [math.prod(insp[i + 1:]) for i in range(nd)]
    odt = np.int32 if math.prod(insp) < 2 ** 31 else np.int64
    cur, off = x, None
    for a in reversed(range(nd)):
        L, o = insp[a], outsp[a]
        starts, ends = _adaptive_windows(L, o)
        kmax = int((ends - starts).max())
        cols = np.minimum(starts[:, None] + np.arange(kmax), ends[:, None] - 1)
        trail = (1,) * (nd - 1 - a)
        sels = [cols[:, j] for j in range(kmax)]
        coefs = [(c * strides[a]).astype(odt).reshape((o,) + trail) for c in sels]
        cur, off = _max_stage(cur, off, lead + a, sels, coefs, odt)
    return cur, off.astype(np.int64)


class _AdaptiveMaxPool(Op):
    """Adaptive max pooling; outputs values and (not differentiable) indices."""

    nondiff_outputs = (1,)

    def forward(self, x, insp, outsp, name, returned):
        self.insp, self._name = insp, name
        self.in_shape = x.shape
        if 0 in outsp:
            vals = np.zeros(x.shape[:x.ndim - len(insp)] + tuple(outsp), dtype=x.dtype)
            idx = np.zeros(vals.shape, dtype=np.int64)
            self.unique = True
        elif all(L % o == 0 for L, o in zip(insp, outsp)):
            # uniform windows: plain max pooling with kernel = stride = in / out
            k = tuple(L // o for L, o in zip(insp, outsp))
            geo = _Geom(insp, k, k, (0,) * len(k), (1,) * len(k), tuple(outsp))
            vals, idx, _ = _max_with_indices(x, geo)
            self.unique = True
        else:
            vals, idx = _adaptive_max_np(x, insp, outsp)
            self.unique = False
        self.idx = idx.copy() if returned else idx
        return vals, idx

    def backward(self, grad, _):
        nd = len(self.insp)
        lead = self.in_shape[:len(self.in_shape) - nd]
        pos = _positions(self.idx, lead, int(np.prod(self.insp, dtype=np.int64)))
        return _MaxScatter.apply(grad, pos=pos, shape=self.in_shape, unique=self.unique,
                                 names=(self._name, self._name[:-1] + "Backward0"))

    def name(self):
        return self._name


def _list_with_default(out_size, defaults):
    """PyTorch's Python-level handling of ``output_size`` (None entries keep the input's
    size)."""
    if _is_int(out_size):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d for v, d in zip(out_size, defaults[-len(out_size):])]


def _adaptive_sizes(output_size, nd, fn, kind):
    """The output size as an nd-tuple (after ``_list_with_default``)."""
    if _is_int(output_size):
        vals = (int(output_size),) * nd
    else:
        vals = tuple(output_size)
        if len(vals) != nd:
            if kind == "avg":
                raise RuntimeError(f"{fn}: output_size must be {nd}")
            raise RuntimeError(f"{fn}(): internal error: output_size.size() must be {nd}")
        if not all(_is_int(v) for v in vals):
            raise TypeError(f"{fn}(): argument 'output_size' must be tuple of ints, not "
                            f"{type(output_size).__name__}")
    return tuple(int(v) for v in vals)


def _adaptive_avg(input, nd, output_size, fn, report_shape=None, spatial_from=None):
    x = input._data
    outsp = _adaptive_sizes(output_size, nd, fn, "avg")
    if any(o < 0 for o in outsp):
        got = ", ".join(map(str, outsp)) if nd == 2 else (f"{outsp[0]}, {outsp[1]},"
                                                         f"{outsp[2]}")
        raise RuntimeError(f"{fn}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{got}}}")
    shape = report_shape or x.shape
    real_nd = nd if spatial_from is None else nd - spatial_from
    real_out = outsp if spatial_from is None else outsp[spatial_from:]
    if all(o == 1 for o in outsp):
        # global pooling is a plain mean over the pooled dims (also PyTorch's path)
        return input.mean(dim=tuple(range(-real_nd, 0)), keepdim=True)
    if len(shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{_shape_str(shape)}")
    for i in range(1, len(shape)):
        if shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {_shape_str(shape)} with "
                               f"dimension {i} being empty")
    if not _is_float(x.dtype):
        kernel = fn if nd == 2 else "adaptive_avg_pool3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(x)}\'')
    insp = x.shape[x.ndim - real_nd:]
    return _AdaptiveAvgPool.apply(input, insp=tuple(insp), outsp=tuple(real_out),
                                  name=f"AdaptiveAvgPool{nd}DBackward0")


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-d adaptive average pooling to ``output_size`` (an int, or a pair whose None entries
    keep the input's size). Output ``(i, j)`` averages rows ``floor(i*H/oH)`` to
    ``ceil((i+1)*H/oH) - 1`` and likewise for columns."""
    _check_input(input, "adaptive_avg_pool2d")
    output_size = _list_with_default(output_size, input._data.shape)
    return _adaptive_avg(input, 2, output_size, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """3-d adaptive average pooling (see ``adaptive_avg_pool2d``)."""
    _check_input(input, "adaptive_avg_pool3d")
    output_size = _list_with_default(output_size, input._data.shape)
    return _adaptive_avg(input, 3, output_size, "adaptive_avg_pool3d")


def _adaptive_1d_size(output_size, fn):
    t = _int_list(output_size, fn, "output_size", 2)
    if len(t) != 1:
        raise RuntimeError(f"{fn}() argument 'output_size' should contain one int "
                           f"(got {len(t)})")
    return t[0]


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-d adaptive average pooling over the last dimension of ``(N, C, L)`` or
    ``(C, L)``."""
    _check_input(input, "adaptive_avg_pool1d")
    o = _adaptive_1d_size(output_size, "adaptive_avg_pool1d")
    _check_rank_1d(input._data, "adaptive_avg_pool1d")
    shape = input._data.shape[:-1] + (1,) + input._data.shape[-1:]
    return _adaptive_avg(input, 2, (1, o), "adaptive_avg_pool2d", report_shape=shape,
                         spatial_from=1)


def _adaptive_max(input, nd, output_size, fn, return_indices, report_shape=None,
                  spatial_from=None, name_nd=None):
    x = input._data
    outsp = _adaptive_sizes(output_size, nd, fn, "max")
    shape = report_shape or x.shape
    if len(shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{_shape_str(shape)}")
    for i in range(1, len(shape)):
        if shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {_shape_str(shape)} with "
                               f"dimension {i} being empty")
    for o in outsp:
        if o < 0:
            full = tuple(shape[:len(shape) - nd]) + outsp
            raise RuntimeError(f"Trying to create tensor with negative dimension {o}: "
                               f"{_shape_str(full)}")
    if not _is_float(x.dtype):
        raise NotImplementedError(f'"{fn}" not implemented for \'{_tname(x)}\'')
    real_nd = nd if spatial_from is None else nd - spatial_from
    real_out = outsp if spatial_from is None else outsp[spatial_from:]
    insp = tuple(x.shape[x.ndim - real_nd:])
    vals, idx = _AdaptiveMaxPool.apply(input, insp=insp, outsp=tuple(real_out),
                                       name=f"AdaptiveMaxPool{name_nd or nd}DBackward0",
                                       returned=return_indices)
    return (vals, idx) if return_indices else vals


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """2-d adaptive max pooling to ``output_size`` (windows as in ``adaptive_avg_pool2d``);
    with ``return_indices`` also the flat ``h * W + w`` position of each maximum."""
    _check_input(input, "adaptive_max_pool2d")
    output_size = _list_with_default(output_size, input._data.shape)
    return _adaptive_max(input, 2, output_size, "adaptive_max_pool2d", return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """3-d adaptive max pooling (see ``adaptive_max_pool2d``)."""
    _check_input(input, "adaptive_max_pool3d")
    output_size = _list_with_default(output_size, input._data.shape)
    return _adaptive_max(input, 3, output_size, "adaptive_max_pool3d", return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-d adaptive max pooling over the last dimension of ``(N, C, L)`` or ``(C, L)``."""
    _check_input(input, "adaptive_max_pool1d")
    o = _adaptive_1d_size(output_size, "adaptive_max_pool1d")
    _check_rank_1d(input._data, "adaptive_max_pool1d")
    x = input._data
    if any(v == 0 for v in x.shape[1:]):
        i = next(i for i in range(1, x.ndim) if x.shape[i] == 0)
        raise RuntimeError("adaptive_max_pool1d(): Expected input to have non-zero size for "
                           f"non-batch dimensions, but input has sizes {_shape_str(x.shape)} "
                           f"with dimension {i} being empty")
    shape = x.shape[:-1] + (1,) + x.shape[-1:]
    return _adaptive_max(input, 2, (1, o), "adaptive_max_pool2d", return_indices,
                         report_shape=shape, spatial_from=1, name_nd=2)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool1d`` returning ``(values, indices)``."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool2d`` returning ``(values, indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """``adaptive_max_pool3d`` returning ``(values, indices)``."""
    return adaptive_max_pool3d(input, output_size, True)


# ---------------------------------------------------------------------------------------
# power-average pooling

def _relu(t):
    # where() passes the gradient only where t > 0, like relu's backward: an all-zero
    # window (0 * inf from the root's derivative) then gets a zero gradient, not NaN
    from .elementwise import where
    return where(t > 0, t, 0)


def _lp_pool(input, nd, norm_type, kernel_size, stride, ceil_mode, max_fn, avg_fn):
    from .elementwise import abs as _abs, sign as _sign
    ks = kernel_size if not _is_int(kernel_size) else (kernel_size,) * nd
    if isinstance(norm_type, (int, float)):
        if norm_type == math.inf:
            return max_fn(_abs(input), kernel_size, stride, 0, 1, ceil_mode)
        if norm_type == -math.inf:
            return -max_fn(-_abs(input), kernel_size, stride, 0, 1, ceil_mode)
    if stride is not None:
        out = avg_fn(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg_fn(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    size = math.prod(ks)
    return (_sign(out) * _relu(_abs(out))).mul(size).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False):
    """1-d power-average pooling: ``(sum over the window of x**p) ** (1/p)``, computed as
    PyTorch does from ``avg_pool1d(x**p) * kernel_size`` (``p = inf`` is max pooling of
    ``|x|``). An all-zero window gets a zero gradient."""
    _check_input(input, "lp_pool1d")
    return _lp_pool(input, 1, norm_type, kernel_size, stride, ceil_mode, max_pool1d, avg_pool1d)


def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False):
    """2-d power-average pooling (see ``lp_pool1d``)."""
    _check_input(input, "lp_pool2d")
    return _lp_pool(input, 2, norm_type, kernel_size, stride, ceil_mode, max_pool2d, avg_pool2d)


def lp_pool3d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False):
    """3-d power-average pooling (see ``lp_pool1d``)."""
    _check_input(input, "lp_pool3d")
    return _lp_pool(input, 3, norm_type, kernel_size, stride, ceil_mode, max_pool3d, avg_pool3d)
