"""The base of every primitive operation: ``Op``.

A primitive is a class with its forward and its backward side by side::

    class Exp(Op):
        save_outputs = (0,)                      # backward needs exp(x): keep the output

        def forward(self, x):                    # backend arrays in, array out
            return np.exp(x)

        def backward(self, grad):                # ember Tensors in and out
            (y,) = self.saved_tensors
            return grad * y

    def exp(input):
        return Exp.apply(input)

``Op.apply`` runs ``forward`` on the inputs' arrays. If grad mode is on and an input requires
grad, the op instance itself becomes the output's ``grad_fn``: it records its inputs' edges,
shapes and dtypes, and the tensors listed in ``save_inputs``/``save_outputs``. ``backward``
is written with ember operations, so running it with ``create_graph=True`` records a graph
of its own (double backward). Gradients are returned per input in the input's broadcast
shape; the engine reduces them to each input's shape and dtype (see ``sum_to_shape``).

Inputs may be Tensors or plain values (Python scalars, arrays); plain values are constants.
Parameters that are not inputs are passed as keyword arguments to ``apply`` and on to
``forward``, which stores on ``self`` whatever backward needs.
"""
from __future__ import annotations

import numpy as np

from ..autograd import anomaly_mode
from ..autograd.anomaly_mode import STATE as _ANOMALY
from ..autograd.grad_mode import STATE
from ..autograd.graph import Node, SavedTensor, accumulator_of
from .._dtype import NP_TO_DTYPE
from .._tensor import Tensor, _wrap, _make_result

__all__ = ["Op", "sum_to_shape", "tensor_method", "as_array"]

_new = object.__new__
_NO_EDGE = (None, 0)
_NEEDS_ONE = (True,)
_ndarray = np.ndarray


class Op(Node):
    """Base class of primitive operations (see the module docstring)."""

    save_inputs: tuple = ()       # positions of inputs that backward reads via saved_tensors
    save_outputs: tuple = ()      # positions of outputs that backward reads via saved_tensors
    is_view = False               # output 0 shares memory with input 0 (a view)
    nondiff_outputs: tuple = ()   # outputs that never carry gradient (indices, masks)
    differentiable = True         # False: outputs never require grad (comparisons, argmax)
    needs_input_grad: tuple = ()  # per input: whether backward must produce its gradient
                                  # (set when recorded, from the inputs' requires_grad)

    def forward(self, *arrays, **params):  # pragma: no cover - overridden
        raise NotImplementedError

    def backward(self, *grads):  # pragma: no cover - overridden
        raise NotImplementedError(f"the derivative for '{self.name()}' is not implemented")

    @classmethod
    def apply(cls, *inputs, **params):
        op = _new(cls)
        arrays = []
        requires = False
        for x in inputs:                    # (a plain loop: cheaper than a comprehension)
            if isinstance(x, Tensor):
                arrays.append(x._data)
                if x._requires_grad:
                    requires = True
                    if x._base is not None:
                        refresh_view(x)     # its base may have changed through another view
            else:
                arrays.append(x)
        out = op.forward(*arrays, **params)
        if type(out) is tuple:
            result = tuple(_wrap(o if type(o) is _ndarray else np.asarray(o)) for o in out)
            outs = result
            if op.is_view:
                _mark_view(result[0], inputs[0], cls, params)
        else:
            result = _new(Tensor)           # _wrap, inlined: this is the hottest line
            result._data = out if type(out) is _ndarray else np.asarray(out)
            result._requires_grad = False
            result.grad_fn = None
            result._vc = [0]
            result._base = None
            outs = (result,)
            if op.is_view:
                _mark_view(result, inputs[0], cls, params)
        state = STATE
        if requires and state.enabled and cls.differentiable:
            op._record(inputs, outs)
        if state.inference:
            for o in outs:
                o._inference = True
        return result

    # ``apply`` for the hottest call shapes, unrolled: one Tensor (unary elementwise ops) or a
    # Tensor and a Tensor or plain value (binary arithmetic), no keyword parameters, one
    # array out, not a view. Packing *inputs/**params and the per-input loop are a third of
    # the cost of a small op; the steps are otherwise exactly those of ``apply``.
    @classmethod
    def _apply1(cls, x):
        if cls.is_view:
            return cls.apply(x)
        op = _new(cls)
        requires = x._requires_grad
        if requires and x._base is not None:
            refresh_view(x)
        out = op.forward(x._data)
        result = _new(Tensor)
        result._data = out if type(out) is _ndarray else np.asarray(out)
        result._requires_grad = False
        result.grad_fn = None
        result._vc = [0]
        result._base = None
        state = STATE
        if requires and state.enabled and cls.differentiable:
            op._record1(x, result)
        if state.inference:
            result._inference = True
        return result

    @classmethod
    def _apply2(cls, a, b):
        if cls.is_view:
            return cls.apply(a, b)
        op = _new(cls)
        requires = a._requires_grad
        if requires and a._base is not None:
            refresh_view(a)
        if isinstance(b, Tensor):
            if b._requires_grad:
                requires = True
                if b._base is not None:
                    refresh_view(b)
            out = op.forward(a._data, b._data)
        else:
            out = op.forward(a._data, b)
        result = _new(Tensor)
        result._data = out if type(out) is _ndarray else np.asarray(out)
        result._requires_grad = False
        result.grad_fn = None
        result._vc = [0]
        result._base = None
        state = STATE
        if requires and state.enabled and cls.differentiable:
            op._record2(a, b, result)
        if state.inference:
            result._inference = True
        return result

    def _record(self, inputs, outs):
        """Make this op the grad_fn of ``outs``: remember the inputs' edges, shapes and
        dtypes, and the tensors backward will read."""
        edges = []
        meta = []
        for x in inputs:
            if isinstance(x, Tensor) and x._requires_grad:
                data = x._data
                fn = x.grad_fn
                edges.append((fn, x._output_nr) if fn is not None else (accumulator_of(x), 0))
                meta.append((data.shape, NP_TO_DTYPE[data.dtype]))
            else:
                edges.append(_NO_EDGE)
                meta.append(None)
        self.next_functions = tuple(edges)
        self._input_meta = tuple(meta)
        self.needs_input_grad = tuple([m is not None for m in meta])
        if len(outs) == 1:
            self._record_output(outs[0])
        else:
            nondiff = type(self).nondiff_outputs
            self._output_meta = tuple([(o._data.shape, NP_TO_DTYPE[o._data.dtype])
                                       for o in outs])
            for i, o in enumerate(outs):
                if i not in nondiff and o._data.dtype.kind in "fc":
                    o._requires_grad = True
                    o.grad_fn = self
                    if i:
                        o._output_nr = i
        self._record_saved(inputs, outs)

    # ``_record`` for _apply1 and _apply2, unrolled (the same steps).
    def _record1(self, x, out):
        fn = x.grad_fn                      # (x requires grad: _apply1 records only then)
        data = x._data
        self.next_functions = ((fn, x._output_nr) if fn is not None else
                               (accumulator_of(x), 0),)
        self._input_meta = ((data.shape, NP_TO_DTYPE[data.dtype]),)
        self.needs_input_grad = _NEEDS_ONE
        self._record_output(out)
        if self.save_inputs or self.save_outputs:
            self._record_saved((x,), (out,))
        elif _ANOMALY.enabled:
            anomaly_mode.record(self)

    def _record2(self, a, b, out):
        if a._requires_grad:
            fn = a.grad_fn
            data = a._data
            edge_a = (fn, a._output_nr) if fn is not None else (accumulator_of(a), 0)
            meta_a = (data.shape, NP_TO_DTYPE[data.dtype])
        else:
            edge_a = _NO_EDGE
            meta_a = None
        if isinstance(b, Tensor) and b._requires_grad:
            fn = b.grad_fn
            data = b._data
            edge_b = (fn, b._output_nr) if fn is not None else (accumulator_of(b), 0)
            meta_b = (data.shape, NP_TO_DTYPE[data.dtype])
        else:
            edge_b = _NO_EDGE
            meta_b = None
        self.next_functions = (edge_a, edge_b)
        self._input_meta = (meta_a, meta_b)
        self.needs_input_grad = (meta_a is not None, meta_b is not None)
        self._record_output(out)
        if self.save_inputs or self.save_outputs:
            self._record_saved((a, b), (out,))
        elif _ANOMALY.enabled:
            anomaly_mode.record(self)

    def _record_output(self, o):
        """The single output ``o``: its shape and dtype, and this op as its grad_fn."""
        data = o._data
        odt = NP_TO_DTYPE[data.dtype]
        self._output_meta = ((data.shape, odt),)
        if odt._category >= 2 and not self.nondiff_outputs:
            o._requires_grad = True
            o.grad_fn = self

    def _record_saved(self, inputs, outs):
        """Keep what backward reads (``save_inputs``, ``save_outputs``), each with its
        version; then the anomaly-mode trace."""
        save_in, save_out = self.save_inputs, self.save_outputs
        if save_in or save_out:
            saved = []
            for i in save_in:
                x = inputs[i]
                if not isinstance(x, Tensor) or x._inference:
                    x = _as_tensor_for_saving(x)
                s = _new(SavedTensor)           # SavedTensor(x), inlined (a third cheaper)
                s.tensor = x
                vc = s.version_counter = x._vc
                s.version = vc[0]
                s.output_nr = None
                saved.append(s)
            for i in save_out:
                o = outs[i]
                s = _new(SavedTensor)           # SavedTensor(o, i), inlined
                s.tensor = None
                s.data = o._data
                vc = s.version_counter = o._vc
                s.version = vc[0]
                s.output_nr = i
                saved.append(s)
            self._saved = saved
        if _ANOMALY.enabled:
            anomaly_mode.record(self)

    def _backward(self, grads):
        """Engine entry point: materialize missing output grads, call backward, and return
        one gradient (or None) per input."""
        if len(grads) == 1:                 # the common single-output node
            g = grads[0]
            if g is None:
                return (None,) * len(self.next_functions)
            result = self.backward(g)
        else:
            if all(g is None for g in grads):
                return (None,) * len(self.next_functions)
            if any(g is None for g in grads):
                grads = [g if g is not None else _zeros(m)
                         for g, m in zip(grads, self._output_meta)]
            result = self.backward(*grads)
        if type(result) is not tuple:
            result = (result,)
        if len(result) != len(self.next_functions):
            raise RuntimeError(f"{self.name()}.backward returned {len(result)} gradients, "
                               f"expected {len(self.next_functions)}")
        return result


def _zeros(meta):
    shape, dt = meta
    return _wrap(np.zeros(shape, dtype=dt.np))


def _as_tensor_for_saving(x):
    if isinstance(x, Tensor):
        if x._inference:
            raise RuntimeError("Inference tensors cannot be saved for backward. To work around "
                               "you can make a clone to get a normal tensor and use it in "
                               "autograd.")
        return x
    return _wrap(np.asarray(x))


def _mark_view(out, src, cls, params):
    """``out`` is a view of ``src``: share the version counter and remember how to replay
    the view from the base (for in-place ops on views, see ember.ops.inplace)."""
    out._vc = src._vc
    out._view_version = src._vc[0]
    base = src._base
    if base is None:
        out._base = src
        out._view_fn = lambda b: cls.apply(b, **params)
    else:
        out._base = base
        parent = src._view_fn
        out._view_fn = lambda b: cls.apply(parent(b), **params)


def refresh_view(x):
    from .inplace import refresh_view as refresh
    refresh(x)


# ---------------------------------------------------------------------------------------
# Broadcast reduction: the one place where a gradient is summed back to an input's shape.

class SumToShape(Op):
    """Sum a broadcast gradient back to ``shape`` (the engine's reduction step)."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape) if lead else y

    def backward(self, grad):
        from .shape import expand
        return expand(grad, self.in_shape)


def sum_to_shape(grad: Tensor, shape, node=None) -> Tensor:
    """Reduce ``grad`` to ``shape`` by summing over broadcast dimensions."""
    gshape = grad._data.shape
    if len(gshape) < len(shape) or any(
            s != 1 and s != g for s, g in zip(shape[::-1], gshape[::-1])):
        where = f" in {node.name()}" if node is not None else ""
        raise RuntimeError(f"Function{where} returned an invalid gradient - got "
                           f"[{', '.join(map(str, gshape))}] but expected shape compatible with "
                           f"[{', '.join(map(str, shape))}]")
    return SumToShape.apply(grad, shape=tuple(shape))


# ---------------------------------------------------------------------------------------
# Helpers shared by the op families

def tensor_method(fn=None, *, name=None):
    """Decorator: also expose a function as a ``Tensor`` method (``x.exp()``)."""
    def attach(f):
        setattr(Tensor, name or f.__name__, f)
        return f
    return attach(fn) if fn is not None else attach


def as_array(x):
    """The array behind a Tensor, or ``x`` itself."""
    return x._data if isinstance(x, Tensor) else x


# re-exported for op modules
__all__ += ["Tensor", "_wrap", "_make_result"]
