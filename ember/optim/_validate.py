"""The argument checks of the optimizers, in one place, with PyTorch's exception types and
messages.

Every constructor validates its hyperparameters with one call, naming them in the order
PyTorch checks them (which decides the error when several are bad)::

    check_args(lr, eps=eps, betas=betas, weight_decay=weight_decay)

Most options must not be negative (``_NONNEGATIVE``): ``0.0 <= value``, written that way
so that NaN fails as it does in PyTorch; ``betas``, ``rho`` and ``etas`` have ranges of
their own (``_RANGES``). PyTorch's SGD alone tests ``value < 0.0`` (NaN passes), which
``negative_only=True`` selects. The comparisons are PyTorch's, made on the values as given
(numbers, or tensors: the learning rate as its one element), so that a value that cannot
be compared raises what PyTorch raises too.

The step-time checks (``capturable``, ``fused`` dtypes) and the implementation flags
(``differentiable``, ``foreach``, ``fused``) live here too.
"""
from __future__ import annotations

from .._tensor import Tensor
from .optimizer import _value

__all__ = ["check_args", "check_capturable", "check_flags", "check_fused_dtype"]


# the options that must not be negative -> the name PyTorch's message gives them
_NONNEGATIVE = {
    "eps": "epsilon",
    "weight_decay": "weight_decay",
    "momentum": "momentum",
    "alpha": "alpha",
    "lr_decay": "lr_decay",
    "initial_accumulator_value": "initial_accumulator_value",
    "momentum_decay": "momentum_decay",
}


def _check_betas(betas) -> None:
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


def _check_rho(rho) -> None:
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"Invalid rho value: {rho}")


def _check_etas(etas) -> None:
    if not 0.0 < etas[0] < 1.0 < etas[1]:
        raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")


# the options with a range of their own -> their check
_RANGES = {"betas": _check_betas, "rho": _check_rho, "etas": _check_etas}


def _negative(value, negative_only: bool) -> bool:
    # The two spellings differ for NaN only: ``not 0.0 <= nan`` is True, ``nan < 0.0`` False.
    return value < 0.0 if negative_only else not 0.0 <= value


def check_args(lr, /, *, negative_only: bool = False, **options) -> None:
    """Validate an optimizer's learning rate, then each of ``options`` in the order given.

    Args:
        lr (float or Tensor): the learning rate (a tensor must have one element).
        negative_only (bool): reject only values that compare below zero (``value < 0.0``,
            PyTorch's SGD), so that NaN passes; else reject all that fail ``0.0 <= value``.
        **options: hyperparameters by name: those of ``_NONNEGATIVE``, or ``betas``, ``rho``
            and ``etas`` (``_RANGES``).

    Raises:
        ValueError: PyTorch's message for the first invalid value.
    """
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if _negative(_value(lr), negative_only):
        raise ValueError(f"Invalid learning rate: {lr}")
    for name, value in options.items():
        if name in _RANGES:
            _RANGES[name](value)
            continue
        label = _NONNEGATIVE[name]
        if _negative(value, negative_only):
            raise ValueError(f"Invalid {label} value: {value}")


def check_flags(differentiable: bool, foreach=None, fused=None) -> None:
    """Validate the implementation-choice flags PyTorch optimizers take."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        # The update is computed on the parameters' arrays, outside autograd.
        raise NotImplementedError("ember.optim: differentiable=True (autograd through the "
                                  "optimizer step) is not supported")


def check_capturable(params, capturable: bool) -> None:
    """Refuse ``capturable=True`` at step time: capturable kernels exist for accelerators
    only, and PyTorch refuses CPU tensors."""
    if capturable and params:
        raise AssertionError("If capturable=True, params and state_steps must be on supported "
                             "devices: ['cuda', 'xpu', 'hpu', 'privateuseone', 'xla'].")


def check_fused_dtype(p: Tensor) -> None:
    """Refuse a parameter that is not floating point in a ``fused=True`` group."""
    if not p.is_floating_point():
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors "
                           f"of supported devices: ['mps', 'cuda', 'xpu', 'hpu', 'cpu', 'mtia', "
                           f"'privateuseone'] but {p.dtype} and {p.device.type}")
