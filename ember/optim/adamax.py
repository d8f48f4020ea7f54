"""Adamax: Adam with the infinity norm in place of the second moment."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _GroupwiseOptimizer, _lerp_, _real, _scalar_tensor,
                        _value, _zeros_like)

__all__ = ["Adamax", "adamax"]


class Adamax(_GroupwiseOptimizer):
    """Adamax (PyTorch's ``torch.optim.Adamax``).

    ``m = beta1 m + (1 - beta1) g``, ``u = max(beta2 u, |g| + eps)``,
    ``p -= lr / (1 - beta1^t) * m / u``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 2e-3.
        betas (Tuple[float, float]): decay rates of ``m`` and ``u``. Default: (0.9, 0.999).
        eps (float): added to ``|g|``. Default: 1e-8.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        differentiable (bool): not supported (must be False).
        capturable (bool): CUDA-graph capture; not available on the CPU.
    """

    _option_defaults = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)
    _scalar_state = ("step",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_args(lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_inf"] = _zeros_like(p)

    def _update_group(self, group, params, grads, states):
        beta1, beta2 = group["betas"]
        adamax(params, grads, [s["exp_avg"] for s in states], [s["exp_inf"] for s in states],
               [s["step"] for s in states], eps=group["eps"], beta1=beta1, beta2=beta2,
               lr=group["lr"], weight_decay=group["weight_decay"], foreach=group["foreach"],
               maximize=group["maximize"], capturable=group["capturable"])


def adamax(params: list, grads: list, exp_avgs: list, exp_infs: list, state_steps: list,
           foreach=None, maximize=False, differentiable=False, capturable=False,
           has_complex=False, *, eps: float, beta1: float, beta2: float, lr: float,
           weight_decay: float) -> None:
    """The Adamax update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(eps=eps, beta1=beta1, beta2=beta2, lr=_value(lr), weight_decay=weight_decay,
              maximize=maximize)
    _apply_update(_single_tensor_adamax, [params, grads, exp_avgs, exp_infs, state_steps], (4,),
                  foreach, kw)


def _single_tensor_adamax(params, grads, exp_avgs, exp_infs, state_steps, *, eps, beta1, beta2,
                          lr, weight_decay, maximize):
    for i, param in enumerate(params):
        step_t = state_steps[i]._data
        step_t += 1
        p = param._data
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * p

        p, g = _real(p), _real(g)
        exp_avg, exp_inf = _real(exp_avgs[i]._data), _real(exp_infs[i]._data)
        _lerp_(exp_avg, g, 1 - beta1)
        exp_inf *= beta2
        norm = np.abs(g)
        norm += eps
        np.maximum(exp_inf, norm, out=exp_inf)

        clr = lr / (1 - beta1 ** step_t.item())
        update = np.multiply(exp_avg, -clr, out=norm)
        update /= exp_inf
        p += update
        param._vc[0] += 1
