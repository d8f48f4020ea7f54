"""Weight initialisation (PyTorch's ``torch.nn.init``).

Every function fills its tensor in place, under no_grad (so it works on parameters that
require grad), returns the tensor, and draws from ember's random state, or from
``generator`` when given, so ``ember.manual_seed`` makes initialisation reproducible. Values
are drawn in float64 and stored in the tensor's dtype.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._random import default_rng
from .._tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant", "eye",
           "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
           "orthogonal", "sparse"]


def _rng(generator=None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (or behind ember's default generator)."""
    return default_rng(generator)


def _check(tensor, fn):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}(): argument 'tensor' must be Tensor, not "
                        f"{type(tensor).__name__}")


def _write(tensor: Tensor, values) -> Tensor:
    """Store ``values`` into ``tensor``'s memory (cast to its dtype) and bump its version,
    as an in-place op under no_grad does."""
    np.copyto(tensor._data, values, casting="unsafe")
    tensor._vc[0] += 1
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: the factor by which it scales the standard
    deviation of its input (``'relu'``: sqrt(2), ``'tanh'``: 5/3, ``'leaky_relu'``:
    sqrt(2 / (1 + negative_slope^2)), ``'selu'``: 3/4, linear/conv/sigmoid: 1).

    Args:
        nonlinearity (str): the function's name in ``ember.nn.functional``.
        param: the negative slope for ``'leaky_relu'`` (default 0.01).
    """
    linear_fns = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (isinstance(param, int) and not isinstance(param, bool)) or \
                isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from U(a, b)."""
    _check(tensor, "uniform_")
    return _write(tensor, _rng(generator).uniform(a, b, size=tensor._data.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from N(mean, std^2)."""
    _check(tensor, "normal_")
    return _write(tensor, _rng(generator).normal(mean, std, size=tensor._data.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with values drawn from N(mean, std^2) truncated to [a, b].

    Values are drawn exactly from the truncated distribution by rejection: from the normal
    itself when [a, b] holds a large part of its mass, otherwise from U(a, b) accepted with
    probability pdf(x) / max pdf over [a, b] (which needs finite bounds).
    """
    _check(tensor, "trunc_normal_")

    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    rng = _rng(generator)
    shape = tensor._data.shape
    n = int(np.prod(shape))
    out = np.empty(n)
    todo = np.arange(n)
    mass = cdf((b - mean) / std) - cdf((a - mean) / std)
    if mass > 0.3:
        while todo.size:
            x = rng.normal(mean, std, size=todo.size)
            ok = (x >= a) & (x <= b)
            out[todo[ok]] = x[ok]
            todo = todo[~ok]
    else:
        mode = max(a, min(mean, b))                 # where the density peaks inside [a, b]
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        while todo.size:
            x = rng.uniform(a, b, size=todo.size)
            log_pdf = -0.5 * ((x - mean) / std) ** 2 - log_peak
            ok = np.log(rng.uniform(size=todo.size)) <= log_pdf
            out[todo[ok]] = x[ok]
            todo = todo[~ok]
    return _write(tensor, out.reshape(shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check(tensor, "constant_")
    return _write(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the main diagonal)."""
    _check(tensor, "eye_")
    if tensor._data.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor._data.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta: the convolution then
    passes as many input channels through unchanged as it can (per group)."""
    _check(tensor, "dirac_")
    shape = tensor._data.shape
    if len(shape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = shape[0] // groups
    k = min(out_per_group, shape[1])
    values = np.zeros(shape)
    d = np.arange(k)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):              # a loop over groups only; channels are vectorised
        values[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, values)


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    """``(fan_in, fan_out)`` of a weight: input / output feature maps times the receptive
    field size (the product of the dimensions after the first two)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan).

    Args:
        a: the negative slope of the rectifier after this layer (for ``'leaky_relu'``).
        mode: ``'fan_in'`` (preserve the forward pass's variance) or ``'fan_out'``
            (the backward pass's).
        nonlinearity: the nonlinearity's name, for :func:`calculate_gain`.
    """
    _check(tensor, "kaiming_uniform_")
    if 0 in tensor._data.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan) (arguments as in
    :func:`kaiming_uniform_`)."""
    _check(tensor, "kaiming_normal_")
    if 0 in tensor._data.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix drawn uniformly (Haar measure), times ``gain``.
    Dimensions after the first are flattened: the result, viewed as rows x (numel / rows),
    has orthonormal rows or columns."""
    _check(tensor, "orthogonal_")
    if tensor._data.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor._data.size == 0:
        return tensor
    rows = tensor._data.shape[0]
    cols = tensor._data.size // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # multiplying by the signs of R's diagonal makes Q uniformly distributed
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor._data.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill a 2-D tensor with N(0, std^2) values, then zero ``ceil(sparsity * rows)``
    randomly chosen entries in every column."""
    _check(tensor, "sparse_")
    if tensor._data.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor._data.shape
    num_zeros = math.ceil(sparsity * rows)
    rng = _rng(generator)
    values = rng.normal(0.0, std, size=(rows, cols))
    # an independent random permutation of the rows per column: argsort of uniform keys
    perm = np.argsort(rng.random((rows, cols)), axis=0)
    np.put_along_axis(values, perm[:num_zeros], 0.0, axis=0)
    return _write(tensor, values)


def _deprecated(fn):
    old = fn.__name__[:-1]

    def wrapper(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of "
                      f"`nn.init.{fn.__name__}`.", FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    wrapper.__name__ = old
    wrapper.__doc__ = f"Deprecated: use :func:`{fn.__name__}`."
    return wrapper


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
