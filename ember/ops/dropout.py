"""Dropout: ``dropout``, ``alpha_dropout``, ``feature_alpha_dropout`` and the channel-wise
``dropout1d``/``dropout2d``/``dropout3d``.

The masks are drawn from ember's random generator (``ember._random.default_rng()``), so
``ember.manual_seed`` makes them reproducible. A dropout is the input times a constant
mask (and, for alpha dropout, plus a constant), recorded as ordinary multiplication and
addition nodes: the gradient is ``grad * mask * scale``, and double backward comes free.
Channel-wise ("feature") dropout draws one mask value per ``(sample, channel)`` and
broadcasts it over the remaining dimensions.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._random import default_rng
from ._op import Tensor, _wrap
from .inplace import inplace_update

__all__ = ["dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d",
           "dropout3d"]

# SELU's alpha * scale: the value alpha dropout sends dropped units to (before rescaling)
_SELU_NEG = 1.7580993408473766


def _check_p(p, error=ValueError):
    if p < 0.0 or p > 1.0:
        raise error(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_input(input, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _tname(t: Tensor) -> str:
    return t.dtype._legacy[:-len("Tensor")]


def _keep_mask(shape, p, dtype: np.dtype, scale) -> np.ndarray:
    """``scale`` where a uniform draw is >= p (probability 1 - p), else 0; ``dtype``."""
    u = default_rng().random(shape, dtype=np.float32)
    keep = u >= np.float32(p)
    return np.multiply(keep, dtype.type(scale), dtype=dtype)


def _noise_shape(input: Tensor, feature: bool):
    shape = input._data.shape
    if not feature:
        return shape
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return shape[:2] + (1,) * (len(shape) - 2)


def _apply(input: Tensor, p, train, inplace, feature=False, alpha=False) -> Tensor:
    """The shared body: PyTorch's dropout family semantics on an ember tensor."""
    p = float(p)
    if p == 0 or not train or input._data.size == 0:
        return input
    noise_shape = _noise_shape(input, feature)
    dt = input._data.dtype
    if p == 1:
        zero = _wrap(np.zeros((), dtype=dt))
        result = input * zero
        return inplace_update(input, result) if inplace else result
    if dt.kind not in "fc":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_tname(input)}")
    if alpha:
        a = 1.0 / np.sqrt((_SELU_NEG * _SELU_NEG * p + 1) * (1 - p))
        mask = _keep_mask(noise_shape, p, dt, 1.0)
        # kept units: a * x + alpha*a*p; dropped units: alpha*a*(p - 1)
        shift = (mask - dt.type(1)) * dt.type(_SELU_NEG * a) + dt.type(_SELU_NEG * a * p)
        mask *= dt.type(a)
        result = input * _wrap(mask) + _wrap(shift)
    else:
        result = input * _wrap(_keep_mask(noise_shape, p, dt, 1.0 / (1.0 - p)))
    return inplace_update(input, result) if inplace else result


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (identity when not ``training``)."""
    _check_input(input, "dropout")
    _check_p(p)
    return _apply(input, p, training, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and
    an affine map restores zero mean and unit variance."""
    _check_input(input, "alpha_dropout")
    _check_p(p)
    return _apply(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (one draw per ``(N, C)``)."""
    _check_input(input, "feature_alpha_dropout")
    _check_p(p)
    return _apply(input, p, training, inplace, feature=True, alpha=True)


def _unbatched(input, inplace, fn, *args):
    """Run channel dropout on an input without a batch dimension (a batch of one)."""
    x = input.unsqueeze(0)
    y = fn(x, *args)
    if inplace:
        return input
    return y.squeeze(0)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` inputs with probability ``p``."""
    _check_input(input, "dropout1d")
    _check_p(p)
    nd = input._data.ndim
    if nd not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. "
                           "Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an "
                           "optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(input, p, training, inplace, batched=nd == 3)


def _channel_dropout(input, p, training, inplace, batched):
    if batched:
        return _apply(input, p, training, inplace, feature=True)
    if inplace:
        # write through a view with a leading batch dimension of one
        view = input.unsqueeze(0)
        _apply(view, p, training, True, feature=True)
        return input
    return _apply(input.unsqueeze(0), p, training, False, feature=True).squeeze(0)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` inputs with probability ``p``.

    As in PyTorch, a 3-D input is taken as ``(N, C, L)`` (with a warning), and other ranks
    are deprecated (with a warning) and treated as ``(N, C, *)``."""
    _check_input(input, "dropout2d")
    _check_p(p)
    nd = input._data.ndim
    if nd not in (3, 4):
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that "
                      "dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch "
                      "dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    return _apply(input, p, training, inplace, feature=True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` inputs with
    probability ``p``; other ranks are deprecated (with a warning) and treated as
    unbatched."""
    _check_input(input, "dropout3d")
    _check_p(p)
    nd = input._data.ndim
    if nd not in (4, 5):
        warnings.warn(f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that "
                      "dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch "
                      "dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _channel_dropout(input, p, training, inplace, batched=nd == 5)


# ---------------------------------------------------------------------------------------
# PyTorch's top-level names (``torch.dropout(input, p, train)`` ...): no defaults, and a
# RuntimeError for a bad p (the ATen check) rather than functional's ValueError

def _top(name, feature, alpha, inplace):
    def fn(input, p, train):
        _check_input(input, name)
        _check_p(p, RuntimeError)
        return _apply(input, p, train, inplace, feature=feature, alpha=alpha)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, p, train)``."
    return fn


def _top_native_dropout(input, p, train):
    """``torch.native_dropout``: ``(output, mask)`` with the boolean keep-mask."""
    _check_input(input, "native_dropout")
    _check_p(p, RuntimeError)
    dt = input._data.dtype
    if not train or p == 0:
        return input.clone(), _wrap(np.ones(input._data.shape, dtype=bool))
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mask = _keep_mask(input._data.shape, p, dt if dt.kind in "fc" else np.dtype(np.float32),
                      1.0)
    keep = mask != 0
    return input * _wrap((mask * scale).astype(dt)), _wrap(keep)


TOP_LEVEL = {name: _top(name.rstrip("_"), feature, alpha, name.endswith("_"))
             for name, feature, alpha in [
                 ("dropout", False, False), ("dropout_", False, False),
                 ("feature_dropout", True, False), ("feature_dropout_", True, False),
                 ("alpha_dropout", False, True), ("alpha_dropout_", False, True),
                 ("feature_alpha_dropout", True, True), ("feature_alpha_dropout_", True, True)]}
TOP_LEVEL["native_dropout"] = _top_native_dropout
for _k, _f in TOP_LEVEL.items():
    _f.__name__ = _f.__qualname__ = _k
del _k, _f


def _add_normalization_top_level():
    # torch.batch_norm, torch.layer_norm, ... live beside their functional forms
    from .normalization import TOP_LEVEL as _norm
    TOP_LEVEL.update(_norm)


_add_normalization_top_level()
