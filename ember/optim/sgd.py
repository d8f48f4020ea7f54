"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from __future__ import annotations

import numpy as np

from .._tensor import _wrap
from ._validate import check_args, check_flags, check_fused_dtype
from .optimizer import _apply_update, _GroupwiseOptimizer, _value

__all__ = ["SGD", "sgd"]


class SGD(_GroupwiseOptimizer):
    """Stochastic gradient descent (PyTorch's ``torch.optim.SGD``).

    With momentum ``mu`` the update is ``b = mu * b + (1 - dampening) * g`` (``b = g`` on
    the first step), then ``p -= lr * b`` (or ``p -= lr * (g + mu * b)`` with Nesterov).

    Args:
        params (iterable): parameters or parameter groups.
        lr (float or Tensor): learning rate. Default: 1e-3.
        momentum (float): momentum factor. Default: 0.
        dampening (float): dampening of the momentum. Default: 0.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        nesterov (bool): Nesterov momentum (needs momentum > 0 and no dampening).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, fused (bool, optional): accepted for compatibility; the update is the same
            vectorised NumPy code either way.
        differentiable (bool): not supported (must be False).
    """

    _option_defaults = dict(nesterov=False, maximize=False, foreach=None, differentiable=False,
                            fused=False)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        check_args(lr, momentum=momentum, weight_decay=weight_decay, negative_only=True)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, fused)

    def _gather(self, group):
        # SGD keeps no state but the momentum buffers, which the update creates on the first
        # step (None until then): gather those, and store them back after the update
        params, grads, momentum_buffer_list = [], [], []
        for p in group["params"]:
            if p.grad is not None:
                if group["fused"]:
                    check_fused_dtype(p)
                params.append(p)
                grads.append(p.grad)
                if group["momentum"] != 0:
                    momentum_buffer_list.append(self.state[p].get("momentum_buffer"))
        return params, grads, momentum_buffer_list

    def _update_group(self, group, params, grads, momentum_buffer_list):
        sgd(params, grads, momentum_buffer_list, weight_decay=group["weight_decay"],
            momentum=group["momentum"], lr=group["lr"], dampening=group["dampening"],
            nesterov=group["nesterov"], maximize=group["maximize"], foreach=group["foreach"],
            fused=group["fused"])
        if group["momentum"] != 0:
            for p, buf in zip(params, momentum_buffer_list):
                self.state[p]["momentum_buffer"] = buf


def sgd(params: list, d_p_list: list, momentum_buffer_list: list, has_sparse_grad=False,
        foreach=None, fused=None, grad_scale=None, found_inf=None, *, weight_decay: float,
        momentum: float, lr: float, dampening: float, nesterov: bool,
        maximize: bool) -> None:
    """The SGD update on ``params`` (in place), functional form.

    ``momentum_buffer_list`` holds one buffer per parameter (None before the first step);
    new buffers are stored into it.
    """
    if grad_scale is not None or found_inf is not None:
        raise NotImplementedError("grad_scale/found_inf (AMP) are not supported")
    kw = dict(weight_decay=_value(weight_decay), momentum=momentum, lr=_value(lr),
              dampening=dampening, nesterov=nesterov, maximize=maximize)
    # SGD does little work per element, so only really small tensors gain from batching
    _apply_update(_single_tensor_sgd, [params, d_p_list, momentum_buffer_list], (),
                  True if fused else foreach, kw, alone=1024)


def _single_tensor_sgd(params, d_p_list, momentum_buffer_list, *, weight_decay, momentum, lr,
                       dampening, nesterov, maximize):
    # Every operation here is linear, so complex parameters need no real view.
    for i, param in enumerate(params):
        p = param._data
        g = d_p_list[i]._data
        if maximize:
            g = np.negative(g)
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = _wrap(np.array(g, copy=True))
                momentum_buffer_list[i] = buf
            else:
                b = buf._data
                b *= momentum
                b += (1 - dampening) * g
            g = g + momentum * buf._data if nesterov else buf._data
        p += g * -lr               # not in place on g: it may be the gradient or the buffer
        param._vc[0] += 1
