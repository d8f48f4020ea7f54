"""Automatic differentiation: ``backward``, ``grad``, grad modes, ``Function``, gradcheck.

See ``engine.py`` for how the backward pass walks the graph and ``graph.py`` for the nodes.
"""
from __future__ import annotations

from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import run_backward
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled, no_grad, set_grad_enabled)
from .graph import Node
from .gradcheck import gradcheck, gradgradcheck
from . import functional, graph

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "functional",
           "Node", "graph"]


def _as_tuple(x):
    from .._tensor import Tensor
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grads, is_grads_batched=False):
    """Check user-supplied output gradients, or make the implicit ones for scalars."""
    from .._tensor import Tensor, _wrap
    import numpy as np
    result = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if out._requires_grad or out.grad_fn is not None:
                if out._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if out._data.dtype.kind not in "fc":
                    raise RuntimeError("grad can be implicitly created only for real scalar "
                                       f"outputs but got {out.dtype}")
            result.append(_wrap(np.ones(out._data.shape, dtype=out._data.dtype)))
            continue
        if not isinstance(g, Tensor):
            g = _wrap(np.asarray(g, dtype=out._data.dtype))
        if g._data.shape != out._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} "
                               f"and output[{i}] has a shape of {out.shape}.")
        if g.is_complex() != out.is_complex() or (g.is_floating_point() !=
                                                  out.is_floating_point()):
            raise TypeError(f"For complex Tensors, both grad_output and output are required "
                            f"to have the same dtype. Mismatch in dtype: grad_output[{i}] has "
                            f"a dtype of {g.dtype} and output[{i}] has a dtype of "
                            f"{out.dtype}." if out.is_complex() else
                            f"grad_output[{i}] has dtype {g.dtype}, output[{i}] has dtype "
                            f"{out.dtype}: both must be floating point")
        result.append(g)
    return result


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves
    (only of ``inputs`` when given)."""
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    grads = _make_grads(tensors, grads)
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple
    (``.grad`` fields are left untouched)."""
    from .._tensor import Tensor
    outputs = _as_tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = _as_tuple(inputs)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grads)} "
                           f"grad_outputs and {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs[{i}] must be a Tensor, got {type(t).__name__}")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads)
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                          allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from ..ops.creation import zeros_like
        result = [r if r is not None else zeros_like(t) for r, t in zip(result, inputs)]
    return tuple(result)
