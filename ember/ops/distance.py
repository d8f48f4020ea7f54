"""Distances and similarities: ``pairwise_distance``, ``cosine_similarity``, ``pdist`` and
``cdist``.

All are compositions of ember operations (differences, ``norm``, products, sums, ``matmul``),
so gradients and double backward come from those ops. The exceptions are small and local:

* ``cosine_similarity`` divides each input by its own norm, clamped below at ``eps``; as in
  PyTorch the clamp changes the value only, the gradient flows as if unclamped
  (``_ClampValue``).
* ``cdist`` with ``p=2`` on large inputs (more than 25 rows on a side, PyTorch's rule) uses
  the matrix-product form ``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))``; otherwise the
  differences are formed explicitly and reduced with ``norm``.
"""
from __future__ import annotations

import numpy as np

from .._dtype import NP_TO_DTYPE, result_type
from ._op import Op, Tensor

__all__ = ["pairwise_distance", "cosine_similarity", "pdist"]

_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def _check_tensor(x, fn, arg, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _tname(t) -> str:
    return NP_TO_DTYPE[t._data.dtype]._legacy[:-6]


class _ClampValue(Op):
    """``max(x, lo)`` in value, the identity for the gradient (PyTorch clamps the norms of
    ``cosine_similarity`` in place under no_grad, which has this effect)."""

    def forward(self, x, *, lo):
        return np.maximum(x, np.asarray(lo, dtype=x.dtype))

    def backward(self, grad):
        return grad


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The p-norm of ``x1 - x2 + eps`` over the last dimension (the inputs broadcast; the
    ``eps`` keeps the norm differentiable where the inputs are equal).

    Shape: ``(N, D)`` or ``(D,)`` each -> ``(N,)`` or ``()`` (``keepdim`` keeps the last
    dimension as size 1).
    """
    _check_tensor(x1, "pairwise_distance", "x1", 1)
    _check_tensor(x2, "pairwise_distance", "x2", 2)
    nd = max(x1._data.ndim, x2._data.ndim)
    diff = x1 - x2 + eps
    return diff.norm(p, dim=nd - 1 if nd else None, keepdim=keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (the inputs broadcast):
    ``sum((x1 / max(|x1|, eps)) * (x2 / max(|x2|, eps)), dim)``.

    Each input is divided by its own clamped norm first (PyTorch's formula since 1.12),
    which keeps the result in [-1, 1].
    """
    _check_tensor(x1, "cosine_similarity", "x1", 1)
    _check_tensor(x2, "cosine_similarity", "x2", 2)
    common = result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{common._legacy[:-6]}")
    if x1.dtype is not common:
        x1 = x1.to(common)
    if x2.dtype is not common:
        x2 = x2.to(common)
    a, b = _bcast(x1, x2)
    nd = a._data.ndim
    lo, hi = (-1, 0) if nd == 0 else (-nd, nd - 1)
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    if nd == 0:
        na = _ClampValue.apply(a.abs(), lo=eps)
        nb = _ClampValue.apply(b.abs(), lo=eps)
        return (a / na) * (b / nb)
    na = _ClampValue.apply(a.norm(2, dim=dim, keepdim=True), lo=eps)
    nb = _ClampValue.apply(b.norm(2, dim=dim, keepdim=True), lo=eps)
    return ((a / na) * (b / nb)).sum(dim)


def _bcast(a, b):
    from .shape import broadcast_tensors
    return broadcast_tensors(a, b)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between all pairs of rows of a 2-D input, in the order of the
    upper triangle row by row (``(0,1), (0,2), ..., (1,2), ...``).

    Shape: ``(N, M)`` -> ``(N * (N - 1) / 2,)``.
    """
    _check_tensor(input, "pdist", "input", 1)
    if input._data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input._data.ndim}D")
    if input._data.dtype.kind != "f":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input._data.shape[0]
    i, j = np.triu_indices(n, k=1)
    if i.size == 0:
        return input.reshape(-1)[:0]
    from .indexing import index_select
    from .creation import tensor
    diff = index_select(input, 0, tensor(i)) - index_select(input, 0, tensor(j))
    return _rownorm(diff, p)


def _rownorm(diff, p):
    """``norm(diff, p, dim=-1)``; with no columns the distance is 0 (PyTorch's)."""
    if diff._data.shape[-1] == 0:
        return diff.sum(-1)
    return diff.norm(p, dim=-1)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distances between each row of ``x1`` and each row of ``x2`` (batched over
    the leading dimensions, which broadcast).

    Args:
        x1 (Tensor): ``(B*, P, M)``.
        x2 (Tensor): ``(B*, R, M)``.
        p (float): the norm's p, ``>= 0`` (``inf`` included).
        compute_mode (str): ``'use_mm_for_euclid_dist_if_necessary'`` (a matrix product
            for ``p=2`` when ``P > 25`` or ``R > 25``), ``'use_mm_for_euclid_dist'``
            (always for ``p=2``) or ``'donot_use_mm_for_euclid_dist'``.

    Shape: ``(B*, P, R)``.
    """
    _check_tensor(x1, "cdist", "x1", 1)
    _check_tensor(x2, "cdist", "x2", 2)
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1._data.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {_tname(x1)}")
    if x2._data.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X2 got: {_tname(x2)}")
    if x1._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: "
                           f"{x1._data.ndim}D")
    if x2._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: "
                           f"{x2._data.ndim}D")
    c1, c2 = x1._data.shape[-1], x2._data.shape[-1]
    if c1 != c2:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {c1} X2: "
                           f"{c2}")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected scalar type {_tname(x1)} but found {_tname(x2)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    P, R = x1._data.shape[-2], x2._data.shape[-2]
    try:
        batch = np.broadcast_shapes(x1._data.shape[:-2], x2._data.shape[:-2])
    except ValueError:
        (x1[..., :1, :1] + x2[..., :1, :1])      # raises PyTorch's broadcast error
        raise
    a = x1.expand(*batch, P, c1) if x1._data.shape[:-2] != batch else x1
    b = x2.expand(*batch, R, c2) if x2._data.shape[:-2] != batch else x2
    if P == 0 or R == 0 or c1 == 0:
        return (a.sum(-1).unsqueeze(-1) * 0 + b.sum(-1).unsqueeze(-2) * 0)
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary" and (P > 25 or R > 25)))
    if use_mm:
        from .linalg import matmul
        sq1 = (a * a).sum(-1, keepdim=True)
        sq2 = (b * b).sum(-1, keepdim=True)
        d2 = sq1 + sq2.transpose(-1, -2) - 2 * matmul(a, b.transpose(-1, -2))
        return d2.clamp_min(0).sqrt()
    diff = a.unsqueeze(-2) - b.unsqueeze(-3)
    return diff.norm(p, dim=-1)


# PyTorch's top-level functions of this family (``ember.<name>``), name -> function.
TOP_LEVEL = {"cdist": cdist, "pdist": pdist, "pairwise_distance": pairwise_distance,
             "cosine_similarity": cosine_similarity}
