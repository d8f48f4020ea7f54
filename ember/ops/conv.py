"""Convolutions: ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``, ``unfold`` and ``fold``.

Three primitives carry every convolution, for any number of spatial dimensions:

* ``Convolution(x, w[, b])``: ``y[n, o, p] = sum_{c, k} w[o, c, k] * x_pad[n, c, p*s + k*d]``,
  computed as im2col (the padded input's patches copied into a (G, C/G * prod(K), N * P)
  array) followed by one GEMM per group: groups are the batch dimension of ``np.matmul``,
  and the batch joins the GEMM's columns, so each BLAS call is large.
* ``ConvTranspose(x, w[, b])``: the adjoint of ``Convolution`` with respect to its input: one
  GEMM producing columns, then col2im, a scatter-add of the columns into the output done as
  one vectorised strided add per kernel offset (``prod(kernel_size)`` NumPy calls, each over
  the whole batch).
* ``ConvWeight(x, g)``: the gradient of ``Convolution`` with respect to its weight,
  ``gw[o, c, k] = sum_{n, p} g[n, o, p] * x_pad[n, c, p*s + k*d]`` (im2col again and a GEMM).

The three are closed under differentiation: each one's backward is written with the others
(``Convolution``'s input gradient is a ``ConvTranspose``, its weight gradient a
``ConvWeight``; ``ConvTranspose``'s are a ``Convolution`` and a ``ConvWeight``;
``ConvWeight``'s are a ``ConvTranspose`` and a ``Convolution``), so derivatives of any order
work and stay fast.

Padding is held per spatial dimension as a ``(lo, hi)`` pair, so that ``padding='same'``
with an even kernel can pad more on the right, as PyTorch does, and so that a transposed
convolution's ``output_padding`` is simply a smaller (possibly negative) ``hi``.

``Im2Col`` and ``Col2Im`` (``unfold`` and ``fold``) are the adjoint pair of the column
transforms alone. ``ModePad`` implements the non-zero ``padding_mode``s of the
convolution layers (reflect, replicate, circular) with its adjoint as backward.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from ._op import Op

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]

# PyTorch's legacy scalar type names, used in its dtype error messages
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
                 "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                 "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}


# Columns up to this size are kept from a convolution's forward for its weight gradient;
# larger ones are rebuilt in backward rather than held in memory for the graph's lifetime.
_KEEP_COLS_BYTES = 1 << 28


def _prod(values) -> int:
    n = 1
    for v in values:
        n *= v
    return n


# ---------------------------------------------------------------------------------------
# NumPy kernels

def _pad_zero(x: np.ndarray, pads) -> np.ndarray:
    """``x`` (N, C, *S) zero-padded by ``pads`` ((lo, hi) per spatial dim). A negative ``lo``
    crops; a negative ``hi`` is left alone (the caller's window count never reaches it)."""
    if all(lo <= 0 and hi <= 0 for lo, hi in pads):
        if all(lo == 0 for lo, _ in pads):
            return x
        return x[(slice(None), slice(None)) + tuple(slice(-lo, None) for lo, _ in pads)]
    src = [slice(None), slice(None)]
    dst = [slice(None), slice(None)]
    shape = list(x.shape[:2])
    for (lo, hi), n in zip(pads, x.shape[2:]):
        cut = max(-lo, 0)
        lo, hi = max(lo, 0), max(hi, 0)
        src.append(slice(cut, None))
        shape.append(lo + n - cut + hi)
        dst.append(slice(lo, lo + n - cut))
    out = np.zeros(shape, dtype=x.dtype)
    out[tuple(dst)] = x[tuple(src)]
    return out


def _im2col(x: np.ndarray, pads, ksize, stride, dilation, groups, out_sp,
            batch_first=False) -> np.ndarray:
    """The columns of ``x`` (N, C, *S): the zero-padded patch that each output position
    sees, as a contiguous array.

    Layouts: (G, C/G * prod(K), N * prod(out_sp)) for the convolution GEMMs, where the batch
    sits in the GEMM's columns (not in a batch dimension of the product) so that each group
    is one large BLAS call (many small calls parallelise badly); with ``batch_first``,
    (N, C * prod(K), prod(out_sp)), the layout of ``unfold``.

    Filled with one strided copy per kernel offset: measured faster than a single copy of
    the equivalent many-dimensional strided view, whose innermost runs are short."""
    xp = _pad_zero(x, pads)
    n, c = xp.shape[:2]
    nd = len(ksize)
    kk, p = _prod(ksize), _prod(out_sp)
    if batch_first:
        src = xp.reshape((n, 1, c) + xp.shape[2:])              # (N, 1, C, *Sp)
        cols = np.empty((n, 1, c) + tuple(ksize) + tuple(out_sp), dtype=x.dtype)
    else:
        src = xp.swapaxes(0, 1).reshape((groups, c // groups, n) + xp.shape[2:])
        cols = np.empty((groups, c // groups) + tuple(ksize) + (n,) + tuple(out_sp),
                        dtype=x.dtype)
    if n * c * p >= 2048 or kk == 1:
        whole = (slice(None),) * 3
        for k in itertools.product(*map(range, ksize)):
            win = tuple(slice(ki * d, ki * d + (o - 1) * st + 1, st)
                        for ki, d, o, st in zip(k, dilation, out_sp, stride))
            if batch_first:
                cols[whole + k] = src[whole + win]
            else:
                cols[whole[:2] + k] = src[whole + win]
    else:                                     # tiny: one copy of a strided view is cheaper
        strides = src.strides
        sp = strides[3:]
        view = as_strided(src, src.shape[:3] + tuple(ksize) + tuple(out_sp),
                          strides[:3] + tuple(s * d for s, d in zip(sp, dilation))
                          + tuple(s * st for s, st in zip(sp, stride)), writeable=False)
        if not batch_first:
            view = view.transpose((0, 1) + tuple(range(3, 3 + nd)) + (2,)
                                  + tuple(range(3 + nd, 3 + 2 * nd)))
        cols[...] = view
    if batch_first:
        return cols.reshape(n, c * kk, p)
    return cols.reshape(groups, c // groups * kk, n * p)


def _col2im(cols: np.ndarray, ksize, stride, dilation, lo, out_sp) -> np.ndarray:
    """Scatter-add columns ``cols`` (A, B, *K, *I), any strides, into a new (A, B, *out_sp)
    array: entry (k, p) lands at ``k*d + p*s - lo`` in each spatial dimension (dropped
    when outside).

    One strided, vectorised add per kernel offset: within an offset the scatter has no
    collisions, so plain slicing replaces ``np.add.at`` (which is many times slower)."""
    nd = len(ksize)
    in_sp = cols.shape[2 + nd:]
    out = np.zeros(cols.shape[:2] + tuple(out_sp), dtype=cols.dtype)
    # the valid range of p for each offset, per dimension
    ranges = []
    for i in range(nd):
        per_k = []
        s, length = stride[i], out_sp[i]
        for k in range(ksize[i]):
            off = k * dilation[i] - lo[i]                     # where p = 0 lands
            p0 = 0 if off >= 0 else (-off + s - 1) // s
            p1 = min(in_sp[i], (length - off + s - 1) // s) if length > off else 0
            if p1 > p0:
                per_k.append((k, slice(p0, p1),
                              slice(off + p0 * s, off + (p1 - 1) * s + 1, s)))
        ranges.append(per_k)
    whole = (slice(None), slice(None))
    for combo in itertools.product(*ranges):
        src = whole + tuple(r[0] for r in combo) + tuple(r[1] for r in combo)
        dst = whole + tuple(r[2] for r in combo)
        out[dst] += cols[src]
    return out


def _to_batch_first(y: np.ndarray, bias=None) -> np.ndarray:
    """(C, N, ...) -> contiguous (N, C, ...), adding ``bias`` (C,) in the same pass."""
    yt = y.swapaxes(0, 1)
    out = np.empty(yt.shape, dtype=y.dtype)
    if bias is None:
        np.copyto(out, yt)
    else:
        np.add(yt, bias.reshape(_bias_shape(y.ndim - 2)), out=out)
    return out


def _channels_first(x: np.ndarray, groups) -> np.ndarray:
    """(N, C, *S) -> contiguous (G, C/G, N * prod(S)): the batch joins the GEMM columns."""
    n, c = x.shape[:2]
    return np.ascontiguousarray(x.swapaxes(0, 1)).reshape(groups, c // groups,
                                                          n * _prod(x.shape[2:]))


def _conv_out_size(in_sp, pads, ksize, stride, dilation):
    return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                 for n, (lo, hi), k, s, d in zip(in_sp, pads, ksize, stride, dilation))


def _full_size(in_sp, ksize, stride, dilation):
    """The length a transposed convolution covers before cropping."""
    return tuple((n - 1) * s + d * (k - 1) + 1
                 for n, k, s, d in zip(in_sp, ksize, stride, dilation))


def _bias_shape(nd):
    return (-1,) + (1,) * nd


# ---------------------------------------------------------------------------------------
# Primitives

class _ConvBase(Op):
    save_inputs = (0, 1)

    def name(self):
        return "ConvolutionBackward0"

    def _transpose_crop(self, in_sp, out_sp, ksize):
        """The ``(lo, hi)`` crop with which the transposed convolution of an (..., *out_sp)
        array gives back (..., *in_sp): the adjoint of this convolution."""
        full = _full_size(out_sp, ksize, self.stride, self.dilation)
        return tuple((lo, f - lo - n) for (lo, _), f, n in zip(self.pads, full, in_sp))


class Convolution(_ConvBase):
    """``y = conv(x, w) + b`` (see the module docstring); ``pads`` are (lo, hi) pairs."""

    _cols = None

    def forward(self, x, w, b=None, *, stride, dilation, pads, groups, keep_cols=False):
        self.stride, self.dilation, self.pads, self.groups = stride, dilation, pads, groups
        self.has_bias = b is not None
        n, c_out, ksize = x.shape[0], w.shape[0], w.shape[2:]
        out_sp = _conv_out_size(x.shape[2:], pads, ksize, stride, dilation)
        cols = _im2col(x, pads, ksize, stride, dilation, groups, out_sp)
        if keep_cols and cols.nbytes <= _KEEP_COLS_BYTES:
            # the weight gradient needs these same columns: keeping them (as PyTorch's
            # im2col convolution kept its "finput") saves building them again in backward
            self._cols = cols
        y = np.matmul(w.reshape(groups, c_out // groups, -1), cols)    # (G, Og, N * P)
        return _to_batch_first(y.reshape((c_out, n) + out_sp), b)

    def backward(self, grad):
        x, w = self.saved_tensors
        needs = self.needs_input_grad
        if grad._data.dtype.kind == "c":           # holomorphic: conjugate the other factor
            x, w = x.conj(), w.conj()
        nd = len(self.stride)
        ksize = w._data.shape[2:]
        gx = gw = gb = None
        if needs[0]:
            crop = self._transpose_crop(x._data.shape[2:], grad._data.shape[2:], ksize)
            gx = ConvTranspose.apply(grad, w, stride=self.stride, dilation=self.dilation,
                                     crop=crop, groups=self.groups)
        if needs[1]:
            cols = self._cols if grad._data.dtype.kind != "c" else None
            gw = ConvWeight.apply(x, grad, stride=self.stride, dilation=self.dilation,
                                  pads=self.pads, groups=self.groups, ksize=ksize, cols=cols)
        if self.has_bias:
            if needs[2]:
                gb = grad.sum((0,) + tuple(range(2, 2 + nd)))
            return gx, gw, gb
        return gx, gw

    def _release(self):
        super()._release()
        self._cols = None


class ConvTranspose(_ConvBase):
    """``y = conv_transpose(x, w) + b``: the full-size transposed convolution cropped by
    ``crop`` ((lo, hi) per dim; a negative ``hi`` appends zeros, PyTorch's output_padding).
    The weight is (C_in, C_out / groups, *K)."""

    def forward(self, x, w, b=None, *, stride, dilation, crop, groups):
        self.stride, self.dilation, self.pads, self.groups = stride, dilation, crop, groups
        self.has_bias = b is not None
        nd = len(stride)
        n, c_in = x.shape[:2]
        in_sp, ksize = x.shape[2:], w.shape[2:]
        cg, og = c_in // groups, w.shape[1]
        # columns (G, Og * prod(K), N * prod(I)) = w^T @ x, one GEMM per group
        wt = w.reshape(groups, cg, og * _prod(ksize)).transpose(0, 2, 1)
        xc = _channels_first(x, groups)
        # one input channel per group (depthwise): an outer product, which NumPy's matmul
        # does many times slower than a broadcast multiply
        cols = wt * xc if cg == 1 else np.matmul(wt, xc)
        cols = cols.reshape((groups * og,) + tuple(ksize) + (n,) + tuple(in_sp))
        # viewed as (C_out, N, *K, *I) for the scatter into a (C_out, N, *out) array
        cols = cols.transpose((0, nd + 1) + tuple(range(1, nd + 1))
                              + tuple(range(nd + 2, 2 * nd + 2)))
        full = _full_size(in_sp, ksize, stride, dilation)
        out_sp = tuple(f - lo - hi for f, (lo, hi) in zip(full, crop))
        y = _col2im(cols, ksize, stride, dilation, [lo for lo, _ in crop], out_sp)
        return _to_batch_first(y, b)

    def backward(self, grad):
        x, w = self.saved_tensors
        needs = self.needs_input_grad
        if grad._data.dtype.kind == "c":
            x, w = x.conj(), w.conj()
        nd = len(self.stride)
        gx = gw = gb = None
        if needs[0]:
            gx = Convolution.apply(grad, w, stride=self.stride, dilation=self.dilation,
                                   pads=self.pads, groups=self.groups)
        if needs[1]:
            gw = ConvWeight.apply(grad, x, stride=self.stride, dilation=self.dilation,
                                  pads=self.pads, groups=self.groups,
                                  ksize=w._data.shape[2:])
        if self.has_bias:
            if needs[2]:
                gb = grad.sum((0,) + tuple(range(2, 2 + nd)))
            return gx, gw, gb
        return gx, gw


class ConvWeight(_ConvBase):
    """The weight gradient of ``Convolution``: ``gw[o, c, k] = sum_{n,p} g[n, o, p] *
    x_pad[n, c, p*s + k*d]`` for ``x`` (N, C, *S) and ``g`` (N, O, *out); gw is
    (O, C / groups, *ksize)."""

    def forward(self, x, g, *, stride, dilation, pads, groups, ksize, cols=None):
        self.stride, self.dilation, self.pads, self.groups = stride, dilation, pads, groups
        c = x.shape[1]
        o, out_sp = g.shape[1], g.shape[2:]
        if cols is None:
            cols = _im2col(x, pads, ksize, stride, dilation, groups, out_sp)
        # one GEMM per group, reducing over the batch and the output positions together
        gw = np.matmul(cols, _channels_first(g, groups).transpose(0, 2, 1)).transpose(0, 2, 1)
        return gw.reshape((o, c // groups) + tuple(ksize))

    def backward(self, grad):
        x, g = self.saved_tensors
        needs = self.needs_input_grad
        if grad._data.dtype.kind == "c":
            x, g = x.conj(), g.conj()
        gx = gg = None
        if needs[0]:
            crop = self._transpose_crop(x._data.shape[2:], g._data.shape[2:],
                                        grad._data.shape[2:])
            gx = ConvTranspose.apply(g, grad, stride=self.stride, dilation=self.dilation,
                                     crop=crop, groups=self.groups)
        if needs[1]:
            gg = Convolution.apply(x, grad, stride=self.stride, dilation=self.dilation,
                                   pads=self.pads, groups=self.groups)
        return gx, gg

    def name(self):
        return "ConvolutionBackwardBackward0"


class Im2Col(Op):
    """``unfold``: (N, C, *S) -> (N, C * prod(K), L) patches."""

    def forward(self, x, *, ksize, stride, dilation, pads):
        self.params = dict(ksize=ksize, stride=stride, dilation=dilation, pads=pads)
        self.in_sp = x.shape[2:]
        out_sp = _conv_out_size(x.shape[2:], pads, ksize, stride, dilation)
        self.blocks = out_sp
        return _im2col(x, pads, ksize, stride, dilation, 1, out_sp, batch_first=True)

    def backward(self, grad):
        return Col2Im.apply(grad, out_sp=self.in_sp, blocks=self.blocks, **self.params)


class Col2Im(Op):
    """``fold``: (N, C * prod(K), L) -> (N, C, *out_sp), summing overlapping patches."""

    def forward(self, cols, *, out_sp, blocks, ksize, stride, dilation, pads):
        self.params = dict(ksize=ksize, stride=stride, dilation=dilation, pads=pads)
        n, ckk = cols.shape[:2]
        c = ckk // _prod(ksize)
        cols = cols.reshape((n, c) + tuple(ksize) + tuple(blocks))
        return _col2im(cols, ksize, stride, dilation, [lo for lo, _ in pads], out_sp)

    def backward(self, grad):
        return Im2Col.apply(grad, **self.params)


class ModePad(Op):
    """Pad the trailing ``len(pads)`` dimensions with NumPy's ``reflect``/``edge``/``wrap``
    modes (PyTorch's reflect/replicate/circular). Backward: ``ModePadBackward``, the
    adjoint, which folds the padded borders back onto the positions they copy."""

    def forward(self, x, *, pads, mode):
        self.pads, self.mode, self.in_sp = pads, mode, x.shape[x.ndim - len(pads):]
        width = [(0, 0)] * (x.ndim - len(pads)) + list(pads)
        return np.pad(x, width, mode=mode)

    def backward(self, grad):
        return ModePadBackward.apply(grad, pads=self.pads, mode=self.mode, in_sp=self.in_sp)

    def name(self):
        return {"reflect": "ReflectionPad", "edge": "ReplicationPad",
                "wrap": "CircularPad"}[self.mode] + f"{len(self.pads)}DBackward0"


class ModePadBackward(Op):
    """The adjoint of ``ModePad``: every padded position's value is added to the input
    position it was copied from (one dimension at a time; ``np.add.at`` for the borders,
    which may repeat a source position, as 'edge' does)."""

    def forward(self, g, *, pads, mode, in_sp):
        self.pads, self.mode = pads, mode
        lead = g.ndim - len(pads)
        for i, ((lo, hi), n) in enumerate(zip(pads, in_sp)):
            ax = lead + i
            source = np.pad(np.arange(n), (lo, hi), mode=mode)
            gm = np.moveaxis(g, ax, 0)
            r = gm[lo:lo + n].copy()
            if lo:
                np.add.at(r, source[:lo], gm[:lo])
            if hi:
                np.add.at(r, source[lo + n:], gm[lo + n:])
            g = np.moveaxis(r, 0, ax)
        return np.ascontiguousarray(g)

    def backward(self, grad):
        return ModePad.apply(grad, pads=self.pads, mode=self.mode)


# ---------------------------------------------------------------------------------------
# Argument handling

def _type_name(x) -> str:
    return type(x).__name__


def _check_tensor(x, fname, arg, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{_type_name(x)}")


def _int_tuple(value, nd, arg, fname):
    """An int or a sequence of ints as a tuple; a single value is repeated ``nd`` times
    (PyTorch's argument parser does the same for one-element lists)."""
    if isinstance(value, (bool, float)) or not isinstance(
            value, (int, np.integer, tuple, list)):
        raise TypeError(f"{fname}(): argument '{arg}' must be tuple of ints, not "
                        f"{_type_name(value)}")
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    vals = list(value)
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{fname}(): argument '{arg}' must be tuple of ints, but found "
                            f"element of type {_type_name(v)}")
    if len(vals) == 1:
        return (int(vals[0]),) * nd
    return tuple(int(v) for v in vals)


def _check_len(vals, k, arg):
    if len(vals) != k:
        raise RuntimeError(f"expected {arg} to be a single integer value or a list of {k} "
                           f"values to match the convolution dimensions, but got "
                           f"{arg}={list(vals)}")


def _shape(t) -> str:
    return str(list(t._data.shape))


def _sizes(vals) -> str:
    return " x ".join(str(v) for v in vals)


def _batchify(input, nd, fname):
    """Accept (C, *S) or (N, C, *S); returns the batched input and whether it was not."""
    dim = input._data.ndim
    if dim == nd + 2:
        return input, False
    if dim == nd + 1:
        return input.unsqueeze(0), True
    raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                       f"{fname}, but got input of size: {_shape(input)}")


def _check_dtypes(input, weight, bias):
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({_C_NAMES.get(input.dtype.name, input.dtype.name)}) "
                           f"and bias type ({_C_NAMES.get(bias.dtype.name, bias.dtype.name)})"
                           " should be the same")


def _check_weight_dtype(input, weight):
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type "
                           f"{_SCALAR_NAMES.get(input.dtype.name, input.dtype.name)} but found "
                           f"{_SCALAR_NAMES.get(weight.dtype.name, weight.dtype.name)}")
    if input.dtype.name == "bool":
        raise NotImplementedError(f"\"slow_conv{len(weight._data.shape) - 2}d_cpu\" not "
                                  f"implemented for 'Bool'")


def _common_checks(nd_w, stride, padding, dilation, groups, weight, output_padding=None,
                   transposed=False):
    _check_len(stride, nd_w, "stride")
    if not isinstance(padding, str):
        _check_len(padding, nd_w, "padding")
    _check_len(dilation, nd_w, "dilation")
    if output_padding is not None:
        _check_len(output_padding, nd_w, "output_padding")
    if not isinstance(padding, str) and any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if output_padding is not None and any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(d <= 0 for d in dilation):
        if transposed:
            # PyTorch's transposed kernels name each dimension; 1-d runs as 2-d (height 1)
            vals = list(dilation) if len(dilation) > 1 else [1] + list(dilation)
            names = ("depth", "height", "width")[3 - len(vals):]
            raise RuntimeError("dilation should be greater than zero, but got " + ", ".join(
                f"dilation_{n}: {v}" for n, v in zip(names, vals)))
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    ks = weight._data.shape[2:]
    if any(k <= 0 for k in ks):
        if len(ks) == 3:
            raise RuntimeError(f"kernel size should be greater than zero, but got: "
                               f"{_sizes(ks)} (TxHxW)")
        kh, kw = (1,) + tuple(ks) if len(ks) == 1 else ks[-2:]     # 1-d runs as 2-d
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kh} kernel_width: {kw}")
    if weight._data.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{_shape(weight)}] instead")


def _conv(nd, fname, input, weight, bias, stride, padding, dilation, groups):
    _check_tensor(input, fname, "input", 1)
    _check_tensor(weight, fname, "weight", 2)
    if bias is not None:
        _check_tensor(bias, fname, "bias", 3)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{fname}(): argument 'groups' must be int, not {_type_name(groups)}")
    stride = _int_tuple(stride, nd, "stride", fname)
    dilation = _int_tuple(dilation, nd, "dilation", fname)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _int_tuple(padding, nd, "padding", fname)
    x, unbatched = _batchify(input, nd, fname)
    nd_w = weight._data.ndim - 2
    _common_checks(nd_w, stride, padding, dilation, groups, weight)
    if padding == "same" and any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    _check_dtypes(input, weight, bias)
    ws = weight._data.shape
    ksize = ws[2:]
    if x._data.shape[1] != ws[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape(weight)}, expected "
                           f"input{_shape(x)} to have {ws[1] * groups} channels, but got "
                           f"{x._data.shape[1]} channels instead")
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != ws[0]):
        raise RuntimeError(f"Given weight of size {_shape(weight)}, expected bias to be "
                           f"1-dimensional with {ws[0]} elements, but got bias of size "
                           f"{_shape(bias)} instead")
    if padding == "valid":
        pads = ((0, 0),) * nd
    elif padding == "same":
        # PyTorch puts the odd element of the total padding on the right
        pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(ksize, dilation))
    else:
        pads = tuple((p, p) for p in padding)
    in_sp = x._data.shape[2:]
    padded = [n + lo + hi for n, (lo, hi) in zip(in_sp, pads)]
    dilated = [d * (k - 1) + 1 for k, d in zip(ksize, dilation)]
    if any(p < k for p, k in zip(padded, dilated)):
        raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). "
                           f"Kernel size: ({_sizes(dilated)}). Kernel size can't be greater "
                           f"than actual input size")
    _check_weight_dtype(input, weight)
    args = (x, weight) if bias is None else (x, weight, bias)
    keep = weight._requires_grad and STATE.enabled
    y = Convolution.apply(*args, stride=stride, dilation=dilation, pads=pads, groups=groups,
                          keep_cols=keep)
    return y.squeeze(0) if unbatched else y


def _conv_transpose(nd, fname, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    _check_tensor(input, fname, "input", 1)
    _check_tensor(weight, fname, "weight", 2)
    if bias is not None:
        _check_tensor(bias, fname, "bias", 3)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{fname}(): argument 'groups' must be int, not {_type_name(groups)}")
    stride = _int_tuple(stride, nd, "stride", fname)
    padding = _int_tuple(padding, nd, "padding", fname)
    output_padding = _int_tuple(output_padding, nd, "output_padding", fname)
    dilation = _int_tuple(dilation, nd, "dilation", fname)
    x, unbatched = _batchify(input, nd, fname)
    nd_w = weight._data.ndim - 2
    _common_checks(nd_w, stride, padding, dilation, groups, weight, output_padding,
                   transposed=True)
    _check_dtypes(input, weight, bias)
    ws = weight._data.shape
    ksize = ws[2:]
    if x._data.shape[1] != ws[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape(weight)}, expected "
                           f"input{_shape(x)} to have {ws[0]} channels, but got "
                           f"{x._data.shape[1]} channels instead")
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != ws[1] * groups):
        raise RuntimeError(f"Given transposed=1, weight of size {_shape(weight)}, expected "
                           f"bias to be 1-dimensional with {ws[1] * groups} elements, but got "
                           f"bias of size {_shape(bias)} instead")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = ("depth", "height", "width")[3 - nd:] if nd > 1 else ("width",)
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + " ".join(parts))
    in_sp = x._data.shape[2:]
    full = _full_size(in_sp, ksize, stride, dilation)
    out_sp = [f - 2 * p + op for f, p, op in zip(full, padding, output_padding)]
    if any(o <= 0 for o in out_sp):
        lead = "1 x " if nd == 1 else ""          # PyTorch computes 1-d as 2-d here
        raise RuntimeError(f"Given input size per channel: ({lead}{_sizes(in_sp)}). "
                           f"Calculated output size per channel: ({lead}{_sizes(out_sp)}). "
                           f"Output size is too small")
    _check_weight_dtype(input, weight)
    crop = tuple((p, p - op) for p, op in zip(padding, output_padding))
    args = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose.apply(*args, stride=stride, dilation=dilation, crop=crop, groups=groups)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------------------------------
# Public functions

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution (cross-correlation) over an input of several channels.

    Args:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_out, C_in / groups, kL)``.
        bias: optional ``(C_out,)``.
        stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, ``'valid'`` (none) or ``'same'`` (output as long as the input;
            stride 1 only; an odd total padding puts the extra element on the right).
        groups: split the channels into this many independent convolutions.

    Shape: output ``(N, C_out, L_out)``, ``L_out = (L + 2p - d (kL - 1) - 1) // s + 1``.
    """
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation); see ``conv1d`` for the arguments.

    Shape: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; weight
    ``(C_out, C_in / groups, kH, kW)``; output ``(N, C_out, H_out, W_out)``.
    """
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """3-D convolution (cross-correlation); see ``conv1d`` for the arguments.

    Shape: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; weight
    ``(C_out, C_in / groups, kD, kH, kW)``; output ``(N, C_out, D_out, H_out, W_out)``.
    """
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """1-D transposed convolution (the gradient of ``conv1d`` with respect to its input).

    Args:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_in, C_out / groups, kL)``.
        bias: optional ``(C_out,)``.
        stride, padding, dilation: int or 1-tuple; ``padding`` crops that many positions
            from both ends of the full output, which is then
            ``(L - 1) s - 2 p + d (kL - 1) + output_padding + 1`` long.
        output_padding: extra length added on one side (smaller than stride or dilation).
        groups: independent channel groups.
    """
    return _conv_transpose(1, "conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """2-D transposed convolution; see ``conv_transpose1d``. Weight
    ``(C_in, C_out / groups, kH, kW)``."""
    return _conv_transpose(2, "conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """3-D transposed convolution; see ``conv_transpose1d``. Weight
    ``(C_in, C_out / groups, kD, kH, kW)``."""
    return _conv_transpose(3, "conv_transpose3d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def _fold_args(kernel_size, dilation, padding, stride, fname):
    out = []
    for arg, value in (("kernel_size", kernel_size), ("dilation", dilation),
                       ("padding", padding), ("stride", stride)):
        vals = _int_tuple(value, 2, arg, fname)
        if len(vals) != 2:
            raise RuntimeError(f"It is expected {arg} equals to 2, but got size {len(vals)}")
        out.append(vals)
    ks, dil, pad, st = out
    checks = ((ks, lambda v: v > 0, ("kernel size should be greater than zero, but got "
                                     "kernel_height: {} kernel_width: {}")),
              (st, lambda v: v > 0, ("stride should be greater than zero, but got "
                                     "stride_height: {} stride_width: {}")),
              (dil, lambda v: v > 0, ("dilation should be greater than zero, but got "
                                      "dilation_height: {} dilation_width: {}")),
              (pad, lambda v: v >= 0, ("padding should be non-negative, but got "
                                       "pad_height: {} pad_width: {}")))
    for vals, ok, msg in checks:
        if not all(ok(v) for v in vals):
            raise RuntimeError(msg.format(*vals))
    return ks, dil, pad, st


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col).

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size, dilation, padding, stride: int or 2-tuple.

    Shape: output ``(N, C * kH * kW, L)`` where L is the number of blocks; each column is
    one block, its rows ordered by channel, then kernel row, then kernel column.
    """
    _check_tensor(input, "unfold", "input", 1)
    ks, dil, pad, st = _fold_args(kernel_size, dilation, padding, stride, "unfold")
    shape = input._data.shape
    if len(shape) not in (3, 4) or any(s == 0 for s in shape[-3:]):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(shape)}")
    x, unbatched = (input.unsqueeze(0), True) if len(shape) == 3 else (input, False)
    pads = tuple((p, p) for p in pad)
    in_sp = shape[-2:]
    blocks = _conv_out_size(in_sp, pads, ks, st, dil)
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"Given input with spatial size {tuple(in_sp)}, kernel_size={ks}, "
                           f"dilation={dil}, padding={pad}, calculated shape of the array of "
                           f"sliding blocks as {tuple(max(b, 0) for b in blocks)}, but its "
                           f"components must be at least one.")
    y = Im2Col.apply(x, ksize=ks, stride=st, dilation=dil, pads=pads)
    return y.squeeze(0) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks into a tensor, summing overlaps (col2im; the adjoint of
    ``unfold``).

    Args:
        input: ``(N, C * kH * kW, L)`` or unbatched ``(C * kH * kW, L)``.
        output_size: int or 2-tuple, the spatial size of the output.
        kernel_size, dilation, padding, stride: int or 2-tuple, as for ``unfold``.

    Shape: output ``(N, C, H, W)``.
    """
    _check_tensor(input, "fold", "input", 1)
    out_sp = _int_tuple(output_size, 2, "output_size", "fold")
    if len(out_sp) != 2:
        raise RuntimeError(f"It is expected output_size equals to 2, but got size "
                           f"{len(out_sp)}")
    ks, dil, pad, st = _fold_args(kernel_size, dilation, padding, stride, "fold")
    shape = input._data.shape
    if len(shape) not in (2, 3) or any(s == 0 for s in shape[-2:]):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    x, unbatched = (input.unsqueeze(0), True) if len(shape) == 2 else (input, False)
    kk = ks[0] * ks[1]
    if x._data.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={x._data.shape[1]} "
                           f"and kernel_size={ks}.")
    pads = tuple((p, p) for p in pad)
    blocks = _conv_out_size(out_sp, pads, ks, st, dil)
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"Given output_size={out_sp}, kernel_size={ks}, dilation={dil}, "
                           f"padding={pad}, stride={st}, calculated shape of the array of "
                           f"sliding blocks as {tuple(max(b, 0) for b in blocks)}, but its "
                           f"components must be at least one.")
    if x._data.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size={out_sp}, kernel_size={ks}, dilation={dil}, "
                           f"padding={pad}, stride={st}, expected size of input's dimension 2 "
                           f"to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={x._data.shape[2]}.")
    y = Col2Im.apply(x, out_sp=out_sp, blocks=blocks, ksize=ks, stride=st, dilation=dil,
                     pads=pads)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------------------------------
# Padding modes of the convolution layers

_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _mode_pad(input: Tensor, pad, mode: str) -> Tensor:
    """Pad ``input``'s trailing dimensions with a non-zero ``padding_mode``; ``pad`` is in
    PyTorch's ``F.pad`` order (last dimension first: left, right, then the one before)."""
    n = len(pad) // 2
    pads = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(n))[::-1]
    shape = input._data.shape
    sp = shape[len(shape) - n:]
    for i in reversed(range(n)):             # PyTorch checks the last dimension first
        (lo, hi), size = pads[i], sp[i]
        dim = len(shape) - n + i
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                               f"at dimension {dim} of input {list(shape)}")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and size == 0 and (lo or hi):
            raise RuntimeError(f"Expected input's dimension {dim} to be non-empty when "
                               f"padding it, but got input of size {list(shape)}")
    if not any(lo or hi for lo, hi in pads):
        return input
    return ModePad.apply(input, pads=pads, mode=_NP_MODES[mode])
