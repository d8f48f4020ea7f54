"""Activation functions: the primitives behind ``ember.nn.functional.relu``, ``softmax``, ...

The hot ones (``relu``, ``softmax``, ``log_softmax``, ``gelu``; ``sigmoid`` and ``tanh`` live
in ``elementwise``) are single fused primitives: the forward is one NumPy computation, the
backward a few ember operations, using the saved output where that is cheaper (softmax,
log_softmax, relu). Every other pointwise activation is one primitive too, with the
derivative written out by hand, because composing them from ``where`` would leak NaN
gradients from the branch that is not taken (``softplus`` at large inputs, ``elu`` ...).
A few that PyTorch itself composes (``tanhshrink``, ``softsign``, ``glu``, ``prelu``,
``softmin``, ``gumbel_softmax``) are composites here as well.

Conventions shared by all of them:

* the gradient at a kink is PyTorch's (``relu'(0) = 0``, ``leaky_relu'(0) = slope``,
  ``hardtanh'`` is 0 at the bounds, ...), and a masked-out gradient is *selected* away, not
  multiplied by 0, so an infinite incoming gradient does not turn into NaN;
* float16 inputs are computed in float32 and rounded once at the end (PyTorch's CPU kernels
  compute half precision in float, too);
* the in-place forms (``relu_``, ``inplace=True``) compute out of place and write through
  ``inplace_update``, so views, version counters and leaf checks behave as for every other
  in-place op. Where PyTorch's in-place backward reads the *result* (relu, leaky_relu,
  rrelu, elu, celu, selu) the saved output is re-pointed at the written tensor, so changing it in place
  afterwards raises the usual "modified by an inplace operation" error, as in PyTorch; the
  others keep a copy of the original input (PyTorch does the same for them).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._dtype import NP_TO_DTYPE
from .._tensor import Tensor, _wrap, _wrap_dim
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import SavedTensor
from ._op import Op, tensor_method
from .elementwise import Where, _keep_original, _loud, _quiet, _tname, erf, exp, sigmoid, tanh
from .inplace import inplace_update

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_",
           "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid",
           "logsigmoid", "hardsigmoid", "tanh", "hardtanh", "hardtanh_", "hardswish",
           "tanhshrink", "softplus", "softsign", "softshrink", "hardshrink", "threshold",
           "threshold_", "glu", "softmax", "log_softmax", "softmin", "gumbel_softmax"]

# The ``torch.<name>`` forms, name -> function, with PyTorch's top-level signatures (no
# ``inplace=``, ``dim`` required for softmax, ``generator=`` for rrelu): relu, relu_, selu,
# selu_, celu, celu_, rrelu, rrelu_, prelu, hardshrink, threshold, threshold_, softmax,
# log_softmax (filled in by ``_top`` at the end of this file). ``sigmoid`` and ``tanh`` are
# already public from ``elementwise``.
TOP_LEVEL: dict = {}
TOP_LEVEL_FUNCTIONS = TOP_LEVEL

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_TANH_A = 0.044715
_ONE_SIXTH_F = float(np.float32(1) / np.float32(6))


# =======================================================================================
# argument checks and small helpers

def _check_tensor(x, fn, arg="input", pos=1):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _category(x: Tensor) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return NP_TO_DTYPE[x._data.dtype]._category


def _floating(x: Tensor, kernel: str, complex_ok=False) -> None:
    """PyTorch's NotImplementedError for the dtypes a kernel is not compiled for."""
    c = _category(x)
    if c != 2 and not (complex_ok and c == 3):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(x)}\'')


def _opmath(x: np.ndarray) -> np.ndarray:
    """float16 is computed in float32 (one rounding at the end, as PyTorch's CPU kernels)."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


class ConstScale(Op):
    """``grad * coef`` for a constant NumPy array ``coef`` (the derivative of a
    piecewise-linear activation). A bool ``coef`` is a mask: masked-out elements are 0 even
    where ``grad`` is inf or NaN, as PyTorch's select. Linear in ``grad``, so its own
    backward is itself (double backward)."""

    def forward(self, g, coef):
        self.coef = coef
        tok = _quiet()
        try:
            r = np.multiply(g, coef, dtype=g.dtype)   # much faster than np.where
        finally:
            _loud(tok)
        if coef.dtype == np.bool_ and not np.isfinite(g).all():
            r = np.where(coef, g, g.dtype.type(0))
        return r

    def backward(self, grad):
        return ConstScale.apply(grad, coef=self.coef)

    def name(self):
        return "ThresholdBackwardBackward0"


def _masked(grad: Tensor, mask) -> Tensor:
    """``grad`` where ``mask`` (a NumPy bool array) holds, else 0."""
    return ConstScale.apply(grad, coef=mask)


def _two_valued(mask, a: float, b: float, dtype) -> np.ndarray:
    """``a`` where ``mask`` else ``b``, exactly, by arithmetic (faster than np.where)."""
    if not (math.isfinite(a) and math.isfinite(b)):       # inf * 0 would give NaN
        return np.where(mask, a, b).astype(dtype)
    m = mask.astype(dtype)
    coef = m * a if a != 1 else m
    coef += (~mask).astype(dtype) * b
    return coef


def _select(mask, a, b) -> Tensor:
    """``a`` where ``mask`` else ``b`` (Tensors or numbers; the result has a Tensor's dtype)."""
    dt = (a if isinstance(a, Tensor) else b)._data.dtype
    return Where.apply(mask, a, b, dtype=dt)


def _write_inplace(target: Tensor, result: Tensor, from_output=False) -> Tensor:
    """Write ``result`` (computed out of place from ``target``) into ``target``.

    The node that computed ``result`` may have saved ``target`` as its input: that reference
    is pointed at a copy of the old values (the write is about to change them). If
    ``from_output``, the node's backward reads its output, which after the write is
    ``target`` itself: the saved output is re-pointed at ``target`` (sharing its memory and
    version counter), so a later in-place change of ``target`` is detected on backward."""
    node = result.grad_fn
    if node is not None and node._saved:
        _keep_original(node, target)
    inplace_update(target, result)
    if from_output and node is not None and node._saved:
        node._saved = tuple(SavedTensor(target, s.output_nr) if s.output_nr is not None
                            else s for s in node._saved)
    return target


def _top(name: str, method=False):
    """Register a function as the ``torch.<name>`` form (and optionally a Tensor method)."""
    def register(fn):
        fn.__name__ = fn.__qualname__ = name
        TOP_LEVEL[name] = fn
        if method:
            tensor_method(fn, name=name)
        return fn
    return register


# =======================================================================================
# relu, hardtanh, relu6, threshold: piecewise-linear, integer inputs allowed

class Relu(Op):
    """``max(x, 0)``; backward ``grad * (y > 0)``, read from the saved output."""
    save_outputs = (0,)

    def forward(self, x):
        return np.maximum(x, 0)              # NaN propagates; integer dtypes are kept

    def backward(self, grad):
        (y,) = self.saved_tensors
        return _masked(grad, ~(y._data <= 0))     # NaN passes the gradient, as PyTorch


def _check_relu_dtype(input, fn="relu"):
    c = _category(input)
    if c == 0:
        raise RuntimeError(f"Boolean inputs not supported for {fn}")
    if c == 3:
        raise NotImplementedError("clamp is not supported for complex types")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Rectified linear unit, ``max(0, input)`` elementwise (integer dtypes are kept).

    Args:
        input: any shape.
        inplace: overwrite ``input`` with the result.
    """
    _check_tensor(input, "relu")
    _check_relu_dtype(input)
    if inplace:
        return _write_inplace(input, Relu.apply(input), from_output=True)
    return Relu.apply(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


class Hardtanh(Op):
    """``clamp(x, min_val, max_val)``; gradient 1 strictly inside the bounds, else 0."""
    save_inputs = (0,)

    def forward(self, x, lo, hi):
        self.lo, self.hi = lo, hi
        return np.minimum(np.maximum(x, lo), hi)   # NaN propagates, like clamp

    def backward(self, grad):
        (x,) = self.saved_tensors
        xd = x._data
        return _masked(grad, ~((xd <= self.lo) | (xd >= self.hi)))


_C_INT = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
          "int64": "int64_t"}


def _int_scalar(v, dt: np.dtype):
    """A Python number as a scalar of integer dtype ``dt``: truncated, range-checked with
    PyTorch's message (unsigned types also take negative values down to ``-max``, which
    wrap around, as PyTorch's scalar conversion does)."""
    iv = int(v)
    info = np.iinfo(dt)
    lo = -info.max if info.min == 0 else info.min
    if not lo <= iv <= info.max:
        raise RuntimeError(f"value cannot be converted to type {_C_INT[dt.name]} without "
                           f"overflow")
    return np.asarray(iv).astype(dt)[()]


def _hardtanh(input, min_val, max_val, inplace, fn):
    _check_tensor(input, fn)
    c = _category(input)
    if c == 0:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if c == 3:
        raise NotImplementedError("clamp is not supported for complex types")
    if c == 1:
        # the bounds are first taken as int64, then as the input's dtype
        dt, i64 = input._data.dtype, np.dtype(np.int64)
        lo, hi = _int_scalar(min_val, i64), _int_scalar(max_val, i64)
        if dt.kind == "u" and (lo < 0 or hi < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        lo, hi = _int_scalar(min_val, dt), _int_scalar(max_val, dt)
    else:
        lo, hi = float(min_val), float(max_val)
    r = Hardtanh.apply(input, lo=lo, hi=hi)
    return _write_inplace(input, r) if inplace else r


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``clamp(input, min_val, max_val)``; the gradient is 0 at and beyond the bounds.

    Raises:
        ValueError: if ``min_val > max_val``.
    """
    _check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _hardtanh(input, min_val, max_val, inplace, "hardtanh")


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, input), 6)`` (``hardtanh(input, 0, 6)``)."""
    return _hardtanh(input, 0.0, 6.0, inplace, "relu6")


class Threshold(Op):
    """``value`` where ``x <= threshold``, else ``x``; gradient 0 where replaced."""
    save_inputs = (0,)

    def forward(self, x, threshold, value):
        self.threshold = threshold
        y = np.where(x <= threshold, value, x)
        return y if y.dtype == x.dtype else y.astype(x.dtype)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return _masked(grad, ~(x._data <= self.threshold))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """Replace every element ``<= threshold`` by ``value`` (integer dtypes are kept; the
    scalars are converted to the input's dtype)."""
    _check_tensor(input, "threshold")
    if _category(input) in (0, 3):
        raise NotImplementedError(f'"threshold_cpu" not implemented for \'{_tname(input)}\'')
    if _category(input) == 1:
        dt = input._data.dtype
        th, val = _int_scalar(threshold, dt), _int_scalar(value, dt)
    else:
        th, val = float(threshold), float(value)
    r = Threshold.apply(input, threshold=th, value=val)
    return _write_inplace(input, r) if inplace else r


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return globals()["threshold"](input, threshold, value, inplace=True)


# =======================================================================================
# leaky_relu, rrelu, prelu

_LEAKY_INPLACE_NEG = (
    "In-place leakyReLu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead. File an issue at "
    "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu "
    "backward calculation with negative slope")


class LeakyRelu(Op):
    """``x`` where ``x > 0``, else ``slope * x``. The gradient at 0 is ``slope``."""
    save_inputs = (0,)

    def forward(self, x, slope):
        self.slope = slope
        xc = _opmath(x)
        tok = _quiet()
        try:                                  # x * 1 or x * slope: PyTorch's products exactly
            y = xc * _two_valued(xc > 0, 1.0, slope, xc.dtype)
        finally:
            _loud(tok)
        return y.astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return ConstScale.apply(grad, coef=_two_valued(x._data > 0, 1.0, self.slope,
                                                       grad._data.dtype))


class LeakyReluResult(LeakyRelu):
    """The in-place form: backward reads the result (its sign is the input's sign for a
    non-negative slope; PyTorch refuses negative slopes here, and so do we)."""
    save_inputs = ()
    save_outputs = (0,)

    def backward(self, grad):
        if self.slope < 0:
            raise RuntimeError(_LEAKY_INPLACE_NEG)
        return super().backward(grad)

    def name(self):
        return "LeakyReluBackward1"


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input``."""
    _check_tensor(input, "leaky_relu")
    _floating(input, "leaky_relu_cpu")
    slope = float(negative_slope)
    if inplace:
        return _write_inplace(input, LeakyReluResult.apply(input, slope=slope),
                              from_output=True)
    return LeakyRelu.apply(input, slope=slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


class RreluWithNoise(Op):
    """Training-mode rrelu: ``x * noise`` with ``noise ~ U(lower, upper)`` where ``x <= 0``
    and 1 elsewhere; the noise is kept (a constant) for backward."""

    def forward(self, x, lower, upper, rng):
        from .._random import uniform_array
        xc = _opmath(x)
        u = uniform_array(rng, x.shape, xc.dtype)
        noise = np.where(xc <= 0, lower + (upper - lower) * u, 1).astype(xc.dtype, copy=False)
        self.noise = noise
        return (xc * noise).astype(x.dtype, copy=False)

    def backward(self, grad):
        return grad * _wrap(self.noise.astype(grad._data.dtype, copy=False))


class RreluWithNoiseResult(RreluWithNoise):
    """The in-place form. PyTorch's backward keeps the result here, so changing it in place
    afterwards is an error; saving the output (unused otherwise) gives the same check."""
    save_outputs = (0,)

    def backward(self, grad):
        _ = self.saved_tensors                  # unpacking runs the version check
        return super().backward(grad)

    def name(self):
        return "RreluWithNoiseBackward1"


def _rrelu(input, lower, upper, training, inplace, generator, fn):
    _check_tensor(input, fn)
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        # evaluation: a leaky relu with the mean slope
        _floating(input, "leaky_relu_cpu")
        slope = (float(lower) + float(upper)) / 2
        if inplace:
            return _write_inplace(input, LeakyReluResult.apply(input, slope=slope),
                                  from_output=True)
        return LeakyRelu.apply(input, slope=slope)
    _floating(input, "rrelu_with_noise_out_cpu")
    from .._random import default_rng
    cls = RreluWithNoiseResult if inplace else RreluWithNoise
    r = cls.apply(input, lower=float(lower), upper=float(upper), rng=default_rng(generator))
    return _write_inplace(input, r, from_output=True) if inplace else r


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky relu. In training, each non-positive element gets its own slope drawn
    from ``U(lower, upper)`` (from ember's default generator); in evaluation the slope is the
    mean ``(lower + upper) / 2``."""
    return _rrelu(input, lower, upper, training, inplace, None, "rrelu")


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return _rrelu(input, lower, upper, training, True, None, "rrelu_")


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``input`` where positive, else ``weight * input``, with a learned slope per channel
    (dimension 1) or a single one.

    Shape:
        - input: ``(N, C, *)``, or any shape when ``weight`` has one element.
        - weight: ``(C,)``, ``(1,)`` or a 0-d tensor.
    """
    _check_tensor(input, "prelu")
    _check_tensor(weight, "prelu", "weight", 2)
    wd = weight._data
    if wd.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {wd.ndim}")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {_tname(input)} and "
                           f"{_tname(weight)}")
    nd = input._data.ndim
    channels = input._data.shape[1] if nd >= 2 else 1
    if wd.size != 1 and wd.size != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {wd.size} and channel size = {channels}.")
    if wd.size == 1:
        w = weight.reshape(())
    else:
        w = weight.reshape((channels,) + (1,) * (nd - 2))   # broadcast along dim 1
    return _select(input > 0, input, w * input)        # (a traced mask: ember.onnx sees it)


# =======================================================================================
# elu, selu, celu

_ELU_INPLACE_NEG = (
    "In-place elu backward calculation is triggered with a negative slope which is not "
    "supported. This is caused by calling in-place forward function with a negative slope, "
    "please call out-of-place version instead.")


class Elu(Op):
    """``scale * x`` for ``x > 0``, else ``alpha * scale * (exp(x * input_scale) - 1)``:
    elu (scale = input_scale = 1), selu (fixed alpha and scale), celu (input_scale =
    1 / alpha)."""
    save_inputs = (0,)

    def forward(self, x, alpha, scale, input_scale):
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale
        xc = _opmath(x)
        tok = _quiet()
        try:
            neg = np.expm1(xc * input_scale) * (alpha * scale)
            y = np.where(xc > 0, xc * scale, neg)
        finally:
            _loud(tok)
        return y.astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        neg = x._data <= 0
        c, k = self.input_scale, self.alpha * self.scale * self.input_scale
        # exp of the non-positive part only: finite everywhere, so the branch that is not
        # taken cannot inject inf * 0 = NaN into double backward
        xn = _select(neg, x, 0)
        return _select(neg, grad * (exp(xn * c) * k), grad * self.scale)


class EluResult(Elu):
    """The in-place form: backward from the result, ``y + alpha * scale`` on the negative
    side (valid for alpha >= 0, which PyTorch requires there)."""
    save_inputs = ()
    save_outputs = (0,)

    def backward(self, grad):
        if self.alpha < 0:
            raise RuntimeError(_ELU_INPLACE_NEG)
        (y,) = self.saved_tensors
        neg = y._data <= 0
        return _select(neg, grad * ((y + self.alpha * self.scale) * self.input_scale),
                       grad * self.scale)

    def name(self):
        return "EluBackward1"


class Celu(Elu):
    pass


class CeluResult(EluResult):
    def name(self):
        return "CeluBackward1"


def _elu(input, alpha, scale, input_scale, inplace, fn, celu_=False):
    _check_tensor(input, fn)
    _floating(input, "elu_cpu")
    cls = (CeluResult if inplace else Celu) if celu_ else (EluResult if inplace else Elu)
    r = cls.apply(input, alpha=float(alpha), scale=float(scale), input_scale=float(input_scale))
    return _write_inplace(input, r, from_output=True) if inplace else r


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Exponential linear unit: ``input`` if positive, else ``alpha * (exp(input) - 1)``."""
    return _elu(input, alpha, 1.0, 1.0, inplace, "elu")


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled elu with the self-normalising constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    return _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace, "selu")


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Continuously differentiable elu: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Raises:
        RuntimeError: for ``alpha == 0``.
    """
    _check_tensor(input, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu(input, alpha, 1.0, 1.0 / alpha, inplace, "celu", celu_=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


# =======================================================================================
# gelu, silu, mish

def _erfc_poly(deg=12, zmax=12.0):
    """Power-basis coefficients of ``P(t) = log(erfc(z) / t) + z**2`` in ``t = 2 / (2 + z)``
    for ``0 <= z <= zmax``, interpolated once at import from ``math.erfc`` at Chebyshev
    nodes. ``erfc(z) = t * exp(P(t) - z**2)`` is then good to ~4e-10 relative (float64
    arithmetic): ample for float32 results, and ~5x faster than a full float64 erf. Beyond
    ``zmax`` the values underflow float32 anyway."""
    from numpy.polynomial import chebyshev, polynomial
    tmin = 2 / (2 + zmax)

    def g(t):
        z = 2 / t - 2
        return np.log(np.array([math.erfc(v) for v in z]) / t) + z * z
    fit = chebyshev.Chebyshev.interpolate(g, deg, domain=[tmin, 1])
    return tuple(fit.convert(kind=polynomial.Polynomial, domain=[tmin, 1],
                             window=[tmin, 1]).coef[::-1])


_ERFC_POLY = _erfc_poly()


def _ndtr(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF ``Phi(x) = erfc(-x / sqrt(2)) / 2`` of a float array (in
    float64 for float32 input; float64 input uses ember's full-precision erf)."""
    if x.dtype == np.float64:
        return 0.5 * (1 + erf(_wrap(x * _SQRT1_2))._data)
    z = np.abs(x.astype(np.float64)) * _SQRT1_2
    t = 2 / (2 + z)
    acc = np.full_like(t, _ERFC_POLY[0])
    for c in _ERFC_POLY[1:]:                  # Horner, in place
        acc *= t
        acc += c
    acc -= z * z
    np.exp(acc, out=acc)
    acc *= 0.5 * t                            # erfc(|x| / sqrt 2) / 2 = Phi(-|x|)
    # Phi(x) = Phi(-|x|) for x < 0, 1 - Phi(-|x|) for x >= 0 (no cancellation for x < 0)
    acc += (x >= 0) * (1 - 2 * acc)
    return acc


class Gelu(Op):
    """``x * Phi(x)`` (exact) or its tanh approximation. The exact form keeps ``Phi(x)``
    for backward (it is the costly part of the derivative)."""
    save_inputs = (0,)

    def forward(self, x, approximate):
        self.approximate = approximate
        xc = _opmath(x)
        tok = _quiet()
        try:
            if approximate == "tanh":
                inner = _SQRT_2_OVER_PI * (xc + _GELU_TANH_A * (xc * xc * xc))
                y = 0.5 * xc * (1 + np.tanh(inner))
                self.cdf = None
            else:
                cdf = _ndtr(xc)
                y = xc * cdf
                self.cdf = cdf.astype(xc.dtype, copy=False)
        finally:
            _loud(tok)
        return y.astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return GeluBackward.apply(grad, x, approximate=self.approximate, cdf=self.cdf)


def _gelu_derivatives(x: Tensor, approximate: str):
    """gelu'(x) and gelu''(x) in ember operations (for double backward)."""
    if approximate == "tanh":
        k, a = _SQRT_2_OVER_PI, _GELU_TANH_A
        x2 = x * x
        du = (x2 * (3 * a) + 1) * k                    # d inner / dx
        t = tanh((x + x2 * x * a) * k)
        s = 1 - t * t
        d = (t + 1) * 0.5 + x * 0.5 * s * du
        dd = s * (du - x * t * du * du + x2 * (3 * a * k))
    else:
        cdf = (erf(x * _SQRT1_2) + 1) * 0.5
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        d = cdf + x * pdf
        dd = pdf * (2 - x * x)
    return d, dd


class GeluBackward(Op):
    """``grad * gelu'(x)`` as one NumPy node; its own backward (double backward) is written
    with ember operations."""
    save_inputs = (0, 1)

    def forward(self, g, x, approximate, cdf):
        self.approximate = approximate
        xc = _opmath(x)
        tok = _quiet()
        try:
            if approximate == "tanh":
                x2 = xc * xc
                t = np.tanh(_SQRT_2_OVER_PI * (xc + _GELU_TANH_A * x2 * xc))
                du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_A * x2)
                d = 0.5 * (1 + t) + 0.5 * xc * (1 - t * t) * du
            else:
                if cdf is None:
                    cdf = _ndtr(xc)
                d = cdf + xc * np.exp(-0.5 * xc * xc) * _INV_SQRT_2PI
        finally:
            _loud(tok)
        return (g * d).astype(g.dtype, copy=False)

    def backward(self, gg):
        g, x = self.saved_tensors
        need = self.needs_input_grad
        d, dd = _gelu_derivatives(x, self.approximate)
        return (gg * d if need[0] else None, gg * g * dd if need[1] else None)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``input * Phi(input)``; ``approximate='tanh'`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    _check_tensor(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _floating(input, "GeluKernelImpl")
    return Gelu.apply(input, approximate=approximate)


class Silu(Op):
    """``x * sigmoid(x)``."""
    save_inputs = (0,)

    def forward(self, x):
        xc = _opmath(x)
        tok = _quiet()
        try:
            return (xc / (1 + np.exp(-xc))).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        s = sigmoid(x)
        return grad * (s * (x * (1 - s) + 1))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Sigmoid linear unit (swish): ``input * sigmoid(input)`` (complex inputs: forward
    only, as in PyTorch)."""
    _check_tensor(input, "silu")
    _floating(input, "silu_cpu", complex_ok=True)
    if _category(input) == 3 and input.requires_grad and is_grad_enabled():
        raise RuntimeError("silu does not support automatic differentiation for outputs with "
                           "complex dtype.")
    r = Silu.apply(input)
    return _write_inplace(input, r) if inplace else r


class Mish(Op):
    """``x * tanh(softplus(x))``."""
    save_inputs = (0,)

    def forward(self, x):
        xc = _opmath(x)
        tok = _quiet()
        try:
            return (xc * np.tanh(np.log1p(np.exp(xc)))).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        # softplus as the thresholded primitive: its derivative stays finite for large x
        t = tanh(Softplus.apply(x, beta=1.0, threshold=20.0))
        return grad * (t + x * sigmoid(x) * (1 - t * t))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish: ``input * tanh(softplus(input))``."""
    _check_tensor(input, "mish")
    _floating(input, "mish_cpu")
    r = Mish.apply(input)
    return _write_inplace(input, r) if inplace else r


# =======================================================================================
# hardsigmoid, hardswish

class Hardsigmoid(Op):
    """``clamp(x / 6 + 1/2, 0, 1)``; gradient 1/6 strictly between -3 and 3."""
    save_inputs = (0,)

    def forward(self, x):
        xc = _opmath(x)
        return (np.minimum(np.maximum(xc + 3, 0), 6) / 6).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        xd = x._data
        # PyTorch's kernel uses the float constant 1.0f / 6.0f for every dtype
        return _masked(grad, (xd > -3) & (xd < 3)) * _ONE_SIXTH_F


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Piecewise-linear sigmoid: 0 below -3, 1 above 3, ``input / 6 + 1/2`` between."""
    _check_tensor(input, "hardsigmoid")
    _floating(input, "hardsigmoid_cpu")
    r = Hardsigmoid.apply(input)
    return _write_inplace(input, r) if inplace else r


class Hardswish(Op):
    """``x * clamp(x + 3, 0, 6) / 6``. Gradient: 0 up to -3, ``x / 3 + 1/2`` strictly
    between -3 and 3, 1 from 3 on (PyTorch's choice at the two kinks)."""
    save_inputs = (0,)

    def forward(self, x):
        xc = _opmath(x)
        tok = _quiet()
        try:
            return (xc * np.minimum(np.maximum(xc + 3, 0), 6) / 6).astype(x.dtype, copy=False)
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        xd = x._data
        low = xd <= -3
        mid = ~low & (xd < 3)
        outside = np.where(low, 0, 1).astype(xd.dtype)       # NaN counts as "above"
        return grad * _select(mid, x / 3 + 0.5, _wrap(outside))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Hard swish: ``input * hardsigmoid(input)``."""
    _check_tensor(input, "hardswish")
    _floating(input, "hardswish_cpu")
    r = Hardswish.apply(input)
    return _write_inplace(input, r) if inplace else r


# =======================================================================================
# logsigmoid, softplus, tanhshrink, softsign

class LogSigmoid(Op):
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))`` (no overflow for any x)."""
    save_inputs = (0,)

    def forward(self, x):
        xc = _opmath(x)
        tok = _quiet()
        try:
            y = np.minimum(xc, 0) - np.log1p(np.exp(-np.abs(xc)))
        finally:
            _loud(tok)
        return y.astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * sigmoid(-x)                 # d/dx log(sigmoid(x)) = sigmoid(-x)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(1 / (1 + exp(-input)))``, computed without overflow."""
    _check_tensor(input, "logsigmoid")
    _floating(input, "log_sigmoid_cpu")
    return LogSigmoid.apply(input)


class Softplus(Op):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``."""
    save_inputs = (0,)

    def forward(self, x, beta, threshold):
        self.beta, self.threshold = beta, threshold
        xc = _opmath(x)
        tok = _quiet()
        try:
            bx = xc * beta
            y = np.where(bx > threshold, xc, np.log1p(np.exp(bx)) / beta)
        finally:
            _loud(tok)
        return y.astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        bx = x * self.beta
        # sigmoid(beta x) is finite everywhere: no NaN from the branch that is not taken
        return _select(bx._data > self.threshold, grad, grad * sigmoid(bx))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth relu ``log(1 + exp(beta * input)) / beta``; linear where ``beta * input >
    threshold`` (for numerical stability, as PyTorch)."""
    _check_tensor(input, "softplus")
    _floating(input, "softplus_cpu")
    return Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def tanhshrink(input: Tensor) -> Tensor:
    """``input - tanh(input)``."""
    _check_tensor(input, "tanhshrink")
    return input - tanh(input)


def softsign(input: Tensor) -> Tensor:
    """``input / (1 + |input|)``."""
    _check_tensor(input, "softsign")
    return input / (input.abs() + 1)


# =======================================================================================
# softshrink, hardshrink

class Softshrink(Op):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    save_inputs = (0,)

    def forward(self, x, lambd):
        self.lambd = lambd
        # x * 0 in the middle: NaN stays NaN (and the zero keeps x's sign, as PyTorch)
        tok = _quiet()
        try:
            return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, x * 0))
        finally:
            _loud(tok)

    def backward(self, grad):
        (x,) = self.saved_tensors
        xd = x._data
        return _masked(grad, ~((xd >= -self.lambd) & (xd <= self.lambd)))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Soft shrinkage towards 0 by ``lambd`` (which must be non-negative)."""
    _check_tensor(input, "softshrink")
    _floating(input, "softshrink_check")
    top = np.finfo(input._data.dtype).max
    if not 0 <= lambd <= top:
        raise RuntimeError(f"lambda must be in range [0, {float(top):g}] for input dtype "
                           f"{_tname(input)}, but found {float(lambd):g}")
    return Softshrink.apply(input, lambd=float(lambd))


class Hardshrink(Op):
    """0 where ``-lambd <= x <= lambd``, else ``x``."""
    save_inputs = (0,)

    def forward(self, x, lambd):
        self.lambd = lambd
        return np.where((x >= -lambd) & (x <= lambd), x.dtype.type(0), x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        xd = x._data
        return _masked(grad, ~((xd >= -self.lambd) & (xd <= self.lambd)))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Hard shrinkage: zero the elements in ``[-lambd, lambd]``."""
    _check_tensor(input, "hardshrink")
    _floating(input, "hardshrink_cpu")
    return Hardshrink.apply(input, lambd=float(lambd))


# =======================================================================================
# glu

def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in halves ``a, b`` along ``dim``; ``a *
    sigmoid(b)``.

    Shape:
        input ``(*, 2N, *)`` -> output ``(*, N, *)``.
    """
    _check_tensor(input, "glu")
    shape = input._data.shape
    if not shape:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, len(shape))
    if shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{shape[d]}")
    _floating(input, "glu_cpu")
    h = shape[d] // 2
    return input.narrow(d, 0, h) * sigmoid(input.narrow(d, h, h))


# =======================================================================================
# softmax, log_softmax, softmin, gumbel_softmax

def _implicit_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_axis(input, dim, dtype, kernel):
    """Cast to ``dtype`` (if given), check the dtype, wrap ``dim``. Returns (input, axis)."""
    if dtype is not None:
        input = input.to(dtype)
    nd = input._data.ndim
    axis = _wrap_dim(dim, nd)
    if _category(input) != 2:
        last = "lastdim_" if axis == nd - 1 or nd == 0 else ""
        raise NotImplementedError(f'"{kernel}_{last}kernel_impl" not implemented for '
                                  f'\'{_tname(input)}\'')
    return input, axis


class Softmax(Op):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``. Backward from the output:
    ``y * (g - sum(g * y))``."""
    save_outputs = (0,)

    def forward(self, x, axis):
        self.axis = axis
        if x.size == 0:
            return np.empty_like(x)
        ax = axis if x.ndim else None
        xc = _opmath(x)
        tok = _quiet()
        try:
            e = np.asarray(xc - np.max(xc, axis=ax, keepdims=True))
            np.exp(e, out=e)
            e /= np.sum(e, axis=ax, keepdims=True)
        finally:
            _loud(tok)
        return e.astype(x.dtype, copy=False)

    def backward(self, grad):
        (y,) = self.saved_tensors
        gy = grad * y
        return gy - y * gy.sum(self.axis, keepdim=True)


class LogSoftmax(Op):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``. Backward from the output:
    ``g - exp(y) * sum(g)``."""
    save_outputs = (0,)

    def forward(self, x, axis):
        self.axis = axis
        if x.size == 0:
            return np.empty_like(x)
        ax = axis if x.ndim else None
        xc = _opmath(x)
        tok = _quiet()
        try:
            z = np.asarray(xc - np.max(xc, axis=ax, keepdims=True))
            z -= np.log(np.sum(np.exp(z), axis=ax, keepdims=True))
        finally:
            _loud(tok)
        return z.astype(x.dtype, copy=False)

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad - exp(y) * grad.sum(self.axis, keepdim=True)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed stably).

    Args:
        dim: the dimension that sums to 1. ``None`` is deprecated: it warns and picks 0 for
            0-, 1- and 3-d inputs, else 1.
        dtype: cast the input to this dtype first (e.g. to accumulate in float64).
    """
    _check_tensor(input, "softmax")
    if dim is None:
        dim = _implicit_dim("softmax", input._data.ndim, _stacklevel)
    input, axis = _softmax_axis(input, dim, dtype, "softmax")
    return Softmax.apply(input, axis=axis)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``log(softmax(input))`` along ``dim``, computed without forming the softmax (see
    :func:`softmax` for ``dim=None`` and ``dtype``)."""
    _check_tensor(input, "log_softmax")
    if dim is None:
        dim = _implicit_dim("log_softmax", input._data.ndim, _stacklevel)
    input, axis = _softmax_axis(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, axis=axis)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """``softmax(-input)`` along ``dim`` (see :func:`softmax`)."""
    _check_tensor(input, "softmin")
    if dim is None:
        dim = _implicit_dim("softmin", input._data.ndim, _stacklevel)
    neg, axis = _softmax_axis(-input, dim, dtype, "softmax")
    return Softmax.apply(neg, axis=axis)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with
    ``g = -log(Exponential(1))`` drawn from ember's default generator.

    With ``hard=True`` the result is the one-hot vector of the sample's argmax in the
    forward pass, while the gradient is that of the soft sample (straight-through).
    """
    _check_tensor(logits, "gumbel_softmax", "logits")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning,
                      stacklevel=2)
    from .._random import default_rng
    e = default_rng().standard_exponential(logits._data.shape)
    with np.errstate(divide="ignore"):
        g = (-np.log(e)).astype(logits._data.dtype)
    y_soft = softmax((logits + _wrap(g)) / tau, dim)
    if not hard:
        return y_soft
    axis = _wrap_dim(dim, y_soft._data.ndim)
    ys = y_soft._data
    onehot = np.zeros_like(ys)
    if ys.size:
        if ys.ndim:
            idx = np.argmax(ys, axis=axis, keepdims=True)
            np.put_along_axis(onehot, idx, 1, axis=axis)
        else:
            onehot[...] = 1
    return _wrap(onehot) - y_soft.detach() + y_soft


# =======================================================================================
# torch.<name> forms and Tensor methods

@_top("relu", method=True)
def _relu_top(input):
    """``max(0, input)``."""
    return relu(input)


@_top("relu_", method=True)
def _relu_inplace_top(input):
    """In-place ``relu``."""
    return relu(input, inplace=True)


@_top("selu")
def _selu_top(input):
    """Scaled exponential linear unit."""
    return selu(input)


@_top("selu_")
def _selu_inplace_top(input):
    """In-place ``selu``."""
    return selu(input, inplace=True)


@_top("celu")
def _celu_top(input, alpha=1.0):
    """Continuously differentiable elu."""
    return celu(input, alpha)


@_top("celu_")
def _celu_inplace_top(input, alpha=1.0):
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


@_top("rrelu")
def _rrelu_top(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """Randomized leaky relu (``generator`` draws the training-mode slopes)."""
    return _rrelu(input, lower, upper, training, False, generator, "rrelu")


@_top("rrelu_")
def _rrelu_inplace_top(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """In-place ``rrelu``."""
    return _rrelu(input, lower, upper, training, True, generator, "rrelu_")


@_top("prelu", method=True)
def _prelu_top(input, weight):
    """Parametric relu with a slope per channel."""
    return prelu(input, weight)


@_top("hardshrink", method=True)
def _hardshrink_top(input, lambd=0.5):
    """Zero the elements in ``[-lambd, lambd]``."""
    return hardshrink(input, lambd)


@_top("threshold")
def _threshold_top(input, threshold, value):
    """Replace elements ``<= threshold`` by ``value``."""
    return globals()["threshold"](input, threshold, value)


@_top("threshold_")
def _threshold_inplace_top(input, threshold, value):
    """In-place ``threshold``."""
    return globals()["threshold"](input, threshold, value, inplace=True)


@_top("softmax", method=True)
def _softmax_top(input, dim, dtype=None):
    """Softmax along ``dim`` (required here), optionally after casting to ``dtype``."""
    _check_tensor(input, "softmax")
    input, axis = _softmax_axis(input, dim, dtype, "softmax")
    return Softmax.apply(input, axis=axis)


@_top("log_softmax", method=True)
def _log_softmax_top(input, dim, dtype=None):
    """Log-softmax along ``dim`` (required here), optionally after casting to ``dtype``."""
    _check_tensor(input, "log_softmax")
    input, axis = _softmax_axis(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, axis=axis)
