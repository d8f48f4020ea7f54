"""ASGD: averaged stochastic gradient descent."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _get_scalar_dtype, _GroupwiseOptimizer, _real,
                        _scalar_tensor, _value, _zeros_like)

__all__ = ["ASGD", "asgd"]


class ASGD(_GroupwiseOptimizer):
    """Averaged SGD (PyTorch's ``torch.optim.ASGD``).

    ``p = p (1 - lambd eta) - eta g``; the average ``ax`` tracks ``p`` (a plain copy until
    step ``t0``, then a running mean with weight ``mu = 1 / max(1, t - t0)``), and
    ``eta = lr / (1 + lambd lr t)^alpha``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 1e-2.
        lambd (float): decay term. Default: 1e-4.
        alpha (float): power of the ``eta`` update. Default: 0.75.
        t0 (float): the step at which averaging starts. Default: 1e6.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        differentiable (bool): not supported (must be False).
        capturable (bool): CUDA-graph capture; not available on the CPU.
    """

    _option_defaults = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)
    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        check_args(lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["eta"] = _scalar_tensor(_value(group["lr"]), _get_scalar_dtype())
        state["mu"] = _scalar_tensor(1.0)
        state["ax"] = _zeros_like(p)

    def _update_group(self, group, params, grads, states):
        asgd(params, grads, [s["ax"] for s in states], [s["mu"] for s in states],
             [s["eta"] for s in states], [s["step"] for s in states], lambd=group["lambd"],
             lr=group["lr"], t0=group["t0"], alpha=group["alpha"],
             weight_decay=group["weight_decay"], foreach=group["foreach"],
             maximize=group["maximize"], capturable=group["capturable"])


def asgd(params: list, grads: list, axs: list, mus: list, etas: list, state_steps: list,
         foreach=None, maximize=False, differentiable=False, capturable=False,
         has_complex=False, *, lambd: float, lr: float, t0: float, alpha: float,
         weight_decay: float) -> None:
    """The ASGD update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(lambd=lambd, lr=_value(lr), t0=t0, alpha=alpha, weight_decay=weight_decay,
              maximize=maximize)
    _apply_update(_single_tensor_asgd, [params, grads, axs, mus, etas, state_steps], (3, 4, 5),
                  foreach, kw)


def _single_tensor_asgd(params, grads, axs, mus, etas, state_steps, *, lambd, lr, t0, alpha,
                        weight_decay, maximize):
    for i, param in enumerate(params):
        step_t = state_steps[i]._data
        step_t += 1
        p = param._data
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * p

        p, g, ax = _real(p), _real(g), _real(axs[i]._data)
        eta = etas[i]._data
        eta_value = eta.item()
        p *= 1 - lambd * eta_value
        p += g * -eta_value
        param._vc[0] += 1

        mu = mus[i]._data
        if mu.item() != 1:
            # (p - ax) * mu with mu a 0-d tensor: the result keeps p's dtype
            diff = np.subtract(p, ax)
            diff *= mu
            ax += diff
        else:
            ax[...] = p

        step = step_t.item()
        eta[...] = lr / ((1 + lambd * lr * step) ** alpha)
        mu[...] = 1 / max(1, step - t0)
