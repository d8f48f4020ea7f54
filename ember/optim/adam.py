"""Adam: adaptive moment estimation (with optional AMSGrad and decoupled weight decay)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._validate import check_args, check_capturable, check_flags, check_fused_dtype
from .optimizer import (_apply_update, _get_scalar_dtype, _GroupwiseOptimizer, _lerp_, _real,
                        _scalar_tensor, _to_scalar, _value, _zeros_like)

__all__ = ["Adam", "adam"]


class Adam(_GroupwiseOptimizer):
    """Adam (PyTorch's ``torch.optim.Adam``).

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``, and
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``; AMSGrad uses the
    running maximum of ``v``. Weight decay is added to the gradient, or with
    ``decoupled_weight_decay=True`` (AdamW) applied as ``p *= 1 - lr * weight_decay``.

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 1e-3.
        betas (Tuple[float, float]): decay rates of the two moment averages.
            Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay. Default: 0.
        amsgrad (bool): use the AMSGrad variant. Default: False.
        maximize (bool): maximize the objective instead of minimizing it.
        decoupled_weight_decay (bool): AdamW-style weight decay. Default: False.
        foreach, fused (bool, optional): accepted; the update is the same NumPy code.
        capturable (bool): CUDA-graph capture; not available on the CPU (step raises, as in
            PyTorch).
        differentiable (bool): not supported (must be False).
    """

    _option_defaults = dict(amsgrad=False, maximize=False, foreach=None, capturable=False,
                            differentiable=False, decoupled_weight_decay=False, fused=None)
    _scalar_state = ("step",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        check_args(lr, eps=eps, betas=betas, weight_decay=weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i in (0, 1):
            if isinstance(betas[i], Tensor):
                if not capturable and foreach:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                     "capturable=False and foreach=True")
                if betas[i].numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(map(_to_scalar, betas))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, fused)

    def _init_state(self, p, group, state):
        if group["fused"]:
            check_fused_dtype(p)
        fused_or_capturable = group["capturable"] or group["fused"]
        state["step"] = _scalar_tensor(
            0.0, _get_scalar_dtype(group["fused"]) if fused_or_capturable else None)
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)

    def _gather(self, group):
        if group["foreach"] and isinstance(group["lr"], Tensor) and not group["capturable"]:
            # PyTorch raises this in its gathering loop, once the first parameter with a
            # gradient has its state: do the same
            for p in group["params"]:
                if p.grad is not None:
                    if len(self.state[p]) == 0:
                        self._init_state(p, group, self.state[p])
                    raise RuntimeError("lr as a Tensor is not supported for capturable=False "
                                       "and foreach=True")
        return super()._gather(group)

    def _update_group(self, group, params, grads, states):
        beta1, beta2 = group["betas"]
        max_exp_avg_sqs = [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else []
        adam(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
             max_exp_avg_sqs, [s["step"] for s in states], amsgrad=group["amsgrad"],
             beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
             eps=group["eps"], maximize=group["maximize"], foreach=group["foreach"],
             capturable=group["capturable"], fused=group["fused"],
             decoupled_weight_decay=group["decoupled_weight_decay"])


def adam(params: list, grads: list, exp_avgs: list, exp_avg_sqs: list, max_exp_avg_sqs: list,
         state_steps: list, foreach=None, capturable=False, differentiable=False, fused=None,
         grad_scale=None, found_inf=None, has_complex=False, decoupled_weight_decay=False, *,
         amsgrad: bool, beta1: float, beta2: float, lr: float, weight_decay: float,
         eps: float, maximize: bool) -> None:
    """The Adam update on ``params`` and its state (in place), functional form."""
    if grad_scale is not None or found_inf is not None:
        raise NotImplementedError("grad_scale/found_inf (AMP) are not supported")
    check_capturable(params, capturable)
    kw = dict(amsgrad=amsgrad, beta1=_value(beta1), beta2=_value(beta2), lr=_value(lr),
              weight_decay=weight_decay, eps=eps, maximize=maximize,
              decoupled_weight_decay=decoupled_weight_decay)
    _apply_update(_single_tensor_adam,
                  [params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps], (5,),
                  True if fused else foreach, kw)


def _single_tensor_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *,
                        amsgrad, beta1, beta2, lr, weight_decay, eps, maximize,
                        decoupled_weight_decay):
    for i, param in enumerate(params):
        p = param._data
        g = grads[i]._data
        if maximize:
            g = np.negative(g)
        step_t = state_steps[i]._data
        step_t += 1
        step = step_t.item()

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
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / bias_correction1
        if amsgrad:
            max_sq = _real(max_exp_avg_sqs[i]._data)
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            denom = np.sqrt(max_sq, out=sq)
        else:
            denom = np.sqrt(exp_avg_sq, out=sq)
        denom /= bias_correction2_sqrt
        denom += eps
        update = exp_avg * -step_size
        update /= denom
        p += update
        param._vc[0] += 1
