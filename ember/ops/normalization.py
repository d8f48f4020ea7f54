"""Normalization layers' functional forms: ``batch_norm``, ``instance_norm``, ``layer_norm``,
``group_norm``, ``rms_norm``, ``local_response_norm`` and ``normalize``.

Batch, instance, layer and group normalization share one fused primitive, ``_Normalize``:
the input is viewed as a small-rank array (``(N, C, L)`` for batch and instance norm,
``(M, K)`` for layer norm, ``(N, G, C/G, L)`` for group norm), statistics are taken over
some of its axes and a per-element affine map (the weight and bias, broadcast along the
other axes) follows. One graph node holds the whole computation, with the closed-form
backward

    gx = invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)),   gxhat = g * weight

(means over the statistics' axes). Only the input and the (small) statistics are kept
for backward, as in PyTorch. When the backward itself is not being recorded (the usual
``backward()``) it runs on NumPy arrays, rebuilding the normalized input in a buffer that
then becomes the input gradient; under ``create_graph=True`` it recomputes the statistics
from the saved input with ember operations, so double backward works.

Evaluation-mode batch norm (and instance norm with running statistics) is a per-channel
affine map of the input, ``x * scale + shift`` (``_ChannelAffine``), with the scale and shift
computed from the statistics and the affine parameters by ember operations.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._dtype import NP_TO_DTYPE
from .._size import Size
from ..autograd.grad_mode import STATE
from ._op import Op, Tensor, _wrap

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
           "local_response_norm", "normalize"]

_LETTERS = "abcdefgh"


# ---------------------------------------------------------------------------------------
# argument checks shared by the functions below

def _check_tensor(x, fn, name, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _tname(t: Tensor) -> str:
    """PyTorch's scalar type name ('Float', 'Long', ...)."""
    return t.dtype._legacy[:-len("Tensor")]


def _check_dtypes(input: Tensor, params, kernel: str) -> np.dtype:
    """Refuse non-floating inputs and parameters of another dtype (PyTorch's CPU kernels
    accept float32 parameters with a half-precision input, and nothing else); returns the
    dtype to compute in (float32 for half-precision inputs)."""
    dt = input._data.dtype
    if dt.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(input)}\'')
    low = dt.itemsize < 4
    for p in params:
        if p is None or p._data.dtype == dt:
            continue
        if low and p._data.dtype == np.float32:
            continue
        if dt == np.float32:
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    return np.dtype(np.float32) if low else dt


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _verify_batch_size(size) -> None:
    """Training statistics need more than one value per channel."""
    size_prods = size[0]
    for s in size[2:]:
        size_prods *= s
    if size_prods == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {size}")


def _verify_spatial_size(size) -> None:
    if _prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input "
                         f"size {size}")


def _check_param_size(t, n, what):
    if t is not None and t._data.size != n:
        raise RuntimeError(f"{what} should contain {n} elements not {t._data.size}")


def _update_running(buf: Tensor, value: np.ndarray, momentum: float) -> None:
    """``buf = (1 - momentum) * buf + momentum * value`` in place, outside autograd (the
    running statistics are buffers, not part of any graph)."""
    a = buf._data
    new = (1.0 - momentum) * a + momentum * value.astype(a.dtype, copy=False)
    np.copyto(a, new.reshape(a.shape), casting="unsafe")
    buf._vc[0] += 1


# ---------------------------------------------------------------------------------------
# The fused primitive

class _Layout:
    """How ``_Normalize`` views its input: ``shape`` (the view), ``axes`` (the statistics'
    axes) and ``wshape`` (the weight's broadcast shape in the view). Builds the einsum
    subscripts of the reductions once."""

    _cache: dict = {}

    def __new__(cls, shape, axes, wshape):
        key = (shape, axes, wshape)
        lay = cls._cache.get(key)
        if lay is not None:
            return lay
        lay = super().__new__(cls)
        lay.shape, lay.axes, lay.wshape = shape, axes, wshape
        nd = len(shape)
        full = _LETTERS[:nd]
        lay.kshape = tuple(1 if i in axes else s for i, s in enumerate(shape))
        keep = "".join(full[i] for i in range(nd) if i not in axes)
        lay.stat1 = f"{full}->{keep}"                      # sum over the stats' axes
        lay.stat2 = f"{full},{full}->{keep}"               # sum of a product over them
        lay.waxes = tuple(i for i in range(nd) if wshape[i] == 1)
        wkeep = "".join(full[i] for i in range(nd) if i not in lay.waxes)
        lay.w1 = f"{full}->{wkeep}"                        # reduce to the weight's shape
        lay.w2 = f"{full},{full}->{wkeep}"
        lay.same = lay.waxes == axes                       # weight lies along the stats
        lay.n = _prod(shape[i] for i in axes)
        if len(cls._cache) > 256:
            cls._cache.clear()
        cls._cache[key] = lay
        return lay


class _Normalize(Op):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the statistics over
    ``layout.axes`` of ``x.reshape(layout.shape)``; outputs ``(y, mean, var)`` (the biased
    variance; both statistics carry no gradient). See the module docstring."""

    save_inputs = (0, 1)
    nondiff_outputs = (1, 2)

    def forward(self, x, w, b, *, layout, eps, cdtype, name):
        self._name = name
        self.layout, self.eps, self.in_shape, self.cdtype = layout, eps, x.shape, cdtype
        self.w_shape = None if w is None else w.shape
        self.b_shape = None if b is None else b.shape
        lay = layout
        xs = x.reshape(lay.shape)
        if xs.dtype != cdtype:
            xs = xs.astype(cdtype)
        n = lay.n
        with np.errstate(all="ignore"):
            mean = np.einsum(lay.stat1, xs) / cdtype.type(n)
            y = xs - mean.reshape(lay.kshape)           # the one full-size allocation
            var = np.einsum(lay.stat2, y, y) / cdtype.type(n)
            invstd = np.asarray(1.0 / np.sqrt(var + cdtype.type(eps)), dtype=cdtype)
        # Only the (small) statistics are kept: backward recomputes xhat from the saved
        # input, into a buffer of its own that then becomes the input gradient.
        self.mean, self.invstd = mean, invstd
        if w is not None and lay.same:
            y *= (invstd.reshape(lay.kshape) * w.reshape(lay.wshape)).astype(cdtype)
        else:
            y *= invstd.reshape(lay.kshape)
            if w is not None:
                y *= w.reshape(lay.wshape).astype(cdtype, copy=False)
        if b is not None:
            y += b.reshape(lay.wshape).astype(cdtype, copy=False)
        y = y.reshape(self.in_shape)
        if y.dtype != x.dtype:
            y = y.astype(x.dtype)
        return y, mean, var

    def backward(self, grad, *_):
        saved = self.saved_tensors                         # (checks versions and freeing)
        needs = self.needs_input_grad
        if STATE.enabled:
            return self._backward_graph(grad, saved, needs)
        lay = self.layout
        n, cdt, k = lay.n, self.cdtype, lay.kshape
        xs = saved[0]._data.reshape(lay.shape)
        g = grad._data.reshape(lay.shape)
        if g.dtype != cdt:
            g = g.astype(cdt)
        istd = self.invstd.reshape(k)
        xhat = xs - self.mean.reshape(k)                   # a private buffer: reused for gx
        if xhat.dtype != cdt:
            xhat = xhat.astype(cdt)
        xhat *= istd
        w = saved[1]._data.reshape(lay.wshape).astype(cdt, copy=False) \
            if self.w_shape is not None else None
        gw = gb = gx = None
        fold = needs[0] and lay.same and w is not None
        if needs[1] or fold:
            sum_gxhat = np.einsum(lay.w2, g, xhat)
            if needs[1]:
                gw = _wrap(sum_gxhat.reshape(self.w_shape))
        if needs[2] or fold:
            sum_g = np.einsum(lay.w1, g)
            if needs[2]:
                gb = _wrap(sum_g.reshape(self.b_shape))
        if needs[0]:
            inv_n = cdt.type(1.0 / n) if n else cdt.type(np.nan)
            gx = xhat                                      # overwritten in place below
            if fold:
                # the weight is constant over each statistics group: fold it in at the end
                gx *= (-(sum_gxhat * inv_n)).reshape(k)
                gx += g
                gx -= (sum_g * inv_n).reshape(k)
                gx *= w * istd
            else:
                gxh = g * w if w is not None else g
                c1 = np.einsum(lay.stat1, gxh) * inv_n
                c2 = np.einsum(lay.stat2, gxh, xhat) * inv_n
                gx *= (-c2).reshape(k)
                gx += gxh
                gx -= c1.reshape(k)
                gx *= istd
            gx = _wrap(gx.reshape(self.in_shape))
        return gx, gw, gb

    def _backward_graph(self, grad, saved, needs):
        """The same gradients with ember operations (recorded for double backward)."""
        lay = self.layout
        x = saved[0]
        xs = x.reshape(lay.shape)
        if xs._data.dtype != self.cdtype:             # half precision: work in float32
            xs = xs.to(NP_TO_DTYPE[self.cdtype])
        axes = lay.axes
        d = xs - xs.mean(axes, keepdim=True)
        istd = ((d * d).mean(axes, keepdim=True) + self.eps).rsqrt()
        xhat = d * istd
        g = grad.reshape(lay.shape)
        gx = gw = gb = None
        if needs[1]:
            gw = (g * xhat).sum(lay.waxes).reshape(self.w_shape)
        if needs[2]:
            gb = g.sum(lay.waxes).reshape(self.b_shape)
        if needs[0]:
            gxh = g * saved[1].reshape(lay.wshape) if self.w_shape is not None else g
            gx = (gxh - gxh.mean(axes, keepdim=True)
                  - xhat * (gxh * xhat).mean(axes, keepdim=True)) * istd
            gx = gx.reshape(self.in_shape)
        return gx, gw, gb


class _NormalizeNoWeight(_Normalize):
    save_inputs = (0,)


def _normalize(input, weight, bias, layout, eps, cdtype, name):
    cls = _Normalize if weight is not None else _NormalizeNoWeight
    return cls.apply(input, weight, bias, layout=layout, eps=eps, cdtype=cdtype, name=name)


class _ChannelAffine(Op):
    """``y = x * scale + shift`` with ``scale`` and ``shift`` per channel (dimension 1):
    one pass and one allocation for evaluation-mode batch norm."""

    save_inputs = (0, 1)

    def forward(self, x, scale, shift):
        self.bshape = (-1,) + (1,) * (x.ndim - 2)
        y = x * scale.reshape(self.bshape)
        y += shift.reshape(self.bshape)
        return y

    def backward(self, grad):
        x, scale = self.saved_tensors
        needs = self.needs_input_grad
        axes = (0,) + tuple(range(2, grad._data.ndim))
        gx = grad * scale.reshape(self.bshape) if needs[0] else None
        gs = (grad * x).sum(axes) if needs[1] else None
        gb = grad.sum(axes) if needs[2] else None
        return gx, gs, gb

    def name(self):
        return "NativeBatchNormBackward0"


def _affine_channels(input: Tensor, mean: Tensor, var: Tensor, weight, bias, eps):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` with fixed per-channel statistics
    (channel dimension 1), as ``x * scale + shift``."""
    dt = input.dtype
    # half-precision inputs: compute the scale in float32 (the statistics' dtype)
    cdt = dt if input._data.dtype.itemsize >= 4 else NP_TO_DTYPE[np.dtype(np.float32)]
    mean, var = mean.to(cdt), var.to(cdt)
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.to(cdt)
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias.to(cdt)
    if scale.dtype is not dt:
        scale, shift = scale.to(dt), shift.to(dt)
    if input._data.ndim < 2:
        return input * scale + shift
    return _ChannelAffine.apply(input, scale, shift)


# ---------------------------------------------------------------------------------------
# batch_norm / instance_norm

def _channels(input: Tensor) -> int:
    return input._data.shape[1] if input._data.ndim > 1 else 0


def _check_eps(eps, training, fn="batch_norm"):
    if training and eps <= 0.0:
        raise ValueError(f"{fn} eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"{fn} eps must be non-negative, but got {eps}")


def _check_momentum(momentum, fn, pos):
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"{fn}(): argument 'momentum' (position {pos}) must be float, not "
                        f"{type(momentum).__name__}")


def _bn_checks(input, running_mean, running_var, weight, bias, fn):
    _check_tensor(input, fn, "input", 1)
    for name, t, pos in (("running_mean", running_mean, 2), ("running_var", running_var, 3),
                         ("weight", weight, 4), ("bias", bias, 5)):
        if t is not None:
            _check_tensor(t, fn, name, pos)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be "
                         "None")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over the channel dimension 1.

    In training mode the batch's statistics (over every dimension but 1) normalize the
    input, and the running statistics, if given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat`` (the unbiased batch
    variance for ``running_var``). In evaluation mode the running statistics are used.

    Shape:
        - input: ``(N, C)`` or ``(N, C, *)``; running_mean, running_var, weight, bias:
          ``(C,)``. Output: same as input.
    """
    _bn_checks(input, running_mean, running_var, weight, bias, "batch_norm")
    _check_momentum(momentum, "batch_norm", 7)
    if training:
        _verify_batch_size(input.shape)
    _check_eps(eps, training)
    if not training and running_mean is None:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    c = _channels(input)
    if input._data.ndim == 1 and running_mean is None and weight is None and bias is None:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got "
                         "1)")
    _check_param_size(running_mean, c, "running_mean")
    _check_param_size(running_var, c, "running_var")
    _check_param_size(weight, c, "weight")
    _check_param_size(bias, c, "bias")
    if running_mean is not None:
        for name, t in (("running_mean", running_mean), ("running_var", running_var)):
            if t._data.ndim != 1:
                raise RuntimeError(f"TensorAccessor expected 1 dims but tensor has "
                                   f"{t._data.ndim}")
    cdtype = _check_dtypes(input, (weight, bias, running_mean, running_var), "batch_norm")
    shape = input._data.shape
    if not training:
        return _affine_channels(input, running_mean, running_var, weight, bias, eps)
    n_, c_ = shape[0], shape[1]
    view = (n_, c_, _prod(shape[2:]))
    lay = _Layout(view, (0, 2), (1, c_, 1))
    y, mean, var = _normalize(input, weight, bias, lay, eps, cdtype,
                              "NativeBatchNormBackward0")
    n = lay.n
    if running_mean is not None and n > 0:
        _update_running(running_mean, mean._data, momentum)
        _update_running(running_var, var._data * (n / (n - 1)), momentum)
    return y


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization: each channel of each sample normalized by its own
    statistics (over the spatial dimensions).

    With ``use_input_stats=False`` the running statistics normalize instead. Given running
    statistics and ``use_input_stats=True``, they are updated in place with the average over
    the batch of each instance's statistics (unbiased variance).

    Shape:
        - input: ``(N, C, *)``; running_mean, running_var, weight, bias: ``(C,)``.
    """
    _bn_checks(input, running_mean, running_var, weight, bias, "instance_norm")
    _check_momentum(momentum, "instance_norm", 7)
    if use_input_stats:
        _verify_spatial_size(input.shape)
    if not use_input_stats and running_mean is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    shape = input._data.shape
    c = _channels(input)
    nc = shape[0] * c
    # PyTorch runs batch norm on the input viewed as (1, N*C, *) with the per-channel
    # tensors repeated N times: its messages count N*C
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != c:
            raise RuntimeError(f"{name} should contain {nc} elements not "
                               f"{t._data.size * shape[0]}")
    # (the running statistics may have another floating dtype: they are converted)
    cdtype = _check_dtypes(input, (weight, bias), "batch_norm")
    if not use_input_stats:
        return _affine_channels(input, running_mean, running_var, weight, bias, eps)
    view = (shape[0], c, _prod(shape[2:]))
    lay = _Layout(view, (2,), (1, c, 1))
    y, mean, var = _normalize(input, weight, bias, lay, eps, cdtype,
                              "NativeBatchNormBackward0")
    n = lay.n
    if running_mean is not None and shape[0] > 0 and n > 0:
        _update_running(running_mean, mean._data.mean(axis=0), momentum)
        _update_running(running_var, (var._data * (n / (n - 1))).mean(axis=0), momentum)
    return y


# ---------------------------------------------------------------------------------------
# layer_norm / group_norm / rms_norm

def _shape_list(normalized_shape, fn):
    if isinstance(normalized_shape, (tuple, list, Size)) and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool)
            for s in normalized_shape):
        return [int(s) for s in normalized_shape]
    raise TypeError(f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                    f"not {type(normalized_shape).__name__}")


def _check_normalized(input, ns, weight, bias, sep=", "):
    if len(ns) == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           f"containing at least one element, but got normalized_shape = {ns}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and list(t._data.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t._data.shape)} and "
                               f"normalized_shape = {ns}")
    shape = list(input._data.shape)
    if len(shape) < len(ns) or shape[len(shape) - len(ns):] != ns:
        raise RuntimeError(f"Given normalized_shape={ns}, expected input with shape "
                           f"[*{sep}{', '.join(map(str, ns))}], but got input of size"
                           f"{list(input._data.shape)}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the last ``len(normalized_shape)`` dimensions.

    Shape:
        - input: ``(*, *normalized_shape)``; weight, bias: ``normalized_shape``.
    """
    _check_tensor(input, "layer_norm", "input", 1)
    ns = _shape_list(normalized_shape, "layer_norm")
    for name, t, pos in (("weight", weight, 3), ("bias", bias, 4)):
        if t is not None:
            _check_tensor(t, "layer_norm", name, pos)
    _check_normalized(input, ns, weight, bias)
    cdtype = _check_dtypes(input, (weight, bias), "LayerNormKernelImpl")
    shape = input._data.shape
    k = _prod(ns)
    m = _prod(shape[:len(shape) - len(ns)])
    lay = _Layout((m, k), (1,), (1, k))
    return _normalize(input, weight, bias, lay, eps, cdtype, "NativeLayerNormBackward0")[0]


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalization: the channels are split into ``num_groups`` groups, each
    normalized (per sample) by its own statistics; then a per-channel affine map.

    Shape:
        - input: ``(N, C, *)`` with C divisible by num_groups; weight, bias: ``(C,)``.
    """
    _check_tensor(input, "group_norm", "input", 1)
    for name, t, pos in (("weight", weight, 3), ("bias", bias, 4)):
        if t is not None:
            _check_tensor(t, "group_norm", name, pos)
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{len(shape)}")
    _verify_batch_size([shape[0] * shape[1] // num_groups, num_groups] + list(shape[2:]))
    n, c = shape[0], shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t._data.ndim != 1 or t._data.shape[0] != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape "
                               f"{list(t._data.shape)} and input of shape {list(shape)}")
    cdtype = _check_dtypes(input, (weight, bias), "GroupNormKernelImpl")
    d = c // num_groups
    lay = _Layout((n, num_groups, d, _prod(shape[2:])), (2, 3), (1, num_groups, d, 1))
    return _normalize(input, weight, bias, lay, eps, cdtype, "NativeGroupNormBackward0")[0]


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalization over the last ``len(normalized_shape)`` dimensions:
    ``x / sqrt(mean(x^2) + eps) * weight``; ``eps`` defaults to the dtype's machine epsilon.
    """
    _check_tensor(input, "rms_norm", "input", 1)
    ns = _shape_list(normalized_shape, "rms_norm")
    if weight is not None:
        _check_tensor(weight, "rms_norm", "weight", 3)
    _check_normalized(input, ns, weight, None, sep="")
    dt = input._data.dtype
    if dt.kind != "f":
        raise NotImplementedError(f'"rms_norm" not implemented for \'{_tname(input)}\'')
    if eps is None:
        eps = float(np.finfo(dt).eps)
    x = input
    if dt.itemsize < 4:                           # half precision: compute in float32
        x = input.float()
    dims = tuple(range(-len(ns), 0))
    y = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    if y.dtype is not input.dtype:
        y = y.to(input.dtype)
    if weight is not None:
        y = y * weight
    return y


# ---------------------------------------------------------------------------------------
# local_response_norm

class _ChannelWindowSum(Op):
    """``out[:, c] = sum(x[:, c - lo : c + hi + 1])`` along dimension 1, zero outside.

    Its adjoint is the same sum with ``lo`` and ``hi`` swapped, which is the backward (and,
    again, the double backward)."""

    def forward(self, x, lo, hi):
        self.lo, self.hi = lo, hi
        c = x.shape[1]
        pad = [(0, 0)] * x.ndim
        pad[1] = (lo, hi)
        xp = np.pad(x, pad)
        out = xp[:, 0:c].copy()
        for k in range(1, lo + hi + 1):        # a loop over the window's offsets only
            out += xp[:, k:k + c]
        return out

    def backward(self, grad):
        return _ChannelWindowSum.apply(grad, lo=self.hi, hi=self.lo)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalization across channels (dimension 1):
    ``x / (k + alpha / size * sum_{window} x^2) ** beta``, the window of ``size`` channels
    around each channel (zero-padded at the ends).

    Shape:
        - input: ``(N, C, *)`` with at least 3 dimensions.
    """
    _check_tensor(input, "local_response_norm", "input", 1)
    dim = input._data.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input._data.size == 0:
        return input
    if size <= 0:
        if dim == 3:
            raise RuntimeError(f"kernel size should be greater than zero, but got kH: {size} "
                               f"kW: 1")
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {size} "
                           f"kH: 1 kW: 1")
    sq = input * input
    div = _ChannelWindowSum.apply(sq, lo=size // 2, hi=(size - 1) // 2)
    div = (div * (alpha / size) + k) ** beta
    return input / div


# ---------------------------------------------------------------------------------------
# normalize

def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` with the norm taken along ``dim``."""
    _check_tensor(input, "normalize", "input", 1)
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    from .elementwise import div
    return div(input, denom, out=out)


# ---------------------------------------------------------------------------------------
# PyTorch's top-level names (``torch.batch_norm`` ...), with their own signatures

def _top_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
                    cudnn_enabled):
    """``torch.batch_norm``: ``F.batch_norm`` with the arguments in ATen's order."""
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _top_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
                       momentum, eps, cudnn_enabled):
    """``torch.instance_norm``: ``F.instance_norm`` with the arguments in ATen's order."""
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                         momentum, eps)


def _top_layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5,
                    cudnn_enable=True):
    """``torch.layer_norm``."""
    return layer_norm(input, normalized_shape, weight, bias, eps)


def _top_group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """``torch.group_norm``."""
    return group_norm(input, num_groups, weight, bias, eps)


def _top_rms_norm(input, normalized_shape, weight=None, eps=None):
    """``torch.rms_norm``."""
    return rms_norm(input, normalized_shape, weight, eps)


def _top_native_layer_norm(input, normalized_shape, weight, bias, eps):
    """``torch.native_layer_norm``: ``(output, mean, rstd)``, the statistics with the
    normalized dimensions kept as size 1."""
    _check_tensor(input, "native_layer_norm", "input", 1)
    ns = _shape_list(normalized_shape, "native_layer_norm")
    _check_normalized(input, ns, weight, bias)
    cdtype = _check_dtypes(input, (weight, bias), "LayerNormKernelImpl")
    shape = input._data.shape
    lead = shape[:len(shape) - len(ns)]
    lay = _Layout((_prod(lead), _prod(ns)), (1,), (1, _prod(ns)))
    y, mean, var = _normalize(input, weight, bias, lay, eps, cdtype, "NativeLayerNormBackward0")
    kshape = lead + (1,) * len(ns)
    rstd = 1.0 / np.sqrt(var._data + cdtype.type(eps))
    return y, _wrap(mean._data.reshape(kshape)), _wrap(rstd.astype(cdtype).reshape(kshape))


TOP_LEVEL = {
    "batch_norm": _top_batch_norm,
    "instance_norm": _top_instance_norm,
    "layer_norm": _top_layer_norm,
    "group_norm": _top_group_norm,
    "rms_norm": _top_rms_norm,
    "native_layer_norm": _top_native_layer_norm,
}
for _name, _fn in TOP_LEVEL.items():
    _fn.__name__ = _fn.__qualname__ = _name
del _name, _fn

