"""Rprop: resilient backpropagation (sign-based steps with adaptive step sizes)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .optimizer import (Optimizer, _check_capturable, _check_flags, _check_lr, _foreach_update,
                        _full_like, _real, _scalar_tensor, _to_scalar, _use_foreach,
                        _use_grad_for_differentiable, _value, _zeros_like)

__all__ = ["Rprop", "rprop"]


class Rprop(Optimizer):
    """Rprop (PyTorch's ``torch.optim.Rprop``).

    Each coordinate keeps a step size: multiplied by ``etaplus`` when its gradient keeps its
    sign, by ``etaminus`` when the sign flips (the gradient then counts as zero for this
    step), clamped to ``step_sizes``; the parameter moves by ``-sign(g) * step_size``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): the initial step size. Default: 1e-2.
        etas (Tuple[float, float]): (etaminus, etaplus). Default: (0.5, 1.2).
        step_sizes (Tuple[float, float]): the allowed (min, max) step size.
            Default: (1e-6, 50).
        capturable (bool): CUDA-graph capture; not available on the CPU.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        differentiable (bool): not supported (must be False).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
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

    def _init_group(self, group, params, grads, prevs, step_sizes, state_steps):
        for p in group["params"]:
            if p.grad is None:
                continue
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _scalar_tensor(0.0)
                state["prev"] = _zeros_like(p)
                lr = _value(_to_scalar(group["lr"]))
                state["step_size"] = _full_like(p.grad, complex(lr, lr) if p.is_complex()
                                                else lr)
            prevs.append(state["prev"])
            step_sizes.append(state["step_size"])
            state_steps.append(state["step"])

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._call_closure(closure)
        for group in self.param_groups:
            params, grads, prevs, step_sizes, state_steps = [], [], [], [], []
            self._init_group(group, params, grads, prevs, step_sizes, state_steps)
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            rprop(params, grads, prevs, step_sizes, state_steps, step_size_min=step_size_min,
                  step_size_max=step_size_max, etaminus=etaminus, etaplus=etaplus,
                  foreach=group["foreach"], maximize=group["maximize"],
                  capturable=group["capturable"])
        return loss


def rprop(params: list, grads: list, prevs: list, step_sizes: list, state_steps: list,
          foreach=None, capturable=False, maximize=False, differentiable=False,
          has_complex=False, *, step_size_min: float, step_size_max: float, etaminus: float,
          etaplus: float) -> None:
    """The Rprop update on ``params`` and its state (in place), functional form."""
    _check_capturable(params, capturable)
    kw = dict(step_size_min=step_size_min, step_size_max=step_size_max, etaminus=etaminus,
              etaplus=etaplus, maximize=maximize)
    lists = [params, grads, prevs, step_sizes, state_steps]
    if _use_foreach(foreach, params):
        _foreach_update(_single_tensor_rprop, lists, (4,), **kw)
    else:
        _single_tensor_rprop(*lists, **kw)


def _single_tensor_rprop(params, grads, prevs, step_sizes, state_steps, *, step_size_min,
                         step_size_max, etaminus, etaplus, maximize):
    for i, param in enumerate(params):
        state_steps[i]._data += 1
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        p, g = _real(param._data), _real(g)
        prev, step_size = _real(prevs[i]._data), _real(step_sizes[i]._data)

        factor = np.sign(g * prev)
        positive, negative, zero = factor > 0, factor < 0, factor == 0
        factor[positive] = etaplus
        factor[negative] = etaminus
        factor[zero] = 1
        step_size *= factor
        np.clip(step_size, step_size_min, step_size_max, out=step_size)

        # where the sign flipped the gradient counts as zero: no move, no flip next step
        g = np.where(factor == factor.dtype.type(etaminus), 0, g).astype(g.dtype, copy=False)
        update = np.sign(g)
        update *= step_size
        p -= update
        param._vc[0] += 1
        prev[...] = g
