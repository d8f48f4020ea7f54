"""NAdam: Adam with Nesterov momentum (and a momentum schedule)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .adamax import _check_betas
from .optimizer import (Optimizer, _check_capturable, _check_flags, _check_lr, _foreach_update,
                        _lerp_, _real, _scalar_tensor, _use_foreach, _use_grad_for_differentiable,
                        _value, _zeros_like)

__all__ = ["NAdam", "nadam"]


class NAdam(Optimizer):
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

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        _check_betas(eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)
        _check_flags(differentiable)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0:
                    if not isinstance(p_state["step"], Tensor):
                        p_state["step"] = _scalar_tensor(float(p_state["step"]))
                    if not isinstance(p_state["mu_product"], Tensor):
                        p_state["mu_product"] = _scalar_tensor(float(p_state["mu_product"]))

    def _init_group(self, group, params, grads, exp_avgs, exp_avg_sqs, mu_products,
                    state_steps):
        for p in group["params"]:
            if p.grad is None:
                continue
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _scalar_tensor(0.0)
                state["mu_product"] = _scalar_tensor(1.0)
                state["exp_avg"] = _zeros_like(p)
                state["exp_avg_sq"] = _zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            mu_products.append(state["mu_product"])
            state_steps.append(state["step"])

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._call_closure(closure)
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, mu_products, steps = [], [], [], [], [], []
            self._init_group(group, params, grads, exp_avgs, exp_avg_sqs, mu_products, steps)
            beta1, beta2 = group["betas"]
            nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, steps, beta1=beta1,
                  beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                  momentum_decay=group["momentum_decay"], eps=group["eps"],
                  maximize=group["maximize"],
                  decoupled_weight_decay=group["decoupled_weight_decay"],
                  foreach=group["foreach"], capturable=group["capturable"])
        return loss


def nadam(params: list, grads: list, exp_avgs: list, exp_avg_sqs: list, mu_products: list,
          state_steps: list, decoupled_weight_decay=False, foreach=None, capturable=False,
          differentiable=False, has_complex=False, maximize=False, *, beta1: float,
          beta2: float, lr: float, weight_decay: float, momentum_decay: float,
          eps: float) -> None:
    """The NAdam update on ``params`` and its state (in place), functional form."""
    _check_capturable(params, capturable)
    kw = dict(beta1=beta1, beta2=beta2, lr=_value(lr), weight_decay=weight_decay,
              momentum_decay=momentum_decay, eps=eps, maximize=maximize,
              decoupled_weight_decay=decoupled_weight_decay)
    lists = [params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps]
    if _use_foreach(foreach, params):
        _foreach_update(_single_tensor_nadam, lists, (4, 5), **kw)
    else:
        _single_tensor_nadam(*lists, **kw)


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
