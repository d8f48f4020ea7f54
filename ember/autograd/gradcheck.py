"""Numerical gradient checks: compare autograd with central finite differences.

``gradcheck(fn, inputs)`` perturbs each element of each input that requires grad by
``±eps``, forms the numerical Jacobian column by column, and compares it with the analytical
one that backward computes (one vector-Jacobian product per output element), for every
(output, input) pair. The analytical Jacobian is computed twice, to check that backward is
reentrant (deterministic within ``nondet_tol``).
``gradgradcheck`` applies the same test to the gradient function itself (double backward).

Use float64 inputs: with float32 the finite differences are too noisy for the tolerances.
Only real inputs are supported.
"""
from __future__ import annotations

import warnings

import numpy as np

from .grad_mode import enable_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` and :func:`gradgradcheck` when a check fails."""


def _as_tuple(x):
    from .._tensor import Tensor
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _diff_outputs(out):
    """The outputs that can carry a gradient: floating-point (or complex) tensors."""
    from .._tensor import Tensor
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o._data.dtype.kind in "fc"]


def _is_diff_input(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor) and x._requires_grad


def _flat_values(func, inputs, ref_outs, idx=None, eps=None):
    """Evaluate ``func`` (with grad mode on: ``func`` may itself compute gradients, as in
    gradgradcheck); the outputs' values, checked against the reference outputs' shapes and
    dtypes."""
    with enable_grad():
        outs = _diff_outputs(func(*inputs))
    if len(outs) != len(ref_outs):
        raise GradcheckError(f"Expected `func` to return the same number of differentiable "
                             f"outputs when inputs are perturbed, but got {len(outs)} and "
                             f"{len(ref_outs)}")
    on_index = f"on index {idx} " if idx is not None else ""
    for o, r in zip(outs, ref_outs):
        if o._data.shape != r._data.shape:
            raise AssertionError(f"Expected `func` to return outputs with the same shape when "
                                 f"inputs are perturbed {on_index}by {eps}, but got: shapes "
                                 f"{o.shape} and {r.shape}.")
        if o._data.dtype != r._data.dtype:
            raise AssertionError(f"Expected `func` to return outputs with the same dtype when "
                                 f"inputs are perturbed {on_index}by {eps}, but got: dtypes "
                                 f"{o.dtype} and {r.dtype}.")
    return [o._data.astype(np.float64).reshape(-1) for o in outs]


def _numerical_jacobian(func, inputs, ref_outs, eps):
    """``jac[i][o]``: (numel of input i, numel of output o), by central differences.
    Each input's own memory is perturbed (any layout) and restored."""
    jacs = []
    for i, x in enumerate(inputs):
        if not _is_diff_input(x):
            jacs.append(None)
            continue
        arr = x._data
        cols = [np.zeros((arr.size, o._data.size)) for o in ref_outs]
        for j in range(arr.size):
            where = np.unravel_index(j, arr.shape)
            orig = arr[where].copy()
            arr[where] = orig + eps
            plus = _flat_values(func, inputs, ref_outs, j, eps)
            arr[where] = orig - eps
            minus = _flat_values(func, inputs, ref_outs, j, eps)
            arr[where] = orig
            for k, (p, m) in enumerate(zip(plus, minus)):
                cols[k][j] = (p - m) / (2 * eps)
        jacs.append(cols)
    return jacs


def _analytical_jacobian(inputs, outs, check_grad_dtypes):
    """``jac[i][o]`` from backward: row ``j`` of output ``o`` is the gradient for the
    one-hot output gradient ``e_j``."""
    from .._tensor import _wrap
    from . import grad as autograd_grad
    diff_pos = [i for i, x in enumerate(inputs) if _is_diff_input(x)]
    diff_inputs = [inputs[i] for i in diff_pos]
    jacs = [[np.zeros((inputs[i]._data.size, o._data.size)) for o in outs]
            if i in diff_pos else None for i in range(len(inputs))]
    for k, o in enumerate(outs):
        if not o._requires_grad:
            continue                          # no path from the inputs: zero Jacobian
        for j in range(o._data.size):
            g = np.zeros(o._data.shape, dtype=o._data.dtype)
            g.reshape(-1)[j] = 1
            grads = autograd_grad([o], diff_inputs, [_wrap(g)], retain_graph=True,
                                  allow_unused=True)
            for i, gi in zip(diff_pos, grads):
                if gi is None:
                    continue
                x = inputs[i]
                if gi._data.shape != x._data.shape:
                    raise GradcheckError("Analytical gradient has incorrect size")
                if check_grad_dtypes and gi._data.dtype != x._data.dtype:
                    raise GradcheckError("Gradient has dtype mismatch")
                jacs[i][k][:, j] = gi._data.reshape(-1)
    return jacs


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Args:
        func: takes the inputs, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple of Tensors (other values are passed through); those with
            ``requires_grad=True`` are checked (use float64).
        eps: finite-difference step. atol, rtol: tolerances (``allclose`` of analytical
            against numerical).
        raise_exception: raise ``GradcheckError`` on failure (else return False).
        nondet_tol: allowed difference between two backward runs (reentrancy).
        check_grad_dtypes: also require each gradient's dtype to be its input's.

    ``fast_mode`` is accepted and runs the full check (which is stricter); the batched,
    forward-AD and undefined-grad variants of PyTorch's check are not performed.

    Returns True, or raises ``GradcheckError`` naming the output and input whose Jacobians
    differ, with both Jacobians and the largest difference.
    """
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not _is_diff_input(x):
            continue
        if x._data.dtype.kind == "c":
            raise NotImplementedError("ember's gradcheck supports real inputs only "
                                      f"(input #{i} is {x.dtype})")
        if x._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", stacklevel=2)
        if x._data.size > 1 and any(st == 0 and n > 1 for st, n in
                                    zip(x._data.strides, x._data.shape)):
            raise RuntimeError(f"The {i}th input has a dimension with stride 0. gradcheck only "
                               "supports inputs that are non-overlapping to be able to compute "
                               "the numerical gradients correctly. You should call .contiguous "
                               "on the input before passing it to gradcheck.")
    if not any(_is_diff_input(x) for x in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")
    if not check_backward_ad:
        return True
    with enable_grad():
        outs = _diff_outputs(func(*inputs))

    numerical = _numerical_jacobian(func, inputs, outs, eps)
    if not any(o._requires_grad for o in outs):
        for cols in numerical:
            for n in cols or ():
                if np.any(n != 0):
                    return _fail("Numerical gradient for function expected to be zero",
                                 raise_exception)
        return True

    analytical = _analytical_jacobian(inputs, outs, check_grad_dtypes)
    for i, (num_i, ana_i) in enumerate(zip(numerical, analytical)):
        if num_i is None:
            continue
        for k, (n, a) in enumerate(zip(num_i, ana_i)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                diff = np.abs(a - n)
                where = np.unravel_index(np.argmax(diff), diff.shape)
                return _fail(
                    f"Jacobian mismatch for output {k} with respect to input {i},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                    f"(largest difference {diff.max():.6g} at input element {where[0]}, "
                    f"output element {where[1]}; rows are input elements, columns output "
                    f"elements)", raise_exception)

    # reentrancy: a second backward with the same inputs must give the same Jacobian
    again = _analytical_jacobian(inputs, outs, check_grad_dtypes)
    for ana_i, again_i in zip(analytical, again):
        for a, b in zip(ana_i or (), again_i or ()):
            if a.size and np.max(np.abs(a - b)) > nondet_tol:
                return _fail(
                    "Backward is not reentrant, i.e., running backward with same input and "
                    "grad_output multiple times gives different values, although analytical "
                    "gradient matches numerical gradient."
                    f"The tolerance for nondeterminism was {nondet_tol}.", raise_exception)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True,
                  fast_mode=False, masked=False) -> bool:
    """Check second derivatives: ``gradcheck`` of the function that maps
    ``(inputs, grad_outputs)`` to the gradients of ``func`` computed with
    ``create_graph=True``.

    ``grad_outputs`` defaults to random values in [-1, 1] (fixed seed), one per
    differentiable output, with ``requires_grad=True``.
    """
    from .._tensor import _wrap
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    with enable_grad():
        outs = _diff_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for o in outs:
            g = rng.uniform(-1, 1, o._data.shape).astype(o._data.dtype)
            if gen_non_contig_grad_outputs and g.ndim:
                g = np.repeat(g[..., None], 2, axis=-1)[..., 0]     # a strided view
            grad_outputs.append(_wrap(g).requires_grad_())
        grad_outputs = tuple(grad_outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if _is_diff_input(x)]

    def grads_fn(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _diff_outputs(func(*ins))
        g = autograd_grad(outs, [ins[i] for i in diff_idx], gos, create_graph=True,
                          allow_unused=True)
        return tuple(x for x in g if x is not None)

    return gradcheck(grads_fn, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_grad_dtypes=check_grad_dtypes)
