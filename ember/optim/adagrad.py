"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._validate import check_args, check_flags, check_fused_dtype
from .optimizer import (_apply_update, _full_like, _get_scalar_dtype, _GroupwiseOptimizer, _real,
                        _scalar_tensor, _value)

__all__ = ["Adagrad", "adagrad"]


class Adagrad(_GroupwiseOptimizer):
    """Adagrad (PyTorch's ``torch.optim.Adagrad``).

    ``s += g^2``, ``p -= clr * g / (sqrt(s) + eps)`` with
    ``clr = lr / (1 + (t - 1) * lr_decay)``. Unlike the other optimizers, the state is
    created for every parameter when the optimizer is constructed.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 1e-2.
        lr_decay (float): learning-rate decay. Default: 0.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        initial_accumulator_value (float): the starting value of ``s``. Default: 0.
        eps (float): added to the denominator. Default: 1e-10.
        foreach, fused (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        differentiable (bool): not supported (must be False).
    """

    # ('step' is made a tensor again by __setstate__ below)
    _option_defaults = dict(foreach=None, maximize=False, differentiable=False, fused=None)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        check_args(lr, lr_decay=lr_decay, weight_decay=weight_decay,
                   initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, fused)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group, self.state[p])

    def _init_state(self, p, group, state):
        # Every accumulator starts at the constructor's value (also in groups given their
        # own initial_accumulator_value), as in PyTorch.
        init = self.defaults["initial_accumulator_value"]
        if group["fused"]:
            check_fused_dtype(p)
        state["step"] = _scalar_tensor(0.0, _get_scalar_dtype(group["fused"]))
        state["sum"] = _full_like(p, complex(init, init) if p.is_complex() else init)

    def __setstate__(self, state):
        super().__setstate__(state)
        # a numeric 'step' of any state takes the dtype the last group's fused flag gives
        fused = self.param_groups[-1]["fused"] if self.param_groups else None
        for s in self.state.values():
            if len(s) != 0 and not isinstance(s["step"], Tensor):
                s["step"] = _scalar_tensor(float(s["step"]), _get_scalar_dtype(fused))

    def share_memory(self) -> None:
        """Share the accumulators between processes (a no-op: NumPy arrays are shared when
        a process forks)."""

    def _update_group(self, group, params, grads, states):
        adagrad(params, grads, [s["sum"] for s in states], [s["step"] for s in states],
                lr=group["lr"], weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                eps=group["eps"], maximize=group["maximize"], foreach=group["foreach"],
                fused=group["fused"])


def adagrad(params: list, grads: list, state_sums: list, state_steps: list, fused=None,
            grad_scale=None, found_inf=None, has_sparse_grad=False, foreach=None,
            differentiable=False, has_complex=False, *, lr: float, weight_decay: float,
            lr_decay: float, eps: float, maximize: bool) -> None:
    """The Adagrad update on ``params`` and its state (in place), functional form."""
    if grad_scale is not None or found_inf is not None:
        raise NotImplementedError("grad_scale/found_inf (AMP) are not supported")
    kw = dict(lr=_value(lr), weight_decay=weight_decay, lr_decay=lr_decay, eps=eps,
              maximize=maximize)
    _apply_update(_single_tensor_adagrad, [params, grads, state_sums, state_steps], (3,),
                  True if fused else foreach, kw)


def _single_tensor_adagrad(params, grads, state_sums, state_steps, *, lr, weight_decay,
                           lr_decay, eps, maximize):
    for param, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps):
        step_t._data += 1
        step = step_t._data.item()
        p = param._data
        g = grad._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * p
        clr = lr / (1 + (step - 1) * lr_decay)

        p, g, s = _real(p), _real(g), _real(state_sum._data)
        sq = g * g
        s += sq
        std = np.sqrt(s, out=sq)
        std += eps
        update = g * -clr
        update /= std
        p += update
        param._vc[0] += 1
