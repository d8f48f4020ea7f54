"""NAdam: Adam with Nesterov momentum (and a momentum schedule)."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _GroupwiseOptimizer, _lerp_, _real, _scalar_tensor,
                        _value, _zeros_like)

__all__ = ["NAdam", "nadam"]


class NAdam(_GroupwiseOptimizer):
    """NAdam (PyTorch's ``torch.optim.NAdam``).

    The momentum coefficient follows the schedule
    ``mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))``; with ``P_t`` the running product
    of the ``mu``, the step is ``p -= lr (1 - mu_t) / (1 - P_t) * g / d
    + lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / d`` with ``d = sqrt(v / (1 - beta2^t)) + eps``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 2e-3.
        betas (Tuple[float, float]): decay rates of the moment averages.
            Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay. Default: 0.
        momentum_decay (float): the momentum schedule's rate. Default: 4e-3.
        decoupled_weight_decay (bool): AdamW-style weight decay. Default: False.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        capturable (bool): CUDA-graph capture; not available on the CPU.
        differentiable (bool): not supported (must be False).
    """

    _option_defaults = dict(maximize=False, foreach=None, capturable=False,
                            differentiable=False, decoupled_weight_decay=False)
    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_args(lr, eps=eps, betas=betas, weight_decay=weight_decay,
                   momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["mu_product"] = _scalar_tensor(1.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)

    def _update_group(self, group, params, grads, states):
        beta1, beta2 = group["betas"]
        nadam(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
              [s["mu_product"] for s in states], [s["step"] for s in states], beta1=beta1,
              beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
              momentum_decay=group["momentum_decay"], eps=group["eps"],
              maximize=group["maximize"], decoupled_weight_decay=group["decoupled_weight_decay"],
              foreach=group["foreach"], capturable=group["capturable"])


def nadam(params: list, grads: list, exp_avgs: list, exp_avg_sqs: list, mu_products: list,
          state_steps: list, decoupled_weight_decay=False, foreach=None, capturable=False,
          differentiable=False, has_complex=False, maximize=False, *, beta1: float,
          beta2: float, lr: float, weight_decay: float, momentum_decay: float,
          eps: float) -> None:
    """The NAdam update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(beta1=beta1, beta2=beta2, lr=_value(lr), weight_decay=weight_decay,
              momentum_decay=momentum_decay, eps=eps, maximize=maximize,
              decoupled_weight_decay=decoupled_weight_decay)
    _apply_update(_single_tensor_nadam,
                  [params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps], (4, 5),
                  foreach, kw)


def _single_tensor_nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps, *,
                         beta1, beta2, lr, weight_decay, momentum_decay, eps, maximize,
                         decoupled_weight_decay):
    for i, param in enumerate(params):
        step_t = state_steps[i]._data
        step_t += 1
        step = step_t.item()
        p = param._data
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        bias_correction2 = 1 - beta2 ** step
        if weight_decay != 0:
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p

        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = mu_products[i]._data
        mu_product *= mu              # kept in the state's dtype (float32), as in PyTorch
        mu_product_value = mu_product.item()
        mu_product_next = mu_product_value * mu_next

        p, g = _real(p), _real(g)
        exp_avg, exp_avg_sq = _real(exp_avgs[i]._data), _real(exp_avg_sqs[i]._data)
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        sq = g * (1 - beta2)
        sq *= g
        exp_avg_sq += sq
        denom = np.divide(exp_avg_sq, bias_correction2, out=sq)
        np.sqrt(denom, out=denom)
        denom += eps

        update = g * (-lr * (1.0 - mu) / (1.0 - mu_product_value))
        update /= denom
        p += update
        np.multiply(exp_avg, (-lr * mu_next) / (1.0 - mu_product_next), out=update)
        update /= denom
        p += update
        param._vc[0] += 1
