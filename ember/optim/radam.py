"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""
from __future__ import annotations

import numpy as np

from ._validate import check_args, check_capturable, check_flags
from .optimizer import (_apply_update, _GroupwiseOptimizer, _lerp_, _real, _scalar_tensor,
                        _value, _zeros_like)

__all__ = ["RAdam", "radam"]


class RAdam(_GroupwiseOptimizer):
    """RAdam (PyTorch's ``torch.optim.RAdam``).

    With ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``: while ``rho_t <= 5`` the step is
    plain momentum, ``p -= lr * m / (1 - beta1^t)``; afterwards it is the Adam step scaled
    by the rectification ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf /
    ((rho_inf - 4)(rho_inf - 2) rho_t))``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 1e-3.
        betas (Tuple[float, float]): decay rates of the moment averages.
            Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay. Default: 0.
        decoupled_weight_decay (bool): AdamW-style weight decay. Default: False.
        foreach (bool, optional): accepted; the update is the same NumPy code.
        maximize (bool): maximize the objective instead of minimizing it.
        capturable (bool): CUDA-graph capture; not available on the CPU.
        differentiable (bool): not supported (must be False).
    """

    _option_defaults = dict(foreach=None, maximize=False, differentiable=False,
                            decoupled_weight_decay=False, capturable=False)
    _scalar_state = ("step",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        check_args(lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)
        check_flags(differentiable)

    def _init_state(self, p, group, state):
        state["step"] = _scalar_tensor(0.0)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)

    def _update_group(self, group, params, grads, states):
        beta1, beta2 = group["betas"]
        radam(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
              [s["step"] for s in states], beta1=beta1, beta2=beta2, lr=group["lr"],
              weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
              foreach=group["foreach"], capturable=group["capturable"],
              decoupled_weight_decay=group["decoupled_weight_decay"])


def radam(params: list, grads: list, exp_avgs: list, exp_avg_sqs: list, state_steps: list,
          decoupled_weight_decay=False, foreach=None, differentiable=False, capturable=False,
          has_complex=False, maximize=False, *, beta1: float, beta2: float, lr: float,
          weight_decay: float, eps: float) -> None:
    """The RAdam update on ``params`` and its state (in place), functional form."""
    check_capturable(params, capturable)
    kw = dict(beta1=beta1, beta2=beta2, lr=_value(lr), weight_decay=weight_decay, eps=eps,
              maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
    _apply_update(_single_tensor_radam, [params, grads, exp_avgs, exp_avg_sqs, state_steps], (4,),
                  foreach, kw)


def _single_tensor_radam(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, beta1, beta2,
                         lr, weight_decay, eps, maximize, decoupled_weight_decay):
    for i, param in enumerate(params):
        step_t = state_steps[i]._data
        step_t += 1
        step = step_t.item()
        p = param._data
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p

        p, g = _real(p), _real(g)
        exp_avg, exp_avg_sq = _real(exp_avgs[i]._data), _real(exp_avg_sqs[i]._data)
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        sq = g * (1 - beta2)
        sq *= g
        exp_avg_sq += sq

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        update = exp_avg / bias_correction1
        update *= lr

        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = np.sqrt(exp_avg_sq, out=sq)
            adaptive_lr += eps
            np.divide(bias_correction2 ** 0.5, adaptive_lr, out=adaptive_lr)
            update *= adaptive_lr
            update *= rect
        p -= update
        param._vc[0] += 1
