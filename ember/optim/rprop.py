"""Rprop: resilient backpropagation (sign-based steps with adaptive step sizes)."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _full_like, _GroupwiseOptimizer, _real, _scalar_tensor,
                        _to_scalar, _value, _zeros_like)

__all__ = ["Rprop", "rprop"]


class Rprop(_GroupwiseOptimizer):
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

    _option_defaults = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)
    _scalar_state = ("step",)

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_args(lr, etas=etas)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["prev"] = _zeros_like(p)
        lr = _value(_to_scalar(group["lr"]))
        state["step_size"] = _full_like(p.grad, complex(lr, lr) if p.is_complex() else lr)

    def _update_group(self, group, params, grads, states):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        rprop(params, grads, [s["prev"] for s in states], [s["step_size"] for s in states],
              [s["step"] for s in states], step_size_min=step_size_min,
              step_size_max=step_size_max, etaminus=etaminus, etaplus=etaplus,
              foreach=group["foreach"], maximize=group["maximize"],
              capturable=group["capturable"])


def rprop(params: list, grads: list, prevs: list, step_sizes: list, state_steps: list,
          foreach=None, capturable=False, maximize=False, differentiable=False,
          has_complex=False, *, step_size_min: float, step_size_max: float, etaminus: float,
          etaplus: float) -> None:
    """The Rprop update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(step_size_min=step_size_min, step_size_max=step_size_max, etaminus=etaminus,
              etaplus=etaplus, maximize=maximize)
    _apply_update(_single_tensor_rprop, [params, grads, prevs, step_sizes, state_steps], (4,),
                  foreach, kw)


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
