"""Embeddings: ``nn.functional.embedding`` and ``embedding_bag`` (and ``ember.embedding``).

Both are built from two primitives that are each other's adjoint:

* ``RowGather``: ``table[idx]`` (rows of a table picked by an index array), optionally times
  a weight per picked row;
* ``RowScatter``: the sum of the rows of ``src`` into ``n`` rows by ``idx``, optionally times
  a weight per source row. It sorts the indices once (a stable sort, linear time for
  integers) and sums each run of equal indices with ``np.add.reduceat``: no ``np.add.at``
  and no Python loop over indices.

``embedding`` is one ``RowGather`` whose backward is a ``RowScatter`` with the per-row
gradient weights (0 for ``padding_idx``, ``1/count`` for ``scale_grad_by_freq``), so double
backward works (as in PyTorch, the second derivative ignores ``scale_grad_by_freq``). ``embedding_bag`` gathers the rows, weighs them (per-sample weights, the
mean's ``1/count``, padding), and ``RowScatter``s them into their bags; ``'max'`` mode gathers
each bag's maximum element per column directly from the flattened weight.

The weight gradient is always dense: ``sparse=True`` is accepted (the gradient values are the
same) but no sparse tensor is made. ``embedding_bag``'s ``scale_grad_by_freq`` reproduces
PyTorch's CPU kernel, which does not always divide by an index's own count (see
``_bag_freq_weights``).
"""
from __future__ import annotations

import numpy as np

from .._dtype import NP_TO_DTYPE
from .._tensor import _trace_check
from ..autograd.grad_mode import no_grad
from ._op import Op, Tensor, _wrap

__all__ = ["embedding", "embedding_bag"]


# ---------------------------------------------------------------------------------------
# primitives

def _scatter_rows(src, idx, n, rw=None):
    """``out[i] = sum(src[k] * rw[k] for k where idx[k] == i)`` for ``out`` of ``n`` rows."""
    flat = idx.reshape(-1)
    rest = src.shape[idx.ndim:]
    s2 = src.reshape((flat.size,) + rest)
    out = np.zeros((n,) + rest, dtype=src.dtype)
    if flat.size == 0:
        return out
    if rw is not None:
        s2 = s2 * rw.reshape((-1,) + (1,) * len(rest)).astype(src.dtype, copy=False)
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    out[s[starts]] = np.add.reduceat(s2[order], starts, axis=0)
    return out


def _gather_rows(table, idx, rw=None):
    out = table[idx]
    if rw is not None:
        out = out * rw.reshape(rw.shape + (1,) * (table.ndim - 1)).astype(table.dtype,
                                                                            copy=False)
    return out


class RowGather(Op):
    """``table[idx] * rw_fwd`` (rows of ``table`` along its first dimension). Backward:
    ``RowScatter`` of the gradient with the weights ``rw_bwd`` (whose own backward uses
    ``rw_back`` when given, see ``RowScatter``).

    ``embedding`` passes its index tensor as the second input (not differentiable), so that
    ``ember.onnx`` sees where the rows come from (a Gather); ops that gather by positions
    they computed themselves may pass ``idx=`` as a keyword (an array)."""

    def forward(self, table, idx, *, rw_fwd=None, rw_bwd=None, rw_back=False,
                label="EmbeddingBackward0"):
        idx = idx.astype(np.intp, copy=False)
        self.idx, self.rw_bwd, self.n, self.label = idx, rw_bwd, table.shape[0], label
        self.rw_back, self.rw_fwd = rw_back, rw_fwd
        return _gather_rows(table, idx, rw_fwd)

    def backward(self, grad):
        g = RowScatter.apply(grad, idx=self.idx, n=self.n, rw=self.rw_bwd, rw_back=self.rw_back)
        return (g, None) if len(self.next_functions) == 2 else g

    def name(self):
        return self.label


class RowScatter(Op):
    """Sum the rows of ``src`` (shape ``idx.shape + rest``) into ``n`` rows by ``idx``,
    each weighted by ``rw``. Backward: ``RowGather`` with the same weights."""

    def forward(self, src, *, idx, n, rw=None, rw_back=False):
        self.idx, self.rw = idx, rw
        # PyTorch differentiates embedding's weight gradient as a plain gather that only
        # zeroes padding_idx (scale_grad_by_freq is ignored there); ``rw_back`` carries
        # those weights when they differ from ``rw``
        self.rw_back = rw if rw_back is False else rw_back
        return _scatter_rows(src, idx, n, rw)

    def backward(self, grad):
        return RowGather.apply(grad, idx=self.idx, rw_fwd=self.rw_back, rw_bwd=self.rw_back,
                               label="EmbeddingDenseBackwardBackward0")

    def name(self):
        return "EmbeddingDenseBackward0"


# ---------------------------------------------------------------------------------------
# argument handling

def _type_error(fn, arg, pos, value):
    return TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                     f"{type(value).__name__}")


def _legacy(arr) -> str:
    dt = NP_TO_DTYPE[arr.dtype]
    return "CPUBoolType" if arr.dtype == np.bool_ else f"ember.{dt._legacy}"


def _check_indices(t, arg, fn):
    if t._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"Expected tensor for argument #1 '{arg}' to have one of the "
                           f"following scalar types: Long, Int; but got {_legacy(t._data)} "
                           f"instead (while checking arguments for {fn})")


def _vector_norms(rows, p):
    """p-norms of the rows of a 2-D array (p may be inf, -inf or 0)."""
    a = np.abs(rows)
    if p == np.inf:
        return a.max(axis=1, initial=0)
    if p == -np.inf:
        return a.min(axis=1)
    if p == 0:
        return (a != 0).sum(axis=1).astype(rows.dtype)
    return (a ** p).sum(axis=1) ** (1.0 / p)


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float):
    """Rescale, in place, the rows of ``input`` referenced by ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's
    ``torch.embedding_renorm_``: the factor is ``max_norm / (norm + 1e-7)``). Not
    differentiable; returns ``input``."""
    rows = np.unique(indices._data.reshape(-1))
    if rows.size == 0:
        return input
    w = input._data
    norms = _vector_norms(w[rows], float(norm_type))
    big = norms > max_norm
    if not big.any():
        return input
    rows = rows[big]
    scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
    with no_grad():
        input[_wrap(rows)] = _wrap(w[rows] * scale[:, None])
    return input


def _padding_index(padding_idx, n):
    if padding_idx is None:
        return None
    if padding_idx > 0:
        if padding_idx >= n:
            raise AssertionError("Padding_idx must be within num_embeddings")
    elif padding_idx < 0:
        if padding_idx < -n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = n + padding_idx
    return int(padding_idx)


def _grad_row_weights(idx, n, padding_idx, scale_grad_by_freq, dtype):
    """Per looked-up row: the factor its gradient gets (0 for ``padding_idx``, 1/count of the
    index for ``scale_grad_by_freq``), or None when all are 1."""
    flat = idx.reshape(-1)
    rw = None
    if scale_grad_by_freq and flat.size:
        counts = np.bincount(flat, minlength=n)
        rw = (1.0 / counts[flat]).astype(dtype)
    if padding_idx is not None and flat.size and (flat == padding_idx).any():
        keep = (flat != padding_idx).astype(dtype)
        rw = keep if rw is None else rw * keep
    return None if rw is None else rw.reshape(idx.shape)


# ---------------------------------------------------------------------------------------
# embedding

def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight``: ``out[...] = weight[input[...]]``.

    Args:
        input (LongTensor or IntTensor): indices into the rows of ``weight``, any shape.
        weight (Tensor): the table, ``(num_embeddings, embedding_dim)``.
        padding_idx (int, optional): this row gets no gradient.
        max_norm (float, optional): rows looked up whose ``norm_type``-norm exceeds it are
            rescaled to that norm, *in place* in ``weight`` (not differentiable).
        norm_type (float): the p of that norm. Default: 2.
        scale_grad_by_freq (bool): divide each row's gradient by the number of times its
            index occurs in ``input``.
        sparse (bool): accepted for compatibility; the gradient is always dense.

    Shape: ``(*)`` indices -> ``(*, embedding_dim)``.
    """
    if not isinstance(input, Tensor):
        raise _type_error("embedding", "indices", 2, input)
    if not isinstance(weight, Tensor):
        raise _type_error("embedding", "weight", 1, weight)
    n = weight._data.shape[0] if weight._data.ndim else 1
    padding_idx = _padding_index(padding_idx, n)
    if weight._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    _check_indices(input, "indices", "embedding")
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    idx = idx.astype(np.intp, copy=False)
    if max_norm is not None:
        _trace_check("embedding with max_norm, which renormalizes the rows it looks up in "
                     "place", input)
        embedding_renorm_(weight, _wrap(idx), max_norm, norm_type)
    dt = weight._data.dtype
    # (the gradient's row weights depend on the indices' values: backward only)
    rw = _grad_row_weights(idx, n, padding_idx, scale_grad_by_freq, dt)
    back = _grad_row_weights(idx, n, padding_idx, False, dt) if scale_grad_by_freq else False
    return RowGather.apply(weight, input, rw_bwd=rw, rw_back=back)


# ---------------------------------------------------------------------------------------
# embedding_bag

_MODES = {"sum": 0, "mean": 1, "max": 2}


def _bag_layout(idx, offsets, include_last_offset):
    """``(bag id per element, number of bags, number of elements used)``: elements after the
    last offset are dropped when ``include_last_offset``."""
    L = idx.shape[0]
    off = offsets.astype(np.int64, copy=False)
    nb = max(off.shape[0] - 1, 0) if include_last_offset else off.shape[0]
    if off.shape[0]:
        if off[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got "
                               f"{int(off[0])}\n[ ember.LongTensor{{}} ]")
        if off[-1] > L:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {L} but "
                               f"got offsets[-1] of {int(off[-1])}")
        if (np.diff(off) < 0).any():
            raise RuntimeError("offsets must be non-decreasing (each bag starts where the "
                               "previous one ends or later)")
    used = int(off[nb]) if include_last_offset and off.shape[0] else L
    if nb == 0:
        used = 0
    starts = off[:nb]
    bag = np.searchsorted(starts, np.arange(used), side="right") - 1
    return bag, nb, used


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without materialising the lookups per
    bag.

    Args:
        input (LongTensor or IntTensor): ``(B, L)``: B bags of L indices each; or ``(M,)``
            with ``offsets`` giving where each bag starts.
        weight (Tensor): ``(num_embeddings, embedding_dim)``.
        offsets (Tensor, optional): ``(B,)`` start positions for a 1-D ``input`` (first 0,
            non-decreasing); with ``include_last_offset`` there are ``B + 1`` and the last is
            the end of the last bag.
        max_norm, norm_type, scale_grad_by_freq, sparse: as in :func:`embedding`.
        mode (str): ``'sum'``, ``'mean'`` (default) or ``'max'``.
        per_sample_weights (Tensor, optional): same shape as ``input``; scales each looked-up
            row (``'sum'`` mode only).
        padding_idx (int, optional): entries equal to it are left out of their bag (not
            counted in the mean) and the row gets no gradient.

    Empty bags give zeros. Shape: ``(B, embedding_dim)``.
    """
    if not isinstance(input, Tensor):
        raise _type_error("embedding_bag", "input", 1, input)
    if not isinstance(weight, Tensor):
        raise _type_error("embedding_bag", "weight", 2, weight)
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                         f"is not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight._data.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight._data.ndim}")
    if input._data.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is "
                             "treated is a mini-batch of fixed length sequences. However, "
                             f"found offsets of type {_type_str(offsets)}")
        b, m = input._data.shape
        if m == 0 and b:
            raise RuntimeError("step must be nonzero")
        _check_indices(input, "indices", "embedding_bag")
        offs = np.arange(0, b * m, max(m, 1), dtype=np.int64)
        include_last_offset = False
        idx = input._data.reshape(-1)
        idx_t = input.reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif input._data.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets._data.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        idx, psw = input._data, per_sample_weights
        idx_t = input
        offs = offsets._data
        _trace_check("the offsets of embedding_bag, read in NumPy to lay out the bags",
                     offsets)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input._data.ndim}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    _check_indices(input, "indices", "embedding_bag")
    if offsets is not None:
        _check_indices(offsets, "indices", "embedding_bag")    # (sic: PyTorch says indices)
    n = weight._data.shape[0]
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        raise RuntimeError(f"Index {int(bad[0])} of input takes value {int(idx[bad[0]])} "
                           f"which is not in the valid range [0, {n})")
    if max_norm is not None:
        _trace_check("embedding_bag with max_norm, which renormalizes the rows it looks up "
                     "in place", input)
        embedding_renorm_(weight, _wrap(idx), max_norm, norm_type)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub.")
        if per_sample_weights.dtype is not weight.dtype:
            raise RuntimeError(
                f"Expected tensor for argument #1 'weight' to have the same type as tensor "
                f"for argument #1 'per_sample_weights'; but type ember.{weight.dtype._legacy} "
                f"does not equal ember.{per_sample_weights.dtype._legacy} (while checking "
                "arguments for embedding_bag)")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, {-n} "
                               f"through {n - 1}, but got {padding_idx}")
        padding_idx = int(padding_idx) % n

    bag, nb, used = _bag_layout(idx, offs, include_last_offset)
    idx = idx[:used].astype(np.intp, copy=False)
    if used != idx_t._data.shape[0]:
        idx_t = idx_t[:used]
    if mode == "max" or padding_idx is not None:
        # the positions read ('max') or the weights of the rows (padding) are computed from
        # the indices' values in NumPy
        _trace_check(f"embedding_bag with {'max mode' if mode == 'max' else 'padding_idx'}, "
                     f"which reads the indices in NumPy", input)
    if psw is not None and used != psw.shape[0]:
        psw = psw[:used]
    keep = None if padding_idx is None else idx != padding_idx
    dtype = weight._data.dtype
    if mode == "max":
        return _bag_max(weight, idx, bag, nb, keep)
    # sum / mean: gather the rows, weigh them, scatter them into their bags
    rw_bwd = _bag_freq_weights(idx, n, dtype) if scale_grad_by_freq else None
    coef = None
    if keep is not None:
        coef = keep.astype(dtype)
    if mode == "mean":
        counts = np.bincount(bag, weights=None if keep is None else keep.astype(np.float64),
                             minlength=nb)
        inv = (1.0 / np.maximum(counts, 1)).astype(dtype)[bag]
        coef = inv if coef is None else coef * inv
    rows = RowGather.apply(weight, idx_t, rw_fwd=coef, rw_bwd=_mul(coef, rw_bwd),
                           label="EmbeddingBagBackward0")
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    return RowScatter.apply(rows, idx=bag, n=nb)


def _bag_freq_weights(idx, n, dtype):
    """``scale_grad_by_freq`` factors of ``embedding_bag`` as PyTorch's CPU kernel computes
    them: the k-th distinct index (in sorted order) is divided by the count of the index at
    *position* k of the sorted indices (not by its own count; the two agree when no index
    repeats before it). Matched here so that gradients equal PyTorch's."""
    if idx.size == 0:
        return None
    counts = np.bincount(idx, minlength=n)
    s = np.sort(idx)
    uniq = np.unique(s)
    used = counts[s[:uniq.size]]
    return (1.0 / used[np.searchsorted(uniq, idx)]).astype(dtype)


def _type_str(x) -> str:
    return "<class 'ember.Tensor'>" if type(x) is Tensor else str(type(x))


def _mul(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a * b


def _bag_max(weight, idx, bag, nb, keep):
    """Each bag's maximum per column (0 for an empty bag), as a gather from the flattened
    weight (so the gradient goes to the arg-max element of each column)."""
    w = weight._data
    dim = w.shape[1]
    if keep is not None:
        idx, bag = idx[keep], bag[keep]
    out_pos = np.zeros((nb, dim), dtype=np.intp)
    mask = np.zeros((nb, 1), dtype=w.dtype)
    if idx.size:
        vals = w[idx]
        starts = np.flatnonzero(np.r_[True, bag[1:] != bag[:-1]])
        bags = bag[starts]
        mx = np.maximum.reduceat(vals, starts, axis=0)
        # first position in each bag that holds the maximum, per column
        pos = np.where(vals == mx[np.searchsorted(bags, bag)], np.arange(idx.size)[:, None],
                       idx.size)
        first = np.minimum.reduceat(pos, starts, axis=0)
        nan = first == idx.size                 # a NaN maximum: take the NaN
        if nan.any():
            isn = np.where(np.isnan(vals), np.arange(idx.size)[:, None], idx.size)
            first = np.where(nan, np.minimum.reduceat(isn, starts, axis=0), first)
        out_pos[bags] = idx[first] * dim + np.arange(dim)
        mask[bags] = 1
    flat = weight.reshape(-1)
    return RowGather.apply(flat, idx=out_pos, rw_fwd=np.broadcast_to(mask, (nb, dim)),
                           rw_bwd=np.broadcast_to(mask, (nb, dim)),
                           label="EmbeddingBagBackward0")


def _top_embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
                   scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """PyTorch's ``torch.embedding``: the table first, and a negative ``padding_idx`` means
    none."""
    return embedding(indices, weight, None if padding_idx < 0 else padding_idx, None, 2.0,
                     scale_grad_by_freq, sparse)


# PyTorch's top-level functions of this family (``ember.<name>``), name -> function.
TOP_LEVEL = {"embedding": _top_embedding, "embedding_renorm_": embedding_renorm_}
