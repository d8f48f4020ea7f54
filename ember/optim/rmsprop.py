"""RMSprop: gradients divided by a running root-mean-square."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .optimizer import (Optimizer, _check_capturable, _check_flags, _check_lr, _foreach_update,
                        _lerp_, _real, _scalar_tensor, _use_foreach, _use_grad_for_differentiable,
                        _value, _zeros_like)

__all__ = ["RMSprop", "rmsprop"]


class RMSprop(Optimizer):
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

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _scalar_tensor(float(p_state["step"]))

    def _init_group(self, group, params, grads, square_avgs, momentum_buffer_list, grad_avgs,
                    state_steps):
        for p in group["params"]:
            if p.grad is None:
                continue
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _scalar_tensor(0.0)
                state["square_avg"] = _zeros_like(p)
                if group["momentum"] > 0:
                    state["momentum_buffer"] = _zeros_like(p)
                if group["centered"]:
                    state["grad_avg"] = _zeros_like(p)
            square_avgs.append(state["square_avg"])
            state_steps.append(state["step"])
            if group["momentum"] > 0:
                momentum_buffer_list.append(state["momentum_buffer"])
            if group["centered"]:
                grad_avgs.append(state["grad_avg"])

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._call_closure(closure)
        for group in self.param_groups:
            params, grads, square_avgs, grad_avgs, bufs, state_steps = [], [], [], [], [], []
            self._init_group(group, params, grads, square_avgs, bufs, grad_avgs, state_steps)
            rmsprop(params, grads, square_avgs, grad_avgs, bufs, state_steps, lr=group["lr"],
                    alpha=group["alpha"], eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum=group["momentum"],
                    centered=group["centered"], foreach=group["foreach"],
                    maximize=group["maximize"], capturable=group["capturable"])
        return loss


def rmsprop(params: list, grads: list, square_avgs: list, grad_avgs: list,
            momentum_buffer_list: list, state_steps: list, foreach=None, maximize=False,
            differentiable=False, capturable=False, has_complex=False, *, lr: float,
            alpha: float, eps: float, weight_decay: float, momentum: float,
            centered: bool) -> None:
    """The RMSprop update on ``params`` and its state (in place), functional form."""
    _check_capturable(params, capturable)
    kw = dict(lr=_value(lr), alpha=alpha, eps=eps, weight_decay=weight_decay,
              momentum=momentum, centered=centered, maximize=maximize)
    lists = [params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps]
    if _use_foreach(foreach, params):
        _foreach_update(_single_tensor_rmsprop, lists, (5,), **kw)
    else:
        _single_tensor_rmsprop(*lists, **kw)


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
