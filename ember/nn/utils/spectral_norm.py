"""The hook-based spectral normalization (PyTorch's ``torch.nn.utils.spectral_norm``):
``module.weight_orig`` is the parameter, ``weight_u``/``weight_v`` buffers hold the power
iteration's vectors, and a forward pre-hook sets ``module.weight = weight_orig / sigma``
before every call (one power-iteration step per call in training mode). Prefer
``nn.utils.parametrizations.spectral_norm``."""
from __future__ import annotations

import numpy as np

from ..._tensor import _wrap
from ...autograd.grad_mode import no_grad
from ..modules.module import Module
from ..parameter import Parameter, is_lazy

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]


def _normalize_np(x, eps):
    return x / max(float(np.sqrt(np.sum(np.abs(x) ** 2))), eps)


class SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm`."""

    _version = 1

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.dim()) if d != self.dim])
        return weight.reshape(weight.size(0), -1)

    def compute_weight(self, module: Module, do_power_iteration: bool):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        wm = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            W = wm._data
            for _ in range(self.n_power_iterations):
                v._data[...] = _normalize_np(W.T @ u._data, self.eps)
                u._data[...] = _normalize_np(W @ v._data, self.eps)
            u._vc[0] += 1
            v._vc[0] += 1
            u, v = u.clone(), v.clone()
        sigma = (u * (wm @ v)).sum()
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> SpectralNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if is_lazy(weight):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "spectral normalization")
        from ...ops.creation import empty
        from .. import init
        wm = fn.reshape_weight_to_matrix(weight)
        h, w = wm.shape
        u = _wrap(_normalize_np(init.normal_(empty(h, dtype=weight.dtype))._data, eps))
        v = _wrap(_normalize_np(init.normal_(empty(w, dtype=weight.dtype))._data, eps))
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its largest singular value (estimated by power iteration)
    before every forward; the parameter becomes ``<name>_orig``. Deprecated: use
    ``parametrizations.spectral_norm``."""
    if dim is None:
        from ..modules import conv
        transposed = tuple(getattr(conv, n) for n in ("ConvTranspose1d", "ConvTranspose2d",
                                                      "ConvTranspose3d") if hasattr(conv, n))
        dim = 1 if transposed and isinstance(module, transposed) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`spectral_norm`: ``<name>`` becomes a plain parameter (its normalized
    value)."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
