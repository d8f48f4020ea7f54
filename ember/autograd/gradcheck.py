"""Numerical gradient checks: compare autograd with central finite differences.

``gradcheck(fn, inputs)`` perturbs each element of each float64 input that requires grad by
``±eps``, forms the numerical Jacobian, and compares it with the analytical one that
backward computes, column by column (one backward per output element).
``gradgradcheck`` applies the same test to the gradient function itself (double backward).
"""
from __future__ import annotations

import numpy as np

from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical Jacobians differ."""


def _as_tuple(x):
    from .._tensor import Tensor
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _flat_outputs(out):
    from .._tensor import Tensor
    outs = _as_tuple(out)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind in "fc"]


def _numerical_jacobian(fn, inputs, eps):
    """J[k][j] for input k: (n_out_total, n_in_k) by central differences."""
    from .._tensor import Tensor
    with no_grad():
        outs = _flat_outputs(fn(*inputs))
    n_out = sum(o._data.size for o in outs)
    jacs = []
    for x in inputs:
        if not (isinstance(x, Tensor) and x._requires_grad):
            jacs.append(None)
            continue
        flat = x._data.reshape(-1) if x._data.flags.c_contiguous else None
        if flat is None:
            raise ValueError("gradcheck expects contiguous inputs")
        J = np.zeros((n_out, flat.size), dtype=np.float64)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            with no_grad():
                plus = np.concatenate([o._data.reshape(-1) for o in
                                       _flat_outputs(fn(*inputs))]) if n_out else np.zeros(0)
            flat[j] = orig - eps
            with no_grad():
                minus = np.concatenate([o._data.reshape(-1) for o in
                                        _flat_outputs(fn(*inputs))]) if n_out else np.zeros(0)
            flat[j] = orig
            J[:, j] = (plus - minus) / (2 * eps)
        jacs.append(J)
    return jacs


def _analytical_jacobian(fn, inputs, nondet_tol=0.0):
    from .._tensor import Tensor, _wrap
    from . import grad as autograd_grad
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x._requires_grad]
    with enable_grad():
        outs = _flat_outputs(fn(*inputs))
    n_out = sum(o._data.size for o in outs)
    jacs = [np.zeros((n_out, x._data.size)) if isinstance(x, Tensor) and x._requires_grad
            else None for x in inputs]
    row = 0
    for o in outs:
        for i in range(o._data.size):
            g = np.zeros(o._data.shape, dtype=o._data.dtype)
            g.reshape(-1)[i] = 1
            if o.grad_fn is None and not o._requires_grad:
                row += 1
                continue
            grads = autograd_grad([o], diff_inputs, [_wrap(g)], retain_graph=True,
                                  allow_unused=True)
            k = 0
            for idx, x in enumerate(inputs):
                if jacs[idx] is None:
                    continue
                gk = grads[k]
                k += 1
                if gk is not None:
                    jacs[idx][row] = gk._data.reshape(-1)
            row += 1
    return jacs


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_backward_ad=True, fast_mode=False,
              masked=None) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Inputs that require grad should be float64 (a warning-free check needs the precision).
    Returns True, or raises ``GradcheckError`` (or returns False with
    ``raise_exception=False``) naming the input and the largest mismatch.
    """
    from .._tensor import Tensor
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x._requires_grad and x._data.dtype != np.float64 and \
                x._data.dtype != np.complex128:
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision "
                          "floating point. gradcheck is likely to fail.", stacklevel=2)
    if not any(isinstance(x, Tensor) and x._requires_grad for x in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    numerical = _numerical_jacobian(func, inputs, eps)
    analytical = _analytical_jacobian(func, inputs)
    for i, (n, a) in enumerate(zip(numerical, analytical)):
        if n is None:
            continue
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            diff = np.abs(a - n)
            where = np.unravel_index(np.argmax(diff), diff.shape)
            msg = (f"Jacobian mismatch for output 0 with respect to input {i},\n"
                   f"numerical:{n}\nanalytical:{a}\n"
                   f"largest difference {diff.max():.3g} at (output, input) element {where}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True,
                  fast_mode=False, masked=False) -> bool:
    """Check second derivatives: gradcheck of the function that maps (inputs, grad_outputs)
    to the gradients of ``func`` with ``create_graph=True``."""
    from .._tensor import Tensor, _wrap
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    with enable_grad():
        outs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype))
                             .requires_grad_() for o in outs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]

    def grads_fn(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _flat_outputs(func(*ins))
        g = autograd_grad(outs, [ins[i] for i in diff_idx], gos, create_graph=True,
                          allow_unused=True)
        return tuple(x for x in g if x is not None)

    return gradcheck(grads_fn, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
