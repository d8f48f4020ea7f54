"""Automatic differentiation: ``backward``, ``grad``, grad modes, ``Function``, gradcheck,
and ``functional`` (jacobian, hessian, vjp, jvp, hvp, vhp).

See ``engine.py`` for how the backward pass walks the graph and ``graph.py`` for the nodes.
"""
from __future__ import annotations

from .anomaly_mode import (detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled,
                           set_detect_anomaly)
from .engine import run_backward, warn_create_graph_backward
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled, no_grad, set_grad_enabled)
from .graph import Node
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import functional, graph

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "gradcheck", "gradgradcheck",
           "GradcheckError", "functional", "Node", "graph", "Variable"]


def _as_tuple(x):
    from .._tensor import Tensor
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grads, is_grads_batched=False):
    """Check user-supplied output gradients (shape; real vs complex), cast them to the
    output's dtype, or make the implicit ones (1) for scalar outputs."""
    import numpy as np
    from .._tensor import Tensor, _wrap
    result = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if is_grads_batched or out._requires_grad or out.grad_fn is not None:
                if out._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if out._data.dtype.kind not in "fc":
                    raise RuntimeError("grad can be implicitly created only for real scalar "
                                       f"outputs but got {out.dtype}")
                if out._data.dtype.kind == "c":
                    raise RuntimeError("grad can be implicitly created only for real scalar "
                                       f"outputs but got {out.dtype}")
            result.append(_wrap(np.ones(out._data.shape, dtype=out._data.dtype)))
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}")
        gshape = g._data.shape[1:] if is_grads_batched else g._data.shape
        if gshape != out._data.shape:
            if is_grads_batched:
                raise RuntimeError(
                    "If `is_grads_batched=True`, we interpret the first dimension of each "
                    "grad_output as the batch dimension. The sizes of the remaining dimensions "
                    "are expected to match the shape of corresponding output, but a mismatch "
                    f"was detected: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {out.shape}. If you only want some tensors in "
                    "`grad_output` to be considered batched, consider using vmap.")
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} "
                               f"and output[{i}] has a shape of {out.shape}.")
        if (g._data.dtype.kind == "c") != (out._data.dtype.kind == "c"):
            raise RuntimeError(
                "For complex Tensors, both grad_output and output are required to have the "
                f"same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of {g.dtype} "
                f"and output[{i}] has a dtype of {out.dtype}.")
        if g._data.dtype != out._data.dtype:
            # PyTorch casts a root gradient to its output's dtype (int or float64 -> float32)
            from .grad_mode import no_grad
            with no_grad() if not g._requires_grad else _nullcontext():
                g = g.to(out.dtype)
        result.append(g)
    return result


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _check_lengths(tensors, grads):
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(tensors)} tensors and {len(grads)} gradients")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves.

    Args:
        tensors: tensors to differentiate (roots of the backward pass).
        grad_tensors: the gradient with respect to each of ``tensors``; may be None for
            one-element tensors (then 1).
        retain_graph: keep the graph's saved tensors for another backward (default:
            ``create_graph``).
        create_graph: record the backward computation, for higher-order derivatives.
        inputs: accumulate only into the ``.grad`` of these tensors (leaves or not).
    """
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else \
        (None,) * len(tensors)
    _check_lengths(tensors, grads)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    grads = _make_grads(tensors, grads)
    if create_graph:
        warn_create_graph_backward()
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple (``.grad``
    fields are left untouched).

    Args:
        outputs, inputs: tensors (or sequences of tensors).
        grad_outputs: the vector in the vector-Jacobian product, one per output (None for
            one-element outputs).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the computation of the gradients (higher-order derivatives).
        allow_unused: return None for inputs the outputs do not depend on, instead of
            raising.
        is_grads_batched: the first dimension of each grad_output is a batch dimension; the
            result has it too (one vector-Jacobian product per batch entry).
        materialize_grads: return zeros instead of None for unused inputs.
    """
    from .._tensor import Tensor
    if not only_inputs:
        import warnings
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please use "
                      "ember.autograd.backward.", FutureWarning, stacklevel=2)
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs[{i}] must be a Tensor, got {type(t).__name__}")
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else \
        (None,) * len(outputs)
    _check_lengths(outputs, grads)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads, is_grads_batched)
    if is_grads_batched:
        result = _batched_grad(outputs, inputs, grads, retain_graph, create_graph,
                               allow_unused)
    else:
        result = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                              allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from ..ops.creation import zeros_like
        result = [r if r is not None else zeros_like(t) for r, t in zip(result, inputs)]
    return tuple(result)


def _batched_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused):
    """``is_grads_batched``: one backward per entry of the batch dimension, stacked."""
    import numpy as np
    from .._tensor import _wrap
    n = grads[0]._data.shape[0]
    for g in grads[1:]:
        if g._data.shape[0] != n:
            raise RuntimeError("If `is_grads_batched=True`, every grad_output must have the "
                               f"same batch size; got {n} and {g._data.shape[0]}")
    per_entry = []
    for b in range(n):
        gb = [g[b] for g in grads]
        per_entry.append(run_backward(outputs, gb, retain_graph or b < n - 1, create_graph,
                                      inputs=inputs, allow_unused=allow_unused,
                                      accumulate=False))
    result = []
    for k, t in enumerate(inputs):
        col = [r[k] for r in per_entry]
        if all(c is None for c in col):
            result.append(None)
            continue
        col = [c if c is not None else _wrap(np.zeros(t._data.shape, t._data.dtype))
               for c in col]
        if n == 0:
            result.append(_wrap(np.zeros((0,) + t._data.shape, t._data.dtype)))
        elif any(c._requires_grad for c in col):
            from ..ops.shape import stack
            result.append(stack(col))
        else:
            result.append(_wrap(np.stack([c._data for c in col])))
    return result


def Variable(data, requires_grad=False, volatile=False):
    """Deprecated alias kept for old code: returns ``data`` (a Tensor) with
    ``requires_grad`` set, as ``torch.autograd.Variable`` does."""
    from .._tensor import Tensor
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    if requires_grad:
        data.requires_grad_(True)
    return data
