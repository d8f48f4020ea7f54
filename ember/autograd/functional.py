"""Higher-level derivatives of whole functions: ``jacobian``, ``hessian``, ``vjp``, ``jvp``,
``hvp``, ``vhp`` (PyTorch's ``torch.autograd.functional``).

Every function takes ``func`` (Tensors in, a Tensor or a tuple of Tensors out) and
``inputs`` (a Tensor or a tuple of Tensors), and returns results shaped like PyTorch's: a
single Tensor where the inputs/outputs were a single Tensor, tuples where they were tuples.

All of them are built on reverse mode (``autograd.grad``). Forward-mode products (``jvp``,
``hvp``) use the double-vjp trick: for ``g(u) = J^T u`` (linear in ``u``), the vjp of ``g``
with ``v`` is ``J v``. ``vectorize=True`` is accepted and gives the same results (the
one-hot vector-Jacobian products run one after another).

With ``create_graph=False`` results are detached; with ``create_graph=True`` they are
differentiable with respect to the inputs. ``strict=True`` raises when an output does not
depend on an input instead of returning zeros.
"""
from __future__ import annotations

import numpy as np

from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x, arg_name, fn_name):
    """``(was_tuple, tuple_of_tensors)``, checking every entry is a Tensor."""
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)):
        for i, el in enumerate(x):
            if not isinstance(el, Tensor):
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                                f"tuple of Tensors but the value at index {i} has type "
                                f"{type(el)}.")
        return True, tuple(x)
    raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                    f"Tensors but the given {arg_name} has type {type(x)}.")


def _unpack(res, was_tuple):
    """Undo ``_as_tuple`` on results: ``was_tuple`` is a bool, or a pair (outer, inner) for
    nested results such as Jacobians."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            res = tuple(el[0] for el in res)
        if not outer:
            res = res[0]
        return res
    return res if was_tuple else res[0]


def _prepare(tensors, create_graph, need_graph):
    """Fresh tensors to differentiate with respect to. With ``create_graph`` an input that
    requires grad is aliased (a view keeps its graph, so results stay differentiable with
    respect to the caller's tensor); otherwise it is detached."""
    out = []
    for t in tensors:
        if create_graph and t.requires_grad:
            out.append(t.view(t.shape))
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _finish(res, create_graph):
    """Detach results unless the caller asked for a graph (nested tuples allowed)."""
    from .._tensor import Tensor
    if isinstance(res, Tensor):
        return res if create_graph else res.detach()
    return tuple(_finish(r, create_graph) for r in res)


def _validate_v(v, other, other_was_tuple):
    if len(other) != len(v):
        if other_was_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.shape != el_other.shape:
            prefix = f"Entry {idx} in " if other_was_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {el_other.size()} but got "
                               f"{el_v.size()}.")


def _check_requires_grad(tensors, kind, strict):
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is not None and t.requires_grad:
            continue
        if kind == "hessian":
            raise RuntimeError(f"The hessian of the user-provided function with respect to input "
                               f"{i} is independent of the input. This is not allowed in strict "
                               "mode. You should ensure that your function is thrice "
                               "differentiable and that the hessian depends on the inputs.")
        if kind == "jacobian":
            raise RuntimeError("While computing the hessian, found that the jacobian of the "
                               f"user-provided function with respect to input {i} is "
                               "independent of the input. This is not allowed in strict mode. "
                               "You should ensure that your function is twice differentiable "
                               "and that the jacobian depends on the inputs (this would be "
                               "violated by a linear function for example).")
        if kind == "grad_inputs":
            raise RuntimeError(f"The gradient with respect to input {i} is independent of the "
                               "inputs of the user-provided function. This is not allowed in "
                               "strict mode.")
        raise RuntimeError(f"Output {i} of the user-provided function does not require "
                           "gradients. The outputs must be computed in a differentiable manner "
                           "from the input when running in strict mode.")


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` over the outputs that take part in the graph; None for every input
    when none does."""
    from . import grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    outs, gouts = [], []
    for o, g in zip(outputs, grad_outputs):
        if o is not None and o.requires_grad:
            outs.append(o)
            gouts.append(g)
    if not outs:
        return (None,) * len(inputs)
    return grad(outs, inputs, gouts, allow_unused=True, create_graph=create_graph,
                retain_graph=retain_graph)


def _fill_zeros(grads, refs, strict, create_graph, stage):
    """Replace None results by zeros shaped like ``refs`` (or raise in strict mode)."""
    from ..ops.creation import zeros_like
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_STRICT_MESSAGES[stage].format(i=i))
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            which = "jacobian" if "double" not in stage else "hessian"
            raise RuntimeError(f"The {which} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        res.append(g)
    return tuple(res)


_STRICT_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Args:
        v: one tensor per output (may be None when ``func`` returns one single-element
            tensor).

    Returns:
        ``(func_output, vjp)``, ``vjp`` shaped like ``inputs``.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                           "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _prepare(v, create_graph, need_graph=False)
            _validate_v(v, outputs, outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        grads = _grad(outputs, inputs, v, create_graph=create_graph)
        result = _fill_zeros(grads, inputs, strict, create_graph, "back")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(result, create_graph), inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (double-vjp trick).

    Args:
        v: one tensor per input (may be None when the input is a single one-element
            tensor).

    Returns:
        ``(func_output, jvp)``, ``jvp`` shaped like the outputs.
    """
    from ..ops.creation import zeros_like
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _prepare(v, create_graph, need_graph=False)
            _validate_v(v, inputs, inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        outputs = func(*inputs)
        outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                           "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # u -> J^T u is linear in u; its vjp with v is J v
        u = tuple(zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grad(outputs, inputs, u, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
        grads = _grad(grad_inputs, u, v, create_graph=create_graph)
        result = _fill_zeros(grads, outputs, strict, create_graph, "back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(result, create_graph), outputs_tuple))


def _stack_rows(rows, shape, like):
    """Stack per-output-element gradient rows into a tensor of ``shape`` (differentiably
    when a row carries a graph)."""
    from .._tensor import _wrap
    if not rows:
        return _wrap(np.zeros(shape, dtype=like._data.dtype))
    if any(r.requires_grad for r in rows):
        from ..ops.shape import stack
        return stack(rows).reshape(shape)
    return _wrap(np.stack([r._data for r in rows]).reshape(shape))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    Returns:
        For one output and one input, a Tensor of shape ``output.shape + input.shape``;
        ``jac[i][j]`` (output ``i``, input ``j``) in tuples where ``func`` returns a tuple
        or ``inputs`` is a tuple.
    """
    from .._tensor import _wrap
    from ..ops.creation import zeros_like
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer to '
                             'use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and '
                               '`strategy="forward-mode"` are not supported together (yet). '
                               'Please either set `strict=False` or '
                               '`strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-"
                                      "reverse Hessian isonly implemented for `vectorize=True`.")
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                           "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either set "
                               "`strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            for j in range(out.numel()):
                onehot = np.zeros(out.shape, dtype=out._data.dtype)
                onehot.reshape(-1)[j] = 1
                vj = _grad((out,), inputs, (_wrap(onehot),), retain_graph=True,
                           create_graph=create_graph)
                for k, (g, x) in enumerate(zip(vj, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {k}. This is not allowed "
                                               "in strict mode.")
                        g = zeros_like(x)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError("The jacobian of the user-provided function is not "
                                           f"differentiable with respect to input {k}. This is "
                                           "not allowed in strict mode when create_graph=True.")
                    rows[k].append(g)
            jac.append(tuple(_stack_rows(r, tuple(out.shape) + tuple(x.shape), x)
                             for r, x in zip(rows, inputs)))
        jac = _finish(tuple(jac), create_graph)
    return _unpack(jac, (outputs_tuple, inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function ``func`` at ``inputs``.

    Returns:
        For one input, a Tensor of shape ``input.shape + input.shape``; for a tuple of
        inputs, ``hess[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``.
    """
    from .._tensor import Tensor
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or '
                             '"reverse-mode".')

    def single_output(*inp):
        out = func(*inp)
        out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        if out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.reshape(())

    def jac_func(*inp):
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack(res, (inputs_tuple, inputs_tuple))


def _scalar_output(func, inputs, name, strict):
    outputs = func(*inputs)
    outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", name)
    _check_requires_grad(outputs, "outputs", strict)
    if outputs_tuple or len(outputs) != 1:
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should "
                           "contain a single element")
    return outputs


def _hv_setup(func, inputs, v, create_graph, strict, name):
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _prepare(inputs, create_graph, need_graph=True)
    if v is not None:
        _, v = _as_tuple(v, "v", name)
        v = _prepare(v, create_graph, need_graph=False)
        _validate_v(v, inputs, inputs_tuple)
    elif len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided "
                           "function is a single Tensor with a single element.")
    outputs = _scalar_output(func, inputs, name, strict)
    jac = _grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return inputs_tuple, inputs, v, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Hessian product ``v^T H`` of a scalar function ``func``.

    Returns:
        ``(func_output, vhp)``, ``vhp`` shaped like ``inputs``.
    """
    with enable_grad():
        inputs_tuple, inputs, v, outputs, jac = _hv_setup(func, inputs, v, create_graph,
                                                          strict, "vhp")
        grads = _grad(jac, inputs, v, create_graph=create_graph)
        result = _fill_zeros(grads, inputs, strict, create_graph, "double_back")
    return (_unpack(_finish(outputs, create_graph), False),
            _unpack(_finish(result, create_graph), inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Hessian-vector product ``H v`` of a scalar function ``func`` (double-vjp trick
    on the gradient).

    Returns:
        ``(func_output, hvp)``, ``hvp`` shaped like ``inputs``.
    """
    from ..ops.creation import zeros_like
    with enable_grad():
        inputs_tuple, inputs, v, outputs, jac = _hv_setup(func, inputs, v, create_graph,
                                                          strict, "hvp")
        u = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad(jac, inputs, u, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
        grads = _grad(double_back, u, v, create_graph=create_graph)
        result = _fill_zeros(grads, inputs, strict, create_graph, "double_back_trick")
    return (_unpack(_finish(outputs, create_graph), False),
            _unpack(_finish(result, create_graph), inputs_tuple))
