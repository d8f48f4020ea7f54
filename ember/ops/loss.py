"""Loss functions: the primitives behind ``ember.nn.functional.cross_entropy``, ``nll_loss``,
``ctc_loss``, ... (PyTorch's ``torch.nn.functional`` losses).

Three losses are single fused primitives because they are hot or need a custom gradient:

* ``cross_entropy`` with class-index targets (no label smoothing): ``_CrossEntropy`` computes
  a stable log-softmax and picks the target entries in one NumPy pass; its backward is
  ``(softmax(x) - onehot(target)) * scale``.
* ``nll_loss``: ``_NLLLoss`` gathers ``-input[target]``; its backward scatters the weights.
* ``ctc_loss``: ``_CTCLoss`` runs the alpha recursion in log space, vectorised over the batch
  and the extended-label positions (a loop over time only); its backward runs the beta
  recursion and turns alpha*beta into PyTorch's gradient.

``binary_cross_entropy`` is one primitive too, for PyTorch's clamps (log at -100, the
gradient's denominator at 1e-12). Every other loss is a composite of ember operations, written
as PyTorch computes it, so values and gradients (and double backward) follow automatically.

Reductions: every loss takes ``reduction='none'|'mean'|'sum'``; the deprecated
``size_average``/``reduce`` pair is mapped as PyTorch's ``_Reduction.legacy_get_string``
(with its warning) and takes precedence over ``reduction``.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import STATE
from ._op import Op
from .elementwise import _loud, _quiet, _tname

__all__ = ["l1_loss", "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "smooth_l1_loss", "huber_loss",
           "poisson_nll_loss", "gaussian_nll_loss", "kl_div", "margin_ranking_loss",
           "hinge_embedding_loss", "multilabel_margin_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "ctc_loss"]


# =======================================================================================
# reductions

_LEGACY_WARNING = ("size_average and reduce args will be deprecated, please use "
                   "reduction='{}' instead.")


def legacy_get_string(size_average, reduce, emit_warning: bool = True) -> str:
    """The reduction that the deprecated ``size_average``/``reduce`` pair stands for (None
    counts as True): both true -> 'mean', only ``reduce`` -> 'sum', else 'none'."""
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(_LEGACY_WARNING.format(ret), UserWarning, stacklevel=3)
    return ret


def _check_reduction(reduction) -> str:
    """Validate a reduction name ('elementwise_mean' is a deprecated 'mean')."""
    if reduction == "none" or reduction == "mean" or reduction == "sum":
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", UserWarning, stacklevel=3)
        return "mean"
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _resolve(size_average, reduce, reduction) -> str:
    """The effective reduction: the legacy pair wins when either is given."""
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    return _check_reduction(reduction)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# =======================================================================================
# argument checks and small helpers

def _check_tensor(x, fn, arg, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _is_float(x: Tensor) -> bool:
    return x._data.dtype.kind in "fc"


def _size(shape) -> str:
    return f"ember.Size({list(shape)})"


def _size_warning(input: Tensor, target: Tensor) -> None:
    """PyTorch warns when a pointwise regression loss would broadcast input and target."""
    if input._data.shape != target._data.shape:
        warnings.warn(f"Using a target size ({_size(target._data.shape)}) that is different to "
                      f"the input size ({_size(input._data.shape)}). This will likely lead to "
                      f"incorrect results due to broadcasting. Please ensure they have the "
                      f"same size.", UserWarning, stacklevel=3)


def _float_kernel(kernel: str, *tensors) -> None:
    """PyTorch's NotImplementedError for a floating-point kernel given only integer inputs."""
    if not any(_is_float(t) for t in tensors):
        t = tensors[0]
        for u in tensors[1:]:
            if np.promote_types(u._data.dtype, t._data.dtype) == u._data.dtype:
                t = u
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(t)}\'')


def _no_grad_weight(weight, fn: str, arg: str = "weight") -> None:
    """PyTorch's fused losses refuse a weight that requires grad (they have no formula)."""
    if weight is not None and weight.requires_grad and STATE.enabled:
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to "
                           f"argument '{arg}'. This input cannot have requires_grad True.")


def _const(arr) -> Tensor:
    return _wrap(np.asarray(arr))


def _where(mask, a, b) -> Tensor:
    """``a`` where the NumPy bool ``mask`` holds, else ``b`` (a select: no NaN leaks from the
    branch that is not taken into the gradient)."""
    from .elementwise import where
    return where(_const(mask), a, b)


def _broadcast_to_input(other: Tensor, input_shape) -> None:
    """``other`` must broadcast to the input's shape without enlarging it (PyTorch's losses
    multiply it into the result in place)."""
    try:
        shape = np.broadcast_shapes(tuple(input_shape), other._data.shape)
    except ValueError:
        from .elementwise import _bcast_error
        raise _bcast_error(np.empty(input_shape), other._data) from None
    if shape != tuple(input_shape):
        raise RuntimeError(f"output with shape {list(input_shape)} doesn't match the broadcast "
                           f"shape {list(shape)}")


# =======================================================================================
# pointwise regression losses: l1, mse, smooth_l1, huber

def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str,
              mean_by_weight: bool) -> Tensor:
    """The ``weight=`` form of l1/mse/huber: same shape as the input; 'mean' divides by the
    sum of the weights (l1, mse) or by the number of elements (huber)."""
    if weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                     f"'sum'.")


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``.

    Args:
        weight: optional per-element weights of the input's shape; 'mean' then divides by
            their sum.
    """
    _check_tensor(input, "l1_loss", "input", 1)
    _check_tensor(target, "l1_loss", "target", 2)
    _size_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    if weight is not None:
        return _weighted((input - target).abs(), weight, input, reduction, True)
    reduction = _check_reduction(reduction)
    return _reduce((input - target).abs(), reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target)^2`` (``weight`` as in :func:`l1_loss`)."""
    _check_tensor(input, "mse_loss", "input", 1)
    _check_tensor(target, "mse_loss", "target", 2)
    _size_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    d = input - target
    if weight is not None:
        return _weighted(d * d, weight, input, reduction, True)
    reduction = _check_reduction(reduction)
    _float_kernel("mse_cpu", input, target)
    return _reduce(d * d, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input -
    target``); ``beta = 0`` is the L1 loss."""
    _check_tensor(input, "smooth_l1_loss", "input", 1)
    _check_tensor(target, "smooth_l1_loss", "target", 2)
    _size_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    reduction = _check_reduction(reduction)
    if beta == 0.0:
        return _reduce((input - target).abs(), reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _float_kernel("smooth_l1_cpu", input, target)
    d = input - target
    ad = d.abs()
    # both branches are finite everywhere: a select of the two is exact, gradient included
    loss = _where(ad._data < beta, d * d * 0.5 / beta, ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``weight`` (of the
    input's shape) scales each element, and 'mean' then stays the plain mean."""
    _check_tensor(input, "huber_loss", "input", 1)
    _check_tensor(target, "huber_loss", "target", 2)
    _size_warning(input, target)
    if weight is None:
        reduction = _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _float_kernel("huber_cpu", input, target)
    d = input - target
    ad = d.abs()
    loss = _where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, False)
    return _reduce(loss, reduction)


# =======================================================================================
# binary cross entropy

# PyTorch's gradient denominator floor is the float32 constant 1e-12 (also in float64)
_BCE_EPS = float(np.float32(1e-12))


class _BinaryCrossEntropy(Op):
    """Elementwise ``-(t log(x) + (1 - t) log(1 - x))`` with both logs clamped at -100.

    Backward (PyTorch's formulas): input ``g (x - t) / max((1 - x) x, 1e-12)``; target
    ``g (log(1 - x) - log(x))`` (unclamped), both in ember ops."""

    save_inputs = (0, 1)

    def forward(self, x, t):
        tok = _quiet()
        try:
            lo = np.maximum(np.log(x), -100)
            l1 = np.maximum(np.log1p(-x), -100)
            return ((t - 1) * l1 - t * lo).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        x, t = self.saved_tensors
        need = self.needs_input_grad
        gx = gt = None
        if need[0]:
            gx = grad * (x - t) / ((1 - x) * x).clamp_min(_BCE_EPS)
        if need[1]:
            gt = grad * ((-x).log1p() - x.log())
        return gx, gt

    def name(self):
        return "BinaryCrossEntropyBackward0"


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy between probabilities ``input`` and ``target`` (both in [0, 1],
    same shape); ``weight`` rescales each element and broadcasts to the input's shape."""
    _check_tensor(input, "binary_cross_entropy", "input", 1)
    _check_tensor(target, "binary_cross_entropy", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Using a target size ({_size(target._data.shape)}) that is different "
                         f"to the input size ({_size(input._data.shape)}) is deprecated. Please "
                         f"ensure they have the same size.")
    _float_kernel("binary_cross_entropy", input)
    if target.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {_tname(target)} but expected {_tname(input)}")
    if weight is not None:
        _broadcast_to_input(weight, input._data.shape)
        _no_grad_weight(weight, "binary_cross_entropy")
    x = input._data
    with np.errstate(invalid="ignore"):
        if not ((x >= 0) & (x <= 1)).all():
            raise RuntimeError("all elements of input should be between 0 and 1")
        t = target._data
        if not ((t >= 0) & (t <= 1)).all():
            raise RuntimeError("all elements of target should be between 0 and 1")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight.to(input.dtype)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from the logits:
    ``(1 - t) x - w_p log(sigmoid(x))`` with ``w_p = 1 + (pos_weight - 1) t``.

    Args:
        weight: rescales each element (broadcasts to the input's shape).
        pos_weight: weight of the positive term per class; broadcasts against the last
            (class) dimension, e.g. shape ``(C,)`` for an ``(N, C)`` input.
    """
    from .activation import logsigmoid
    _check_tensor(input, "binary_cross_entropy_with_logits", "input", 1)
    _check_tensor(target, "binary_cross_entropy_with_logits", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({_size(target._data.shape)}) must be the same as input "
                         f"size ({_size(input._data.shape)})")
    _float_kernel("binary_cross_entropy_with_logits", input)
    if not _is_float(target):
        raise RuntimeError(f"result type {_tname(input)} can't be cast to the desired output "
                           f"type {_tname(target)}")
    _no_grad_weight(weight, "binary_cross_entropy_with_logits")
    _no_grad_weight(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    shape = input._data.shape
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1       # (broadcast errors name pos_weight)
        _broadcast_to_input(log_weight, shape)
        loss = (1 - target) * input - log_weight * logsigmoid(input)
    else:
        loss = (1 - target) * input - logsigmoid(input)
    if weight is not None:
        _broadcast_to_input(weight, shape)
        loss = loss * weight
    return _reduce(loss, reduction)


# =======================================================================================
# nll_loss and cross_entropy

def _nll_checks(input: Tensor, target: Tensor, weight, fn="nll_loss"):
    """PyTorch's shape/dtype checks of ``nll_loss_nd``. Returns the target array in the shape
    the loss has per element (a 1-element target of a 1-D input becomes 0-d)."""
    xs, ts = input._data.shape, target._data.shape
    nd = len(xs)
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    if nd != 1 and xs[0] != (ts[0] if ts else 0):
        raise ValueError(f"Expected input batch_size ({xs[0]}) to match target batch_size "
                         f"({ts[0] if ts else 0}).")
    t = target._data
    if nd <= 2:
        if len(ts) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if nd == 1 and len(ts) == 1:
            if ts[0] != 1:
                raise ValueError(f"For 1D input, 1D target must have size 1, but got target "
                                 f"size: {ts[0]}")
            t = t.reshape(())
    elif nd == 4:
        if len(ts) != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {len(ts)}")
        if ts != (xs[0],) + xs[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(xs)} , target: {list(ts)}")
    elif ts != (xs[0],) + xs[2:]:
        raise RuntimeError(f"Expected target size {[xs[0]] + list(xs[2:])}, got {list(ts)}")
    if t.dtype != np.int64 and t.dtype != np.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_tname(target)}")
    n_classes = xs[1] if nd >= 2 else xs[0]
    if weight is not None:
        _check_tensor(weight, fn, "weight", 3)
        if weight._data.ndim != 1 or weight._data.size != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight._data.shape)}")
    return t


def _opmath(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


class _ClassIndexLoss(Op):
    """Shared bookkeeping of :class:`_NLLLoss` and :class:`_CrossEntropy`.

    ``_setup`` validates the targets and stores on the op: the class axis, the in-range
    target indices ``safe`` (0 where ignored), and ``coef``, the weight of each element in
    the reduced loss: a Python number when every element counts the same (no class weights,
    nothing ignored: the common case, kept scalar so that it costs nothing), else an array
    of the target's shape (0 where ignored; divided by the total weight for 'mean').
    (N, C) inputs index with ``[rows, t]``; other ranks use ``take_along_axis``."""

    def _setup(self, x, t, w, ignore_index, reduction):
        axis = 1 if x.ndim >= 2 else 0
        n_classes = x.shape[axis]
        t = t.astype(np.int64, copy=False)
        self.axis, self.reduction, self.total = axis, reduction, None
        # one comparison checks both ends (negative indices wrap to huge unsigned values);
        # when ignore_index is itself out of range, passing it also means nothing is ignored
        out_of_range = (t.astype(np.uint64) >= n_classes).any() if t.size else False
        if not out_of_range and not 0 <= ignore_index < n_classes:
            all_valid = True
        else:
            valid = t != ignore_index
            all_valid = bool(valid.all())
            if all_valid and out_of_range:
                bad = (t < 0) | (t >= n_classes)
                raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")
        if all_valid:
            safe = t
            wt = None if w is None else w.astype(x.dtype, copy=False)[t]
        else:
            bad = valid & ((t < 0) | (t >= n_classes))
            if bad.any():
                raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")
            safe = np.where(valid, t, 0)
            wt = valid.astype(x.dtype) if w is None else np.where(
                valid, w.astype(x.dtype, copy=False)[safe], 0).astype(x.dtype)
        self.safe = safe
        self.rows = np.arange(x.shape[0]) if x.ndim == 2 else None
        if wt is None:
            if reduction == "mean":
                self.total = t.size
                self.coef = 1.0 / t.size if t.size else 1.0
            else:
                self.coef = 1.0
            return
        if reduction == "mean":
            self.total = total = wt.sum(dtype=x.dtype)
            if total != 0:
                tok = _quiet()
                try:
                    wt = wt / total
                finally:
                    _loud(tok)
        self.coef = wt

    def _pick(self, z):
        """``z`` at the target class of every element (ignored elements: class 0)."""
        if self.rows is not None:
            return z[self.rows, self.safe]
        return np.take_along_axis(z, np.expand_dims(self.safe, self.axis),
                                  self.axis).squeeze(self.axis)

    def _reduce_picked(self, picked, dtype):
        """``-sum(coef * picked)`` (elementwise for 'none'); 'mean' with no selected weight
        (everything ignored) is NaN, PyTorch's 0/0."""
        coef, reduction = self.coef, self.reduction
        tok = _quiet()
        try:
            if type(coef) is float:
                if reduction == "none":
                    out = -picked
                else:
                    out = -_opmath(picked).sum()
                    if reduction == "mean":
                        out = out / self.total if self.total else np.nan
            else:
                # ignored elements count 0 even where the input is infinite
                contrib = np.where(coef != 0, picked * coef, 0)
                if reduction == "none":
                    out = -contrib
                else:
                    out = -_opmath(contrib).sum()
                    if reduction == "mean" and self.total == 0:
                        out = np.nan
            return np.asarray(out, dtype=dtype)
        finally:
            _loud(tok)

    def _coef_array(self, g, dtype):
        """``coef * g`` (g the incoming gradient array) shaped to broadcast against the
        input: the class axis restored for 'none'."""
        c = self.coef
        if type(c) is not float:
            c = c.astype(dtype, copy=False)
        c = c * g
        if np.ndim(c):
            c = np.expand_dims(c, self.axis)
        return c

    def _onehot(self, shape, dtype, values):
        """An array of ``shape``: ``values`` (a number, or one per element of the target) at
        each target entry, 0 elsewhere."""
        out = np.zeros(shape, dtype=dtype)
        if self.rows is not None:
            out[self.rows, self.safe] = values
        else:
            if np.ndim(values):
                values = np.expand_dims(values, self.axis)
            np.put_along_axis(out, np.expand_dims(self.safe, self.axis), values, self.axis)
        return out

    def _grad_scale(self, grad: Tensor) -> Tensor:
        """The incoming gradient shaped to multiply an input-shaped array (the per-element
        gradient of 'none' gets the class axis back)."""
        if self.reduction == "none" and grad._data.ndim:
            return grad.unsqueeze(self.axis)
        return grad

    def name(self):
        return "NllLossBackward0"


class _NLLLoss(_ClassIndexLoss):
    """``-weight[t] * input[n, t, ...]``, reduced. Backward: ``-coef * grad`` at the target
    entries, as a constant one-hot array times the incoming gradient (so double backward
    works)."""

    def forward(self, x, target, weight, ignore_index, reduction):
        self._setup(x, target, weight, ignore_index, reduction)
        return self._reduce_picked(self._pick(x), x.dtype)

    def backward(self, grad):
        shape, dt = self._input_meta[0]
        c = self.coef
        values = -c if type(c) is float else -c.astype(dt.np, copy=False)
        return self._grad_scale(grad) * _wrap(self._onehot(shape, dt.np, values))


class _CrossEntropy(_ClassIndexLoss):
    """Cross entropy with class indices in one node: ``log_softmax`` along the class axis
    (max-shifted, so any logits are safe) and the pick of :class:`_NLLLoss`.

    Backward: ``(softmax(x) - onehot(t)) * coef * grad``. When no graph is being recorded
    this is NumPy on ``exp(x - max)`` kept from the forward pass (one multiply by
    ``coef * grad / sum(exp)`` and one indexed subtract); under ``create_graph`` it is
    written in ember ops (``softmax`` of the saved input), so double backward works."""

    save_inputs = (0,)

    def forward(self, x, target, weight, ignore_index, reduction):
        self._setup(x, target, weight, ignore_index, reduction)
        axis = self.axis
        xc = _opmath(x)
        tok = _quiet()
        try:
            z = xc - xc.max(axis=axis, keepdims=True) if xc.size else xc.copy()
            zt = self._pick(z)
            e = np.exp(z, out=z)                             # z is ours: reuse it
            s = e.sum(axis=axis, keepdims=True)
            picked = zt - np.log(s.squeeze(axis))
        finally:
            _loud(tok)
        # keep exp(z) and its sum: backward folds the softmax division into its own scaling
        # (one pass), and a forward without backward never pays for it
        self.exp, self.expsum = e, s
        return self._reduce_picked(picked, x.dtype)

    def _release(self):
        super()._release()
        self.exp = self.expsum = None          # freed with the saved input, as in PyTorch

    def backward(self, grad):
        dt = self._input_meta[0][1].np
        if not STATE.enabled:
            # no graph to record: plain NumPy on the kept softmax
            e = self.exp
            c = self._coef_array(grad._data, e.dtype)
            gi = e * (c / self.expsum)                       # softmax * coef * grad
            if self.rows is not None:
                gi[self.rows, self.safe] -= c if not np.ndim(c) else c[:, 0]
            else:
                idx = np.expand_dims(self.safe, self.axis)
                np.put_along_axis(gi, idx, np.take_along_axis(gi, idx, self.axis) - c,
                                  self.axis)
            return _wrap(gi.astype(dt, copy=False))
        from .activation import softmax
        (x,) = self.saved_tensors
        onehot = self._onehot(x._data.shape, dt, 1)
        coef = self.coef if type(self.coef) is float else _wrap(np.expand_dims(
            self.coef.astype(dt, copy=False), self.axis))
        return (softmax(x, self.axis) - _wrap(onehot)) * (self._grad_scale(grad) * coef)


def _nll_apply(cls, input, target, weight, ignore_index, reduction, fn):
    t = _nll_checks(input, target, weight, fn)
    if input._data.dtype.kind != "f":
        kernel = ("nll_loss_out_frame" if cls is _NLLLoss else
                  "log_softmax_lastdim_kernel_impl" if input._data.ndim <= 2 else
                  "log_softmax_kernel_impl")
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(input)}\'')
    w = None
    if weight is not None:
        if weight.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_tname(input)} but found "
                               f"{_tname(weight)}")
        _no_grad_weight(weight, "nll_loss_forward")
        w = weight._data
    return cls.apply(input, target=t, weight=w, ignore_index=ignore_index,
                     reduction=reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of log-probabilities ``input`` at class indices ``target``.

    Shape:
        - input: ``(N, C)``, ``(C,)`` or ``(N, C, d1, ..., dK)``; target: ``(N,)``, ``()`` or
          ``(N, d1, ..., dK)`` of int64 class indices.

    Args:
        weight: per-class weights ``(C,)``; 'mean' divides by the sum of the selected
            weights.
        ignore_index: target value that contributes nothing (and is left out of the mean).
    """
    _check_tensor(input, "nll_loss", "input", 1)
    _check_tensor(target, "nll_loss", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    return _nll_apply(_NLLLoss, input, target, weight, ignore_index, reduction, "nll_loss")


def _class_view(weight: Tensor, ndim: int) -> Tensor:
    """A ``(C,)`` weight shaped to broadcast along the class axis of an ``ndim`` input."""
    if ndim <= 1:
        return weight
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between the logits ``input`` and ``target``: ``nll_loss(log_softmax(
    input, class_dim), target)`` for class indices, or ``-sum(target * log_softmax(input))``
    for class probabilities (a float ``target`` of the input's shape).

    Args:
        weight: per-class weights ``(C,)``.
        ignore_index: class-index target value to skip (not allowed with probabilities).
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.

    Shape: as :func:`nll_loss`; the class dimension is 1 (0 for an unbatched ``(C,)``
    input).
    """
    _check_tensor(input, "cross_entropy", "input", 1)
    _check_tensor(target, "cross_entropy", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing:g}")
    if input._data.shape == target._data.shape:
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction,
                                    label_smoothing)
    if label_smoothing > 0:
        return _cross_entropy_smoothed(input, target, weight, ignore_index, reduction,
                                       label_smoothing)
    return _nll_apply(_CrossEntropy, input, target, weight, ignore_index, reduction,
                      "cross_entropy")


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, ls):
    """Class-probability targets: ``-sum_c w_c t_c log_softmax(x)_c``; 'mean' divides by
    the number of samples (elements / C), whatever the weights."""
    from .activation import log_softmax
    if not _is_float(target):
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {_tname(target)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    nd = input._data.ndim
    axis = 0 if nd == 1 else 1
    n_classes = input._data.shape[axis] if nd else 1
    logp = log_softmax(input, axis)
    if ls > 0:
        target = target * (1 - ls) + ls / n_classes
    if weight is not None:
        if weight._data.ndim != 1 or weight._data.size != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight._data.shape)}")
        prod = logp * target * _class_view(weight, nd)
    else:
        prod = logp * target
    if reduction == "none":
        return -prod.sum(axis)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum() / (input._data.size / n_classes)


def _cross_entropy_smoothed(input, target, weight, ignore_index, reduction, ls):
    """Class indices with label smoothing: ``(1 - ls) * nll + ls / C * smooth``, where
    ``smooth`` is the (weighted) sum of ``-log_softmax`` over the classes, reduced like the
    NLL term (its 'mean' divides by the total selected weight, as PyTorch)."""
    from .activation import log_softmax
    _nll_checks(input, target, weight, "cross_entropy")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"log_softmax_lastdim_kernel_impl" not implemented for '
                                  f'\'{_tname(input)}\'')
    nd = input._data.ndim
    axis = 0 if nd == 1 else 1
    n_classes = input._data.shape[axis]
    logp = log_softmax(input, axis)
    nll = _nll_apply(_NLLLoss, logp, target, weight, ignore_index, reduction, "cross_entropy")
    t = target._data
    ignored = t == ignore_index
    if weight is not None:
        smooth = -(logp * _class_view(weight, nd)).sum(axis)
    else:
        smooth = -logp.sum(axis)
    smooth = _where(ignored, 0.0, smooth)
    if reduction == "mean":
        if weight is not None:
            denom = weight._data[t[~ignored].astype(np.int64)].sum()
        else:
            denom = (~ignored).sum()
        ret = smooth.sum() / float(denom) if denom != 0 else smooth.sum() * float("nan")
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return nll * (1 - ls) + ret * (ls / n_classes)


# =======================================================================================
# poisson_nll_loss, gaussian_nll_loss, kl_div

def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,
                     full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log likelihood of a Poisson ``target`` with rate ``exp(input)`` (``log_input``)
    or ``input``: ``exp(x) - t x``, resp. ``x - t log(x + eps)``.

    Args:
        full: add the Stirling term ``t log t - t + 0.5 log(2 pi t)`` where ``t > 1``.
    """
    _check_tensor(input, "poisson_nll_loss", "input", 1)
    _check_tensor(target, "poisson_nll_loss", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + (target * (2 * math.pi)).log() * 0.5
        loss = loss + _where(target._data > 1, stirling, 0.0)
    return _reduce(loss, reduction)


class _NoGradClamp(Op):
    """``max(x, eps)`` whose gradient is the identity: PyTorch clamps the variance in place
    under ``no_grad``, so the clamp is invisible to autograd."""

    def forward(self, x, eps):
        return np.maximum(x, np.asarray(eps, dtype=x.dtype))

    def backward(self, grad):
        return grad

    def name(self):
        return "CloneBackward0"


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of ``target`` under ``N(input, var)``:
    ``0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps))`` (+ ``0.5 log(2 pi)``
    with ``full``).

    Shape: ``var`` is the input's shape, or that shape with the last dimension dropped or of
    size 1 (one variance for all of it), or with exactly one other dimension of size 1; a
    float is a constant variance.
    """
    _check_tensor(input, "gaussian_nll_loss", "input", 1)
    _check_tensor(target, "gaussian_nll_loss", "target", 2)
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _wrap(np.full(input._data.shape, var, dtype=input._data.dtype))
    elif not isinstance(var, Tensor):
        raise TypeError(f"gaussian_nll_loss(): argument 'var' must be a Tensor or a float, not "
                        f"{type(var).__name__}")
    elif bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    xs, vs = input._data.shape, var._data.shape
    if vs != xs:
        if xs[:-1] == vs:
            var = var.unsqueeze(-1)
        elif not (len(xs) == len(vs)
                  and sum(v for x, v in zip(xs, vs) if x != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction != "none" and reduction != "mean" and reduction != "sum":
        raise ValueError(f"{reduction} is not valid")
    var = _NoGradClamp.apply(var, eps=eps)
    d = input - target
    loss = (var.log() + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)`` with ``input`` given as
    log-probabilities (and ``target`` too if ``log_target``).

    Args:
        reduction: 'batchmean' (the sum divided by the batch size: the mathematical KL
            divergence) | 'sum' | 'mean' (divides by every element: warns) | 'none'.
    """
    _check_tensor(input, "kl_div", "input", 1)
    _check_tensor(target, "kl_div", "target", 2)
    if size_average is not None or reduce is not None:
        red = _check_reduction(legacy_get_string(size_average, reduce))
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          UserWarning, stacklevel=2)
        red = "sum" if reduction == "batchmean" else _check_reduction(reduction)
    if not _is_float(input) or not _is_float(target):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    out = _reduce(loss, red)
    if reduction == "batchmean" and input._data.ndim != 0:
        out = out / input._data.shape[0]
    return out


# =======================================================================================
# margin losses

def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)`` (target is 1 or -1)."""
    _check_tensor(input1, "margin_ranking_loss", "input1", 1)
    _check_tensor(input2, "margin_ranking_loss", "input2", 2)
    _check_tensor(target, "margin_ranking_loss", "target", 3)
    reduction = _resolve(size_average, reduce, reduction)
    if not input1._data.ndim == input2._data.ndim == target._data.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_size(input1._data.shape)}, input2: "
                           f"{_size(input2._data.shape)}, target: {_size(target._data.shape)} ")
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target == 1`` and ``max(0, margin - input)`` where ``target == -1``
    (other target values get both terms, as in PyTorch)."""
    _check_tensor(input, "hinge_embedding_loss", "input", 1)
    _check_tensor(target, "hinge_embedding_loss", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    t = target._data
    margin_term = _where(t != 1, (margin - input).clamp_min(0), 0.0)
    self_term = _where(t != -1, input, 0.0)
    return _reduce(margin_term + self_term, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target * input))``."""
    _check_tensor(input, "soft_margin_loss", "input", 1)
    _check_tensor(target, "soft_margin_loss", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    if target.requires_grad and STATE.enabled:
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect "
                           "to argument 'target'. This input cannot have requires_grad True.")
    loss = (-input * target).exp().log1p()
    if loss.dtype is not input.dtype and _is_float(input):
        loss = loss.to(input.dtype)                     # PyTorch's result has the input's dtype
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """One-versus-all logistic loss averaged over the classes (last dimension):
    ``-mean_c(t_c log(sigmoid(x_c)) + (1 - t_c) log(sigmoid(-x_c)))``."""
    from .activation import logsigmoid
    _check_tensor(input, "multilabel_soft_margin_loss", "input", 1)
    _check_tensor(target, "multilabel_soft_margin_loss", "target", 2)
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input._data.ndim - 1
    loss = loss.sum(class_dim) / input._data.shape[class_dim]
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not valid")


def _check_long(target: Tensor) -> None:
    if target._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {_tname(target)}")


def _non_empty_matrix(input: Tensor, multilabel: bool) -> None:
    s = input._data.shape
    if multilabel:
        ok = (len(s) == 2 and s[1] != 0) or (len(s) == 1 and s[0] != 0) or len(s) == 0
    else:
        ok = (input._data.size > 0 and len(s) <= 2) or (len(s) == 2 and s[1] > 0)
    if not ok:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(s)}")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C``
    per sample.

    Shape: input ``(N, C)`` or ``(C,)``; target ``(N,)`` (resp. ``()``/``(1,)``) of int64.
    """
    from .activation import relu
    _check_tensor(input, "multi_margin_loss", "input", 1)
    _check_tensor(target, "multi_margin_loss", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight._data.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _non_empty_matrix(input, False)
    xs = input._data.shape
    nframe = xs[0] if len(xs) == 2 else 1
    dim = xs[-1] if xs else 1
    ts = target._data.shape
    if len(ts) > 1 or target._data.size != nframe:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to "
                           f"the number of input samples (batch size). Expected target size "
                           f"[{nframe}], but got {list(ts)}. Input has shape {list(xs)}.")
    _check_long(target)
    if weight is not None:
        if weight._data.size != dim:
            raise RuntimeError(f"inconsistent weight size, expected {dim} but got "
                               f"{list(weight._data.shape)}")
        if weight.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_tname(input)} but found "
                               f"{_tname(weight)}")
        _no_grad_weight(weight, "multi_margin_loss")
    t = target._data.reshape(nframe)
    if ((t < 0) | (t >= dim)).any():
        raise RuntimeError("target out of range")
    x2 = input.reshape(nframe, dim)
    idx = _const(t.reshape(nframe, 1))
    z = x2 - x2.gather(1, idx) + margin
    h = relu(z)
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * _const(weight._data[t].reshape(nframe, 1))
    others = np.arange(dim)[None, :] != t[:, None]
    loss = _where(others, h, 0.0).sum(1) / dim
    if len(xs) < 2:
        loss = loss.reshape(ts)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: for every target class ``j`` and non-target class ``i``,
    ``max(0, 1 - (x[j] - x[i])) / C``, summed per sample.

    ``target`` has the input's shape; its class indices are read up to the first -1.
    """
    from .activation import relu
    _check_tensor(input, "multilabel_margin_loss", "input", 1)
    _check_tensor(target, "multilabel_margin_loss", "target", 2)
    reduction = _resolve(size_average, reduce, reduction)
    _non_empty_matrix(input, True)
    xs, ts = input._data.shape, target._data.shape
    if ts != xs:
        raise RuntimeError(f"inconsistent target size: {list(ts)} for input of size: "
                           f"{list(xs)}")
    _check_long(target)
    nframe = xs[0] if len(xs) == 2 else 1
    dim = xs[-1] if xs else 1
    t = target._data.reshape(nframe, dim)
    if ((t < -1) | (t >= dim)).any():
        raise RuntimeError("argument #2 'target' is out of range")
    valid = np.cumprod(t != -1, axis=1).astype(bool)       # the prefix before the first -1
    safe = np.where(valid, t, 0)
    is_target = np.zeros((nframe, dim), dtype=bool)
    rows = np.broadcast_to(np.arange(nframe)[:, None], t.shape)
    is_target[rows[valid], safe[valid]] = True
    x2 = input.reshape(nframe, dim)
    xt = x2.gather(1, _const(safe))                          # (N, S): x at each target
    z = 1 - xt.unsqueeze(2) + x2.unsqueeze(1)                # (N, S, C)
    pairs = valid[:, :, None] & ~is_target[:, None, :]
    loss = _where(pairs, relu(z), 0.0).sum((1, 2)) / dim
    if len(xs) < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``target == -1``; the cosine is taken along the last dimension."""
    _check_tensor(input1, "cosine_embedding_loss", "input1", 1)
    _check_tensor(input2, "cosine_embedding_loss", "input2", 2)
    _check_tensor(target, "cosine_embedding_loss", "target", 3)
    reduction = _resolve(size_average, reduce, reduction)
    td = target._data.ndim
    s1, s2 = list(input1._data.shape), list(input2._data.shape)
    if td > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if td == 1 and (len(s1) != 2 or len(s2) != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {s1} and {s2}.")
    if td == 0 and (len(s1) != 1 or len(s2) != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {s1} and {s2}.")
    eps = 1e-12
    prod = (input1 * input2).sum(td)
    mag1 = (input1 * input1).sum(td) + eps
    mag2 = (input2 * input2).sum(td) + eps
    cos = prod / (mag1 * mag2).sqrt()
    t = target._data
    pos = _where(t == 1, 1 - cos, 0.0)
    neg = _where(t == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(pos + neg, reduction)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                       keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension (PyTorch's ``pairwise_distance``)."""
    from .linalg import linalg_vector_norm
    nd = max(x1._data.ndim, x2._data.ndim)
    return linalg_vector_norm(x1 - x2 + eps, p, max(nd - 1, 0) if nd else None, keepdim)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the p-norm pairwise distance (with
    ``eps`` added to the difference); ``swap`` uses ``min(d(a, n), d(p, n))``."""
    _check_tensor(anchor, "triplet_margin_loss", "anchor", 1)
    _check_tensor(positive, "triplet_margin_loss", "positive", 2)
    _check_tensor(negative, "triplet_margin_loss", "negative", 3)
    reduction = _resolve(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _same_ndims(anchor, positive, negative)
    d_pos = _pairwise_distance(anchor, positive, p, eps)
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(_pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


def _same_ndims(a, p, n):
    da, dp, dn = a._data.ndim, p._data.ndim, n._data.ndim
    if not (da == dp == dn):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {da}D, positive {dp}D, "
                           f"and negative {dn}D inputs")


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """:func:`triplet_margin_loss` with any ``distance_function(x1, x2)`` (default: the
    Euclidean pairwise distance)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _same_ndims(anchor, positive, negative)
    if distance_function is None:
        distance_function = _default_distance()
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance_function(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


def _default_distance():
    """``pairwise_distance`` from the distance family when it is there, else ours."""
    from . import distance
    return getattr(distance, "pairwise_distance", _pairwise_distance)


# =======================================================================================
# CTC loss

_CTC_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


# "minus infinity" inside the recursions: a finite stand-in, so that the log-sum-exp needs no
# special case for all-impossible states (NumPy's exp is also ~10x slower on -inf, ~100x on
# arguments with a subnormal result). Anything below _NEG_HALF is read back as -inf.
_NEG = -1e300
_NEG_HALF = -1e299


def _lse3_step(buf):
    """``log(exp(buf[0]) + exp(buf[1]) + exp(buf[2]))`` for a ``(3, N, L)`` scratch buffer
    (overwritten). Terms more than 700 below the largest one are dropped: they cannot change
    a float64 sum that contains 1."""
    m = buf.max(axis=0)
    buf -= m
    np.maximum(buf, -700.0, out=buf)
    np.exp(buf, out=buf)
    s = buf.sum(axis=0)
    np.log(s, out=s)
    s += m
    return s


class _CTCLoss(Op):
    """Per-sample CTC negative log likelihood ``(N,)`` of log-probabilities ``(T, N, C)``.

    The targets (padded to ``(N, S)``) are extended with blanks to ``L = 2S + 1`` labels
    ``l'``. Forward: ``alpha[t, s] = lse(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2] if
    l'[s] != l'[s-2]) + lp[t, l'[s]]`` for all samples and positions at once (a loop over
    time only); the loss is ``-lse(alpha[T_n-1, 2 S_n], alpha[T_n-1, 2 S_n - 1])``. The
    recursions run in float64.

    Backward: beta is the mirror recursion from each sample's last frame. With the state
    occupancy ``q[t, s] = exp(alpha + beta - lp[t, l'[s]] + nll)``, PyTorch's gradient is
    ``exp(lp[t, c]) - sum_{s: l'[s] = c} q[t, s]`` for ``t < T_n`` and 0 beyond: the gradient
    with respect to the logits when ``lp`` is a log-softmax output (backprop through the
    log_softmax then gives the exact gradient).
    """

    save_inputs = (0,)

    def forward(self, lp, targets, input_lengths, target_lengths, blank, zero_infinity):
        T, N, C = lp.shape
        S = targets.shape[1]
        L = 2 * S + 1
        il, tl = input_lengths, target_lengths
        ext = np.full((N, L), blank, dtype=np.int64)
        ext[:, 1::2] = targets
        lpe = lp[:, np.arange(N)[:, None], ext].astype(np.float64)    # (T, N, L)
        np.maximum(lpe, _NEG, out=lpe)
        s = np.arange(L)
        skip = np.zeros((N, L), dtype=bool)                      # s-2 -> s allowed
        skip[:, 2:] = (s[2:] % 2 == 1) & (ext[:, 2:] != ext[:, :-2])
        skip_pen = np.where(skip, 0.0, _NEG)
        tok = _quiet()
        try:
            # alpha behind two "-inf" columns, so that s-1 and s-2 are plain slices
            ap = np.full((T, N, L + 2), _NEG)
            if T:
                ap[0, :, 2] = lpe[0, :, 0]
                if L > 1:
                    ap[0, :, 3] = np.where(tl > 0, lpe[0, :, 1], _NEG)
            buf = np.empty((3, N, L))
            for t in range(1, T):
                prev = ap[t - 1]
                buf[0] = prev[:, 2:]
                buf[1] = prev[:, 1:-1]
                np.add(prev[:, :-2], skip_pen, out=buf[2])
                cur = _lse3_step(buf)
                cur += lpe[t]
                np.maximum(cur, _NEG, out=cur)
                ap[t, :, 2:] = cur
            alpha = ap[:, :, 2:]
            rows = np.arange(N)
            a_end = alpha[np.maximum(il - 1, 0), rows] if T else np.full((N, L), _NEG)
            l_blank = a_end[rows, 2 * tl]
            l_label = np.where(tl > 0, a_end[rows, np.maximum(2 * tl - 1, 0)], _NEG)
            ll = np.logaddexp(l_blank, l_label)
            nll = np.where(ll < _NEG_HALF, np.inf, -ll)
            nll = np.where(il == 0, np.where(tl == 0, 0.0, np.inf), nll)
        finally:
            _loud(tok)
        self.alpha, self.lpe, self.ext, self.skip = alpha, lpe, ext, skip
        self.il, self.tl, self.nll = il, tl, nll
        self.blank, self.zero_infinity = blank, zero_infinity
        self.inf = np.isposinf(nll)
        if zero_infinity:
            nll = np.where(self.inf, 0.0, nll)
        return nll.astype(lp.dtype)

    def backward(self, grad):
        (lp,) = self.saved_tensors
        return _CTCLossBackward.apply(grad, lp, fwd=self)

    def _release(self):
        super()._release()
        self.alpha = self.lpe = None           # freed with the saved input, as in PyTorch

    def name(self):
        return "CtcLossBackward0"


class _CTCLossBackward(Op):
    """The CTC gradient (see :class:`_CTCLoss`) times the incoming per-sample gradient.
    PyTorch has no derivative of this gradient; neither does ember."""

    def forward(self, g, lp, fwd):
        T, N, C = lp.shape
        alpha, lpe, ext, skip = fwd.alpha, fwd.lpe, fwd.ext, fwd.skip
        il, tl, nll = fwd.il, fwd.tl, fwd.nll
        L = ext.shape[1]
        rows = np.arange(N)
        tok = _quiet()
        try:
            # beta[t, s]: log-probability of emitting the rest from state s at time t (lp at t
            # included, as in alpha); kept before two "-inf" columns (s+1, s+2 are slices)
            bp = np.full((T + 1, N, L + 2), _NEG)
            init = np.full((N, L), _NEG)
            last = np.maximum(il - 1, 0)
            init[rows, 2 * tl] = lpe[last, rows, 2 * tl]
            has_label = tl > 0
            sl = np.maximum(2 * tl - 1, 0)
            init[rows[has_label], sl[has_label]] = lpe[last, rows, sl][has_label]
            skip_pen = np.full((N, L), _NEG)                     # s -> s+2 allowed
            skip_pen[:, :-2] = np.where(skip[:, 2:], 0.0, _NEG)
            end = (il - 1)[:, None]
            buf = np.empty((3, N, L))
            for t in range(T - 1, -1, -1):
                nxt = bp[t + 1]
                buf[0] = nxt[:, :L]
                buf[1] = nxt[:, 1:-1]
                np.add(nxt[:, 2:], skip_pen, out=buf[2])
                rec = _lse3_step(buf)
                rec += lpe[t]
                np.maximum(rec, _NEG, out=rec)
                bp[t, :, :L] = np.where(t == end, init, np.where(t < end, rec, _NEG))
            beta = bp[:T, :, :L]
            ab = alpha + beta
            ab -= lpe
            ab += nll[None, :, None]
            np.maximum(ab, -700.0, out=ab)                 # (ab is ~-2e300 where impossible)
            occ = np.exp(ab, out=ab)                       # (T, N, L) state occupancies
            gr = np.exp(lp.astype(np.float64))
            # sum the occupancy of the states of each class: blanks at once, then the labels
            # by a sort-and-reduceat scatter over flat (sample, class) columns
            gr[:, :, fwd.blank] -= occ[:, :, 0::2].sum(axis=2)
            if L > 1:
                cols = (rows[:, None] * C + ext[:, 1::2]).ravel()     # (N*S,)
                order = np.argsort(cols, kind="stable")
                sc = cols[order]
                starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
                lab = occ[:, :, 1::2].reshape(T, -1)[:, order]
                sums = np.add.reduceat(lab, starts, axis=1) if lab.size else lab
                flat = gr.reshape(T, N * C)
                flat[:, sc[starts]] -= sums
            # an impossible alignment (infinite loss) has a NaN gradient, as in PyTorch
            gr[:, np.isposinf(nll), :] = np.nan
            live = np.arange(T)[:, None] < il[None, :]              # (T, N)
            gr = np.where(live[:, :, None], gr, 0.0)
            if fwd.zero_infinity:
                gr[:, fwd.inf, :] = 0.0
            gr *= np.asarray(g, dtype=np.float64)[None, :, None]
        finally:
            _loud(tok)
        return gr.astype(lp.dtype)

    def backward(self, grad):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")

    def name(self):
        return "CtcLossBackwardBackward0"


def _lengths(x, name: str, n: int):
    """Lengths as an int64 array of size ``n`` (from a tensor, or a sequence of ints)."""
    if isinstance(x, Tensor):
        arr = x._data
        if arr.dtype.kind not in "iub":
            raise RuntimeError(f"{name} must be integral")
        arr = arr.astype(np.int64).reshape(-1)
    else:
        if isinstance(x, numbers.Integral):
            x = (x,)
        arr = np.asarray(list(x))
        if arr.size and arr.dtype.kind not in "iu":
            raise TypeError(f"ctc_loss(): argument '{name}' must be tuple of ints, but found "
                            f"element of type {type(list(x)[0]).__name__}")
        arr = arr.astype(np.int64).reshape(-1)
    if arr.size != n:
        raise RuntimeError(f"{name} must be of size batch_size")
    return arr


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist Temporal Classification loss.

    Args:
        log_probs: ``(T, N, C)`` or unbatched ``(T, C)`` log-probabilities (normally a
            ``log_softmax`` output).
        targets: padded ``(N, S)`` class indices, or all target sequences concatenated
            ``(sum(target_lengths),)``; unbatched: ``(S,)``.
        input_lengths, target_lengths: ``(N,)`` tensors or tuples of ints.
        blank: the blank label.
        reduction: 'mean' divides each sequence's loss by its target length (at least 1)
            and averages over the batch; 'sum'; 'none' gives the ``(N,)`` losses.
        zero_infinity: replace infinite losses (impossible alignments) and their gradients
            by zero.
    """
    _check_tensor(log_probs, "ctc_loss", "log_probs", 1)
    _check_tensor(targets, "ctc_loss", "targets", 2)
    reduction = _check_reduction(reduction)
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError("ctc_loss(): input_lengths and target_lengths must both be Tensors or "
                        "both be tuples of ints")
    nd = log_probs._data.ndim
    if nd not in (2, 3):
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {nd}-dimensional tensor "
                           f"for argument #1 'log_probs'{_CTC_WHERE}")
    unbatched = nd == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp._data.dtype not in (np.float32, np.float64):
        raise NotImplementedError(f'"ctc_loss_cpu" not implemented for '
                                  f'\'{_tname(log_probs)}\'')
    if lp._data.size == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    T, N, C = lp._data.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    il = _lengths(input_lengths, "input_lengths", N)
    tl = _lengths(target_lengths, "target_lengths", N)
    for name, arr in (("input_lengths", il), ("target_lengths", tl)):
        if arr.size and arr.min() < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                               f"{arr.min()}{_CTC_WHERE}")
    if il.size and il.max() > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{il.max()}{_CTC_WHERE}")
    tg = targets._data
    if unbatched and tg.ndim == 1:
        tg = tg[None, :]
    if tg.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {tg.ndim}-dimensional tensor "
                           f"for argument #2 'targets'{_CTC_WHERE}")
    max_tl = int(tl.max()) if tl.size else 0
    if tg.ndim == 2:
        if tg.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size "
                               f"{tg.shape[0]} for argument #2 'targets'{_CTC_WHERE}")
        if tg.shape[1] < max_tl:
            raise RuntimeError(f"Expected tensor to have size at least {max_tl} at dimension 1, "
                               f"but got size {tg.shape[1]} for argument #2 'targets'"
                               f"{_CTC_WHERE}")
        padded = tg[:, :max_tl].astype(np.int64)
    else:
        total = int(tl.sum())
        if tg.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got "
                               f"size {tg.shape[0]} for argument #2 'targets'{_CTC_WHERE}")
        # scatter the concatenated sequences into a padded (N, max_tl) array
        padded = np.zeros((N, max_tl), dtype=np.int64)
        pos = np.arange(max_tl)[None, :]
        starts = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(np.int64)
        mask = pos < tl[:, None]
        padded[mask] = tg.astype(np.int64)[(starts[:, None] + pos)[mask]]
    inside = np.arange(max_tl)[None, :] < tl[:, None]
    bad = inside & ((padded < 0) | (padded >= C))
    if bad.any():
        raise IndexError(f"Target {padded[bad][0]} is out of bounds.")
    padded = np.where(inside, padded, blank)                 # padding: any valid class
    nll = _CTCLoss.apply(lp, targets=padded, input_lengths=il, target_lengths=tl,
                         blank=int(blank), zero_infinity=bool(zero_infinity))
    if reduction == "mean":
        div = _wrap(np.maximum(tl, 1).astype(nll._data.dtype))
        return (nll / div).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll
