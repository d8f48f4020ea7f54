"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _GroupwiseOptimizer, _real, _scalar_tensor, _value,
                        _zeros_like)

__all__ = ["Adadelta", "adadelta"]


class Adadelta(_GroupwiseOptimizer):
    """Adadelta (PyTorch's ``torch.optim.Adadelta``).

    ``v = rho v + (1 - rho) g^2``, ``d = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho u + (1 - rho) d^2``, ``p -= lr * d``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): scale of the update. Default: 1.0.
        rho (float): decay rate of the running averages. Default: 0.9.
        eps (float): added inside the square roots. Default: 1e-6.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        capturable (bool): CUDA-graph capture; not available on the CPU.
        maximize (bool): maximize the objective instead of minimizing it.
        differentiable (bool): not supported (must be False).
    """

    _option_defaults = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)
    _scalar_state = ("step",)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_args(lr, rho=rho, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, capturable=capturable, foreach=foreach,
                        differentiable=differentiable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["square_avg"] = _zeros_like(p)
        state["acc_delta"] = _zeros_like(p)

    def _update_group(self, group, params, grads, states):
        adadelta(params, grads, [s["square_avg"] for s in states],
                 [s["acc_delta"] for s in states], [s["step"] for s in states],
                 lr=group["lr"], rho=group["rho"], eps=group["eps"],
                 weight_decay=group["weight_decay"], maximize=group["maximize"],
                 foreach=group["foreach"], capturable=group["capturable"])


def adadelta(params: list, grads: list, square_avgs: list, acc_deltas: list,
             state_steps: list, capturable=False, foreach=None, differentiable=False,
             has_complex=False, *, lr: float, rho: float, eps: float, weight_decay: float,
             maximize: bool) -> None:
    """The Adadelta update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(lr=_value(lr), rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
    _apply_update(_single_tensor_adadelta, [params, grads, square_avgs, acc_deltas, state_steps],
                  (4,), foreach, kw)


def _single_tensor_adadelta(params, grads, square_avgs, acc_deltas, state_steps, *, lr, rho,
                            eps, weight_decay, maximize):
    for param, grad, square_avg, acc_delta, step_t in zip(params, grads, square_avgs,
                                                          acc_deltas, state_steps):
        step_t._data += 1
        p = param._data
        g = grad._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * p

        p, g = _real(p), _real(g)
        v, u = _real(square_avg._data), _real(acc_delta._data)
        v *= rho
        tmp = g * (1 - rho)
        tmp *= g
        v += tmp
        std = np.add(v, eps, out=tmp)
        np.sqrt(std, out=std)
        delta = u + eps
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        u *= rho
        sq = np.multiply(delta, 1 - rho, out=tmp)
        sq *= delta
        u += sq
        delta *= -lr
        p += delta
        param._vc[0] += 1
