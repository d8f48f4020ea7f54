"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .optimizer import (Optimizer, _check_capturable, _check_flags, _check_lr, _foreach_update,
                        _real, _scalar_tensor, _use_foreach, _use_grad_for_differentiable, _value,
                        _zeros_like)

__all__ = ["Adadelta", "adadelta"]


class Adadelta(Optimizer):
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

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, capturable=capturable, foreach=foreach,
                        differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _scalar_tensor(float(p_state["step"]))

    def _init_group(self, group, params, grads, square_avgs, acc_deltas, state_steps):
        for p in group["params"]:
            if p.grad is None:
                continue
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _scalar_tensor(0.0)
                state["square_avg"] = _zeros_like(p)
                state["acc_delta"] = _zeros_like(p)
            square_avgs.append(state["square_avg"])
            acc_deltas.append(state["acc_delta"])
            state_steps.append(state["step"])

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._call_closure(closure)
        for group in self.param_groups:
            params, grads, square_avgs, acc_deltas, state_steps = [], [], [], [], []
            self._init_group(group, params, grads, square_avgs, acc_deltas, state_steps)
            adadelta(params, grads, square_avgs, acc_deltas, state_steps, lr=group["lr"],
                     rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                     maximize=group["maximize"], foreach=group["foreach"],
                     capturable=group["capturable"])
        return loss


def adadelta(params: list, grads: list, square_avgs: list, acc_deltas: list,
             state_steps: list, capturable=False, foreach=None, differentiable=False,
             has_complex=False, *, lr: float, rho: float, eps: float, weight_decay: float,
             maximize: bool) -> None:
    """The Adadelta update on ``params`` and its state (in place), functional form."""
    _check_capturable(params, capturable)
    kw = dict(lr=_value(lr), rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
    lists = [params, grads, square_avgs, acc_deltas, state_steps]
    if _use_foreach(foreach, params):
        _foreach_update(_single_tensor_adadelta, lists, (4,), **kw)
    else:
        _single_tensor_adadelta(*lists, **kw)


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
