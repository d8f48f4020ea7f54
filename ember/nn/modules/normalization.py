"""Normalization layers that do not keep running statistics: ``LayerNorm``, ``GroupNorm``,
``RMSNorm``, ``LocalResponseNorm`` and ``CrossMapLRN2d``."""
from __future__ import annotations

import numbers

import numpy as np

from ...ops.creation import empty, tensor
from ...ops.normalization import _ChannelWindowSum
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm", "CrossMapLRN2d"]


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (normalized_shape,)
    return tuple(normalized_shape)


class LayerNorm(Module):
    """Layer normalization over the last ``len(normalized_shape)`` dimensions:
    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias``, statistics per sample.

    Args:
        normalized_shape (int or sequence): the trailing shape to normalize over.
        eps (float): added to the variance. Default: 1e-5.
        elementwise_affine (bool): learn ``weight`` (ones) and ``bias`` (zeros) of shape
            ``normalized_shape``. Default: True.
        bias (bool): learn the bias (with ``elementwise_affine``). Default: True.

    Shape:
        - Input: ``(*, *normalized_shape)``; Output: same.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization: the C channels form ``num_groups`` groups, each normalized per
    sample over its channels and spatial positions; then a per-channel affine map.

    Args:
        num_groups (int): number of groups; must divide ``num_channels``.
        num_channels (int): C.
        eps (float): added to the variance. Default: 1e-5.
        affine (bool): learn per-channel ``weight`` (ones) and ``bias`` (zeros).
        bias (bool, keyword): learn the bias (with ``affine``). Default: True.

    Shape:
        - Input: ``(N, C, *)``; Output: same.
    """

    __constants__ = ["num_groups", "num_channels", "eps", "affine"]

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(empty(num_channels, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(num_channels, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalization over the last ``len(normalized_shape)`` dimensions:
    ``y = x / sqrt(mean(x^2) + eps) * weight``.

    Args:
        normalized_shape (int or sequence): the trailing shape to normalize over.
        eps (float or None): added to the mean square; None: the dtype's machine epsilon.
        elementwise_affine (bool): learn ``weight`` (ones). Default: True.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response normalization across channels:
    ``y = x / (k + alpha / size * sum_{size neighbouring channels} x^2) ** beta``.

    Shape:
        - Input: ``(N, C, *)`` (at least 3-D); Output: same.
    """

    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(Module):
    """The legacy (Lua Torch) cross-channel LRN on 4-D inputs:
    ``y = x * (k + alpha / size * s) ** -beta`` with ``s`` the sum of ``x^2`` over the
    ``2 * ((size - 1) // 2) + 1`` channels around each channel.

    PyTorch's implementation, reproduced here, also keeps channel 0's square in ``s`` for
    every channel from ``(size + 1) // 2`` on (its running-sum update never subtracts it).
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k=1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             "instead.")
        pre_pad = int((self.size - 1) / 2 + 1)
        sq = input * input
        s = _ChannelWindowSum.apply(sq, lo=pre_pad - 1, hi=pre_pad - 1)
        c = input.shape[1]
        if c > pre_pad:
            # channel 0's square stays in the running sum from channel pre_pad on
            late = np.zeros((1, c, 1, 1), dtype=input.numpy(force=True).dtype)
            late[:, pre_pad:] = 1
            s = s + sq[:, 0:1] * tensor(late)
        scale = s * (self.alpha / self.size) + self.k
        return input * scale ** -self.beta

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
