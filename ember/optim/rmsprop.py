"""RMSprop: gradients divided by a running root-mean-square."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _GroupwiseOptimizer, _lerp_, _real, _scalar_tensor,
                        _value, _zeros_like)

__all__ = ["RMSprop", "rmsprop"]


class RMSprop(_GroupwiseOptimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop``).

    ``v = alpha v + (1 - alpha) g^2``; the denominator is ``sqrt(v) + eps`` (centered:
    ``sqrt(v - m^2) + eps`` with ``m`` the running mean gradient). Without momentum
    ``p -= lr * g / denom``; with it ``b = momentum b + g / denom``, ``p -= lr * b``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 1e-2.
        alpha (float): smoothing constant. Default: 0.99.
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        momentum (float): momentum factor. Default: 0.
        centered (bool): normalise by the estimated variance. Default: False.
        capturable (bool): CUDA-graph capture; not available on the CPU.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        differentiable (bool): not supported (must be False).
    """

    _option_defaults = dict(momentum=0, centered=False, foreach=None, maximize=False,
                            differentiable=False, capturable=False)
    _scalar_state = ("step",)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_args(lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["square_avg"] = _zeros_like(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(p)

    def _update_group(self, group, params, grads, states):
        bufs = [s["momentum_buffer"] for s in states] if group["momentum"] > 0 else []
        grad_avgs = [s["grad_avg"] for s in states] if group["centered"] else []
        rmsprop(params, grads, [s["square_avg"] for s in states], grad_avgs, bufs,
                [s["step"] for s in states], lr=group["lr"], alpha=group["alpha"],
                eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=group["momentum"], centered=group["centered"],
                foreach=group["foreach"], maximize=group["maximize"],
                capturable=group["capturable"])


def rmsprop(params: list, grads: list, square_avgs: list, grad_avgs: list,
            momentum_buffer_list: list, state_steps: list, foreach=None, maximize=False,
            differentiable=False, capturable=False, has_complex=False, *, lr: float,
            alpha: float, eps: float, weight_decay: float, momentum: float,
            centered: bool) -> None:
    """The RMSprop update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(lr=_value(lr), alpha=alpha, eps=eps, weight_decay=weight_decay,
              momentum=momentum, centered=centered, maximize=maximize)
    _apply_update(_single_tensor_rmsprop,
                  [params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps],
                  (5,), foreach, kw)


def _single_tensor_rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffer_list,
                           state_steps, *, lr, alpha, eps, weight_decay, momentum, centered,
                           maximize):
    for i, param in enumerate(params):
        state_steps[i]._data += 1
        p = param._data
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * p

        p, g, v = _real(p), _real(g), _real(square_avgs[i]._data)
        v *= alpha
        avg = g * (1 - alpha)
        avg *= g
        v += avg
        if centered:
            m = _real(grad_avgs[i]._data)
            _lerp_(m, g, 1 - alpha)
            np.multiply(m, -1, out=avg)
            avg *= m
            avg += v
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(v, out=avg)
        avg += eps
        if momentum > 0:
            buf = _real(momentum_buffer_list[i]._data)
            buf *= momentum
            np.divide(g, avg, out=avg)
            buf += avg
            np.multiply(buf, -lr, out=avg)
        else:
            np.divide(g * -lr, avg, out=avg)
        p += avg
        param._vc[0] += 1
