"""Tracing: run the model on example inputs and record every primitive op it calls.

Every ember computation goes through ``Op.apply`` (``ember.ops._op``). While a ``Tracer``
is active, ``Op.apply`` (and its unrolled fast paths ``_apply1``/``_apply2``) are replaced
by ``_traced_apply``, which runs the op exactly as usual and then records a ``Node``: the op
instance (whose ``forward`` has stored its parameters on it), its inputs (traced ``Value``s,
constants, or plain Python values) and its outputs. Nothing else changes, so the model runs
its ordinary code; the exporter then converts the recorded nodes one by one.

What a trace cannot see is refused rather than silently frozen into the graph:

* a traced tensor turned into a Python value (``bool(x)``, ``x.item()``, ``int(x)``,
  ``x.numpy()``, ``x.tolist()``): the branch taken would be baked in. ``TracingError``
  names the line of the model's code that did it (``ember._tensor._trace_check`` calls
  ``Tracer.check``), unless ``freeze_control_flow=True`` was passed;
* an in-place write into part of a traced tensor (``x[idx] = v``);
* a value computed from the inputs outside the op mechanism: the exporter traces the model
  twice, the second time with other input values (and other sizes along the dynamic axes),
  and refuses constants that differ between the two traces (``compare_traces``).

Tensors that are not produced by a traced op are constants: parameters and buffers (named
by their ``state_dict`` keys) and whatever the model creates (``ember.zeros(...)``). An op
whose tensor inputs are all constants is folded: its outputs are constants too (except the
ops that take an output size, ``_SIZED``).
"""
from __future__ import annotations

import linecache
import os
import sys

import numpy as np

from .. import _tensor
from .._tensor import Tensor, _wrap
from ..autograd.grad_mode import no_grad
from ..nn.modules import module as _module
from ..ops._op import Op, _mark_view
from ..ops.shape import Expand, Repeat, Reshape
from .errors import OnnxExporterError, TracingError

__all__ = ["Value", "Node", "Tracer", "compare_traces", "user_frame"]

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Value:
    """One tensor of the traced graph: its shape and dtype in the trace, its ONNX name once
    the exporter gives it one, and for constants the data (a snapshot taken at first use).

    ``dyn`` maps each axis whose size changed between the two traces to the pair of sizes
    ``(size in trace A, size in trace B)``: those axes depend on the dynamic axes of the
    inputs."""

    __slots__ = ("shape", "dtype", "const", "name", "param_name", "dyn")

    def __init__(self, shape, dtype, const=None, param_name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.const = const
        self.name = None
        self.param_name = param_name
        self.dyn = {}

    @property
    def is_const(self) -> bool:
        return self.const is not None

    def __repr__(self):
        kind = "const" if self.const is not None else "value"
        return f"Value({self.name or '?'}, {kind}, {self.shape}, {self.dtype})"


class Node:
    """One recorded op call: ``op`` is the op instance after its forward ran; ``inputs`` the
    positional inputs (``Value`` for tensors, lists of them for ops taking a sequence, plain
    Python values as given); ``params`` the keyword parameters; ``outputs`` the output
    ``Value``s. ``scope`` is the dotted name of the module whose forward was running,
    ``where`` the line of the model's code that called the op."""

    __slots__ = ("op", "inputs", "params", "outputs", "scope", "where")

    def __init__(self, op, inputs, params, outputs, scope, where):
        self.op = op
        self.inputs = inputs
        self.params = params
        self.outputs = outputs
        self.scope = scope
        self.where = where

    @property
    def op_name(self) -> str:
        return type(self.op).__name__

    def __repr__(self):
        return f"Node({self.op_name}, scope={self.scope!r}, at {self.where})"


def user_frame(skip_ember=True) -> str:
    """``file:line`` (and the source line) of the innermost caller outside ember's package
    (the model's own code), for error messages."""
    f = sys._getframe(1)
    while f is not None:
        path = os.path.abspath(f.f_code.co_filename)
        if not (skip_ember and path.startswith(_EMBER_DIR)):
            line = linecache.getline(path, f.f_lineno).strip()
            where = f"{path}:{f.f_lineno}"
            return f"{where}: {line}" if line else where
        f = f.f_back
    return "<unknown>"


_ACTIVE: list = [None]        # the Tracer recording now, if any

# Ops whose output size is a parameter (``w.expand(x.size(0), -1)``): on constants they are
# still recorded rather than folded, because the size may follow a dynamic axis, which only
# a node can express (a folded constant would have the example's size).
_SIZED = (Reshape, Expand, Repeat)


def _traced_apply(cls, *inputs, **params):
    """``Op.apply`` while tracing: the same computation (no autograd recording: the trace
    runs under no_grad), then the call is recorded."""
    op = object.__new__(cls)
    arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
    out = op.forward(*arrays, **params)
    multi = type(out) is tuple
    outs = tuple(_wrap(o if type(o) is np.ndarray else np.asarray(o))
                 for o in (out if multi else (out,)))
    if op.is_view:
        _mark_view(outs[0], inputs[0], cls, params)
    _ACTIVE[0].record(op, inputs, params, outs)
    return outs if multi else outs[0]


def _traced_apply1(cls, x):
    return _traced_apply(cls, x)


def _traced_apply2(cls, a, b):
    return _traced_apply(cls, a, b)


class Tracer:
    """Records the ops of one run of ``model`` (see the module docstring)."""

    def __init__(self, model, fold_constants=True, freeze_control_flow=False):
        self.model = model
        self.fold = fold_constants
        self.freeze_control_flow = freeze_control_flow
        self.nodes: list = []
        self.inputs: list = []
        self.constants: list = []        # every constant Value, in order of first use
        self._values: dict = {}          # id(tensor) -> Value
        self._alive: list = []           # the tensors keyed in _values (keeps ids unique)
        self._scope: list = []
        self._module_names = {}
        self._param_names = {}
        if model is not None:
            for name, m in model.named_modules(remove_duplicate=False):
                self._module_names.setdefault(id(m), name)
            for name, p in model.named_parameters(remove_duplicate=False):
                self._param_names.setdefault(id(p), name)
            for name, b in model.named_buffers(remove_duplicate=False):
                self._param_names.setdefault(id(b), name)

    # -- values ----------------------------------------------------------------------------
    def _remember(self, t: Tensor, v: Value) -> Value:
        self._values[id(t)] = v
        self._alive.append(t)
        return v

    def value(self, t: Tensor) -> Value:
        """The Value of tensor ``t``; a tensor no traced op produced is a constant."""
        v = self._values.get(id(t))
        if v is None:
            v = Value(t._data.shape, t._data.dtype, const=np.array(t._data, copy=True),
                      param_name=self._param_names.get(id(t)))
            self.constants.append(v)
            self._remember(t, v)
        return v

    def is_traced(self, t) -> bool:
        """Whether ``t`` depends on the traced inputs (is not a constant)."""
        v = self._values.get(id(t)) if isinstance(t, Tensor) else None
        return v is not None and v.const is None

    def add_input(self, t: Tensor) -> Tensor:
        """Make a fresh traced tensor holding the data of example input ``t``."""
        x = _wrap(np.array(t._data, copy=True))
        v = Value(x._data.shape, x._data.dtype)
        self.inputs.append(v)
        self._remember(x, v)
        return x

    # -- recording -------------------------------------------------------------------------
    def _convert_input(self, x):
        if isinstance(x, Tensor):
            return self.value(x)
        if isinstance(x, (list, tuple)) and any(isinstance(e, Tensor) for e in x):
            return type(x)(self._convert_input(e) for e in x)
        return x

    def record(self, op, inputs, params, outs):
        ins = [self._convert_input(x) for x in inputs]
        kw = {k: self._convert_input(p) for k, p in params.items()}
        traced = any(_has_traced(x) for x in ins) or any(_has_traced(p) for p in kw.values())
        if not traced and self.fold and not isinstance(op, _SIZED):
            for o in outs:                           # folded: the outputs are constants
                self.value(o)
            return
        values = [Value(o._data.shape, o._data.dtype) for o in outs]
        for o, v in zip(outs, values):
            self._remember(o, v)
        scope = self._scope[-1] if self._scope else ""
        self.nodes.append(Node(op, ins, kw, values, scope, user_frame()))

    # -- the hooks of ember._tensor and ember.ops.inplace ------------------------------------
    def check(self, what, tensor):
        """A traced tensor is being turned into a Python value (``bool``, ``item``, ...)."""
        if self.freeze_control_flow or not self.is_traced(tensor):
            return
        if what.startswith("ember.") or what.startswith("data-dependent"):
            raise TracingError(
                f"ember.onnx.export: {what} is called on a traced tensor at\n  "
                f"{user_frame()}\nONNX export cannot follow it (its result is computed in "
                f"NumPy from the values, or its shape depends on them); compute it with tensor "
                f"ops, or keep it outside the exported model.")
        raise TracingError(
            f"ember.onnx.export: the model converts a traced tensor to a Python value "
            f"({_DESCRIBE.get(what, what)}) at\n  {user_frame()}\nso the exported graph would "
            f"hold only the branch taken for the example input. Express the computation with "
            f"tensor ops (for example ember.where instead of `if`), or pass "
            f"freeze_control_flow=True to ember.onnx.export to accept the frozen branch.")

    def inplace(self, target, value, index):
        """``target`` (or ``target[index]``) is about to receive ``value`` in place."""
        base = target._base if target._base is not None else target
        involved = self.is_traced(target) or self.is_traced(base) or self.is_traced(value)
        if index is None and target._base is None:
            if not isinstance(value, Tensor) or not self.is_traced(value):
                self._values.pop(id(target), None)      # a constant changed: snapshot anew
                return
            if value._data.dtype != target._data.dtype:
                value = value.to(_tensor.NP_TO_DTYPE[target._data.dtype])
            if value._data.shape != target._data.shape:
                value = value.expand(target._data.shape)
            self._remember(target, self.value(value))
            return
        if involved:
            raise OnnxExporterError(
                f"ember.onnx.export: an in-place write into part of a traced tensor "
                f"(x[index] = v, or an in-place op on a view) at\n  {user_frame()}\ncannot be "
                f"exported. Compute the result out of place (ember.cat, ember.where, "
                f"masked_fill) instead.")
        self._values.pop(id(target), None)
        self._values.pop(id(base), None)

    # -- running ---------------------------------------------------------------------------
    def _pre_hook(self, module, args):
        self._scope.append(self._module_names.get(id(module), type(module).__name__))

    def _post_hook(self, module, args, output):
        if self._scope:
            self._scope.pop()

    def run(self, fn, args, kwargs):
        """Call ``fn(*args, **kwargs)`` with recording on; returns its result."""
        if _ACTIVE[0] is not None:
            raise OnnxExporterError("ember.onnx.export cannot run inside another export")
        saved = (Op.__dict__["apply"], Op.__dict__["_apply1"], Op.__dict__["_apply2"])
        pre = _module.register_module_forward_pre_hook(self._pre_hook)
        post = _module.register_module_forward_hook(self._post_hook, always_call=True)
        _ACTIVE[0] = self
        _tensor._TRACE_HOOK[0] = self
        Op.apply = classmethod(_traced_apply)
        Op._apply1 = classmethod(_traced_apply1)
        Op._apply2 = classmethod(_traced_apply2)
        try:
            with no_grad():
                return fn(*args, **kwargs)
        finally:
            Op.apply, Op._apply1, Op._apply2 = saved
            _tensor._TRACE_HOOK[0] = None
            _ACTIVE[0] = None
            pre.remove()
            post.remove()


_DESCRIBE = {"bool": "bool(tensor), as in `if tensor:`", "item": "tensor.item()",
             "int": "int(tensor)", "float": "float(tensor)", "complex": "complex(tensor)",
             "numpy": "tensor.numpy()", "tolist": "tensor.tolist()",
             "array": "a NumPy array made from a tensor", "index": "a tensor used as an index"}


def _has_traced(x) -> bool:
    if isinstance(x, Value):
        return x.const is None
    if isinstance(x, (list, tuple)):
        return any(_has_traced(e) for e in x)
    return False


def compare_traces(a: Tracer, b: Tracer, dynamic: bool):
    """Check that two traces of the same model (the second with other input values, and
    other sizes along the dynamic axes) recorded the same graph, and mark in each Value of
    ``a`` the axes whose size differs (``Value.dyn``).

    A constant whose data differs between the traces was computed from the inputs outside
    the op mechanism, so the graph would freeze it: that is refused. One that differs only
    in shape, holding one repeated value (``ember.zeros(x.size(0), 4)``), is kept and marked
    dynamic; the converters build it at run time."""
    if len(a.nodes) != len(b.nodes) or any(type(na.op) is not type(nb.op)
                                           for na, nb in zip(a.nodes, b.nodes)):
        first = next((i for i, (na, nb) in enumerate(zip(a.nodes, b.nodes))
                      if type(na.op) is not type(nb.op)), min(len(a.nodes), len(b.nodes)))
        where = a.nodes[first].where if first < len(a.nodes) else "the end of the model"
        what = "sizes of the dynamic axes" if dynamic else "input values"
        raise TracingError(
            f"ember.onnx.export: the model records a different graph when the {what} "
            f"change (first difference at op {first}, {where}): Python control flow depends "
            f"on the inputs, which an ONNX graph cannot express.")
    for na, nb in zip(a.nodes, b.nodes):
        for va, vb in zip(na.outputs, nb.outputs):
            _mark_dyn(va, vb)
        for xa, xb in zip(_flat(na.inputs) + _flat(list(na.params.values())),
                          _flat(nb.inputs) + _flat(list(nb.params.values()))):
            if isinstance(xa, Value) and xa.const is not None and isinstance(xb, Value):
                _check_constant(na, xa, xb)
            elif not isinstance(xa, Value) and not _same_plain(xa, xb, dynamic):
                raise TracingError(
                    f"ember.onnx.export: a parameter of {na.op_name} at\n  {na.where}\nchanges "
                    f"with the input values: it was computed from the model's inputs outside "
                    f"ember's ops (a NumPy array, or a Python number taken from a tensor), so "
                    f"the graph would freeze it to the example's value.")
    for va, vb in zip(a.inputs, b.inputs):
        _mark_dyn(va, vb)


def _same_plain(a, b, dynamic: bool) -> bool:
    """Whether plain parameters ``a`` and ``b`` of the two traces agree, as far as that tells
    a hidden data flow: boolean arrays (masks) of the same shape must be equal. (Other plain
    parameters may legitimately differ: sizes along dynamic axes, and the positions some ops
    hand from one stage to the next, such as max-pooling's argmax, which their converters
    recompute in the graph.)"""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype == bool and b.dtype == bool and a.shape == b.shape:
            return bool(np.array_equal(a, b))
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return all(_same_plain(x, y, dynamic) for x, y in zip(a, b))
    return True


def _flat(items):
    out = []
    for x in items:
        if isinstance(x, (list, tuple)) and any(isinstance(e, Value) for e in x):
            out.extend(_flat(list(x)))
        else:
            out.append(x)
    return out


def _mark_dyn(va: Value, vb: Value):
    if len(va.shape) != len(vb.shape):
        raise TracingError(f"ember.onnx.export: a tensor's rank changes with the input sizes "
                           f"({va.shape} vs {vb.shape})")
    va.dyn = {i: (s, t) for i, (s, t) in enumerate(zip(va.shape, vb.shape)) if s != t}


def _check_constant(node, ca: Value, cb: Value):
    if ca.const is None or cb.const is None:
        return
    if ca.const.shape == cb.const.shape:
        if np.array_equal(ca.const, cb.const, equal_nan=True):
            return
    elif ca.const.ndim == cb.const.ndim and ca.const.size and cb.const.size:
        first = ca.const.reshape(-1)[0]
        if (np.all(ca.const == first) and np.all(cb.const == first)) or \
                (np.isnan(first) and np.isnan(ca.const).all() and np.isnan(cb.const).all()):
            _mark_dyn(ca, cb)
            return
    raise TracingError(
        f"ember.onnx.export: an input of {node.op_name} at\n  {node.where}\nchanges with the "
        f"model's inputs, but ember's ops did not compute it from them: it was computed "
        f"outside ember's ops (through NumPy, .tolist(), or a function the tracer cannot "
        f"see), or created with a size that follows a dynamic axis and values that are not "
        f"all equal (ember.arange(x.size(0))); the graph would freeze it to the example's "
        f"value.")
