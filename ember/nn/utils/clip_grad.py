"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm`` and
``clip_grads_with_norm_`` (PyTorch's ``torch.nn.utils`` functions of the same names).

The total norm is PyTorch's: the ``norm_type``-norm of the vector of per-tensor norms (each
in its gradient's dtype, the vector in their promoted dtype), which equals the norm of all
gradients concatenated. Clipping multiplies every gradient in place by
``min(1, max_norm / (total_norm + 1e-6))``. ``foreach`` is accepted and ignored (NumPy has
no fused multi-tensor kernels; the results are the same).
"""
from __future__ import annotations

import types
import warnings

import numpy as np

from ... import _dtype
from ..._tensor import Tensor, _wrap
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of all elements of ``a`` (p may be inf, -inf or 0), in ``a``'s dtype."""
    a = np.abs(a.reshape(-1))
    if p == np.inf:
        return a.max(initial=0).astype(a.dtype)
    if p == -np.inf:
        return a.min().astype(a.dtype) if a.size else np.asarray(np.inf, a.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(a), dtype=a.dtype)
    if p == 1:
        return a.sum(dtype=a.dtype)
    if p == 2:
        return np.sqrt(np.dot(a, a)).astype(a.dtype)
    with np.errstate(all="ignore"):
        return (np.sum(a ** p, dtype=a.dtype) ** (1.0 / p)).astype(a.dtype)


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (typically gradients), as one
    0-d tensor; ``tensor(0.)`` when there are none.

    Raises:
        RuntimeError: the norm is nan or inf and ``error_if_nonfinite`` is True.
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _wrap(np.asarray(0.0, dtype=_dtype.get_default_dtype().np))
    norms = [_vector_norm(t._data, norm_type) for t in tensors]
    dtype = np.result_type(*[n.dtype for n in norms])
    total = _vector_norm(np.stack([n.astype(dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return _wrap(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale the gradients of ``parameters`` in place by
    ``min(1, max_norm / (total_norm + 1e-6))`` (``total_norm`` from
    :func:`get_total_norm`)."""
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    tn = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    with np.errstate(all="ignore"):
        coef = np.minimum(max_norm / (tn + tn.dtype.type(1e-6)), tn.dtype.type(1.0))
    with no_grad():
        for g in grads:
            g.mul_(_wrap(np.asarray(coef, dtype=tn.dtype)))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients of ``parameters`` (a tensor or an iterable of tensors) so that
    their total ``norm_type``-norm is at most ``max_norm``; in place.

    Args:
        parameters: tensors whose ``.grad`` is clipped (those without a grad are skipped).
        max_norm (float): the largest total norm allowed.
        norm_type (float): p of the norm, ``inf`` for the largest absolute value.
        error_if_nonfinite (bool): raise if the total norm is nan or inf (otherwise the
            gradients are scaled by it anyway).
        foreach: accepted for compatibility.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will "
                          "occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_`."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.".replace("torch", "ember"),
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of ``parameters`` to ``[-clip_value, clip_value]``, in place."""
    parameters = _as_list(parameters)
    clip_value = float(clip_value)
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
