"""``ember.autograd.Function``: how users write an operation with their own backward.

    class Exp(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    y = Exp.apply(x)

``forward`` runs with grad mode off and receives Tensors; ``backward`` receives one gradient
per output and returns one per input of ``forward`` (None for non-tensor inputs). The
``ctx`` object is the graph node itself, as PyTorch's ``BackwardCFunction`` is.
Both the ``forward(ctx, ...)`` style and the ``forward(...)`` + ``setup_context(ctx, inputs,
output)`` style are supported.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from . import anomaly_mode
from .grad_mode import STATE, no_grad
from .graph import Node, SavedTensor, accumulator_of

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx(Node):
    """The context object passed to ``forward``/``backward`` (also the graph node).

    Each ``Function`` subclass gets its own subclass of this, named like PyTorch's
    (``MyFnBackward``), so ``type(y.grad_fn).__name__`` and ``y.grad_fn.name()`` read the
    same as there."""

    _user_backward = True          # the engine treats arrays it returns as user-owned
    _fn_cls = None

    def __init__(self, fn_cls=None):
        if fn_cls is not None:
            self._fn_cls = fn_cls
        self._to_save = None
        self._non_differentiable = ()
        self._dirty = ()
        self.materialize_grads = True
        self.needs_input_grad = ()

    def name(self) -> str:
        if type(self) is FunctionCtx and self._fn_cls is not None:
            return self._fn_cls.__name__ + "Backward"
        return type(self).__name__

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs, outputs or intermediates) for backward; an in-place change
        to one of them before backward is detected there. None entries are allowed."""
        from .._tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        self._to_save_forward = tensors

    def mark_non_differentiable(self, *tensors):
        """Outputs that will never get a gradient (e.g. indices): they do not require grad,
        and backward receives zeros (or None without materialized grads) for them."""
        self._non_differentiable = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """Inputs that ``forward`` modified in place (and returns as outputs)."""
        self._dirty = tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool):
        """Whether None output grads are given to backward as zeros (default True)."""
        self.materialize_grads = value

    @property
    def saved_tensors(self):
        if self._freed:
            return Node.saved_tensors.fget(self)
        return tuple(s.unpack(self) if s is not None else None for s in self._saved)

    saved_variables = saved_tensors

    def _backward(self, grads):
        grads = list(grads)
        if self.materialize_grads:
            from .._tensor import _wrap
            for i, g in enumerate(grads):
                if g is None and self._output_meta[i][1] is not None:   # tensor outputs
                    shape, dt = self._output_meta[i]
                    grads[i] = _wrap(np.zeros(shape, dtype=dt.np))
        result = self._fn_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.next_functions)
        if len(result) != n:
            # PyTorch tolerates trailing Nones beyond the inputs
            if len(result) < n or any(r is not None for r in result[n:]):
                raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                                   f"gradients (expected {n}, got {len(result)})")
            result = result[:n]
        from .._tensor import Tensor
        for r in result:
            if r is not None and not isinstance(r, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
        return result


BackwardCFunction = FunctionCtx


class _FunctionMeta(type):
    """Gives every Function subclass its node class, ``<Name>Backward``."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (FunctionCtx,), {"_fn_cls": cls})
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class for operations with a custom backward (see the module docstring).

    Subclasses define static ``forward`` and ``backward`` (and optionally
    ``setup_context``) and are called through ``apply``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not overridden")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    vjp = backward

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class itself. "
                      "Instantiating an autograd function will raise an error in a future "
                      "version.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` (without recording) and, when an input requires grad and grad
        mode is on, make the outputs the outputs of a ``<Name>Backward`` node."""
        from .._tensor import Tensor
        from ..ops.inplace import refresh_view
        ctx = cls._backward_cls()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        for a in tensor_args:
            if a._base is not None:
                refresh_view(a)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        separate = cls.setup_context is not Function.setup_context
        with no_grad():
            if separate:
                outputs = cls.forward(*args, **kwargs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        if separate:
            cls.setup_context(ctx, args, outputs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs

        record = STATE.enabled and any(t._requires_grad for t in tensor_args)
        if not record:
            return outputs

        edges, meta = [], []
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad:
                edges.append((a.grad_fn, a._output_nr) if a.grad_fn is not None
                             else (accumulator_of(a), 0))
                meta.append((a._data.shape, a.dtype))
            else:
                edges.append((None, 0))
                meta.append(None)
        ctx.next_functions = tuple(edges)
        ctx._input_meta = tuple(meta)

        result, out_meta = [], []
        input_ids = {id(a) for a in tensor_args}
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                result.append(o)
                out_meta.append(((), None))
                continue
            if id(o) in ctx._dirty:
                if o.grad_fn is None and o._requires_grad:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                       "in-place operation.")
                o._vc[0] += 1                      # modified in place: the input is rebased
            elif id(o) in input_ids:
                o = _alias_of(o)                   # an input returned as is: a view of it
            out_meta.append((o._data.shape, o.dtype))
            if id(o) not in ctx._non_differentiable and o._data.dtype.kind in "fc":
                o._requires_grad = True
                o.grad_fn = ctx
                o._output_nr = i
            result.append(o)
        ctx._output_meta = tuple(out_meta)
        if ctx._to_save is not None:
            saved = []
            out_pos = {id(o): i for i, o in enumerate(result) if isinstance(o, Tensor)}
            for t in ctx._to_save:
                if t is None:
                    saved.append(None)
                elif id(t) in out_pos and t.grad_fn is ctx:
                    saved.append(SavedTensor(t, out_pos[id(t)]))
                else:
                    saved.append(SavedTensor(t))
            ctx._saved = tuple(saved)
            ctx._to_save = None
        if anomaly_mode.STATE.enabled:
            anomaly_mode.record(ctx)
        return result[0] if single else tuple(result)


def _alias_of(t):
    """A new tensor viewing ``t``'s memory (same version counter), as PyTorch returns for an
    input that forward hands back unchanged."""
    from .._tensor import _wrap
    alias = _wrap(t._data)
    alias._vc = t._vc
    if t._base is not None:
        alias._base, alias._view_fn = t._base, t._view_fn
    else:
        alias._base, alias._view_fn = t, _identity
    return alias


def _identity(base):
    return base


def once_differentiable(fn):
    """Decorate a ``backward`` that cannot itself be differentiated: it runs without
    recording, and when its incoming gradients require grad (double backward), its results
    get an ``Error`` node that raises if a backward pass ever runs it. As in PyTorch, that
    node is not linked to the forward inputs."""
    @functools.wraps(fn)
    def wrapper(ctx, *grads):
        with no_grad():
            result = fn(ctx, *grads)
        from .._tensor import Tensor
        if not STATE.enabled:
            return result
        if not any(isinstance(g, Tensor) and g._requires_grad for g in grads):
            return result
        res = result if isinstance(result, tuple) else (result,)
        res = tuple(_error_node(r) if isinstance(r, Tensor) else r for r in res)
        return res if isinstance(result, tuple) else res[0]
    return wrapper


class DelayedError(Node):
    """The grad_fn of gradients computed by a ``@once_differentiable`` backward."""

    def name(self) -> str:
        return "Error"

    def _backward(self, grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def _error_node(t):
    from .._tensor import _make_result
    node = DelayedError()
    node.next_functions = ()
    node._output_meta = ((t._data.shape, t.dtype),)
    return _make_result(t._data, node, 0)
