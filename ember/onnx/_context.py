"""``ExportContext``: what a converter writes ONNX nodes with.

The exporter walks the traced nodes in order and calls each one's converter with this
context. A converter reads its node (``node.op`` with the attributes its forward stored,
``node.inputs``, ``node.params``, ``node.outputs``) and emits ONNX nodes::

    x = ctx.input(node, 0)                      # the ONNX name of input 0
    ctx.emit("Relu", [x], ctx.outputs(node))    # write the node's output

Names: graph inputs and outputs are named by the user (``input_names``/``output_names``);
parameters and buffers keep their ``state_dict`` keys ("fc1.weight") as initializer names;
everything else is named after the module scope and op type, as PyTorch does
("/fc1/Gemm_output_0").

Dynamic axes: a ``Value`` whose ``dyn`` is not empty has sizes that change with the inputs'
dynamic axes. Converters that need a shape at run time (Reshape, Expand, a constant of
dynamic shape) call ``shape_tensor``, which builds it from the ``Shape`` of a tensor that
has the matching dimension (``dim``).
"""
from __future__ import annotations

import numpy as np

from ._trace import Value
from .errors import OnnxExporterError

__all__ = ["ExportContext"]


class ExportContext:
    def __init__(self, opset: int, graph_inputs, export_params=True):
        from onnx import helper, numpy_helper    # imported here: onnx is an optional extra
        self._helper = helper
        self._numpy_helper = numpy_helper
        self.opset = opset
        self.export_params = export_params
        self.nodes: list = []               # onnx NodeProto, in order
        self.initializers: dict = {}        # name -> TensorProto
        self.param_inputs: list = []        # (name, Value) of parameters when not exported
        self.graph_inputs = list(graph_inputs)
        self.node = None                    # the traced node being converted
        self._taken: set = set()
        self._counts: dict = {}
        self._small_consts: dict = {}       # (dtype, shape, bytes) -> name
        self._dims: dict = {}               # (value name, axis) -> name of its 1-d size

    # -- names -----------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A name not used yet, built from ``hint``."""
        n = self._counts.get(hint, 0)
        name = hint if n == 0 and hint not in self._taken else f"{hint}_{n}"
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._counts[hint] = n + 1
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> str:
        if name in self._taken:
            raise OnnxExporterError(f"ember.onnx.export: the name {name!r} is used twice")
        self._taken.add(name)
        return name

    def _scope_prefix(self) -> str:
        scope = self.node.scope if self.node is not None else ""
        return "/" + scope.replace(".", "/") + "/" if scope else "/"

    def name(self, v: Value) -> str:
        """The ONNX name of ``v``; a constant becomes an initializer on first use (or a
        ConstantOfShape when its shape follows the dynamic axes)."""
        if v.name is None:
            if v.const is None:
                raise OnnxExporterError(f"ember.onnx.export: internal error: {v!r} is used "
                                        f"before the node that computes it was converted")
            if v.dyn:
                v.name = self._dynamic_constant(v)
            elif v.param_name is not None:
                v.name = self.reserve(v.param_name)
                if self.export_params:
                    self._add_initializer(v.name, v.const)
                else:
                    self.param_inputs.append((v.name, v))
            else:
                v.name = self.const(v.const)
        return v.name

    def input(self, node, i: int, dtype=None) -> str:
        """The ONNX name of positional input ``i`` of ``node``; a plain Python number becomes
        a constant of ``dtype`` (default: the dtype of the node's first output)."""
        x = node.inputs[i]
        if isinstance(x, Value):
            return self.name(x)
        if dtype is None:
            dtype = node.outputs[0].dtype
        return self.const(np.asarray(x, dtype=dtype))

    def outputs(self, node) -> list:
        """The ONNX names of ``node``'s outputs (given on first request)."""
        names = []
        for i, v in enumerate(node.outputs):
            if v.name is None:
                v.name = self.fresh(f"{self._scope_prefix()}{node.op_name}_output_{i}")
            names.append(v.name)
        return names

    def out(self, node, i: int = 0) -> str:
        return self.outputs(node)[i]

    # -- nodes and constants ------------------------------------------------------------------
    def emit(self, op_type: str, inputs, outputs=1, domain: str = "", **attrs):
        """Append an ONNX node. ``outputs`` is a number of fresh outputs or a list of names;
        returns the output name (one output) or the list of names. ``None`` in ``inputs``
        is an omitted optional input (written as "")."""
        if isinstance(outputs, int):
            prefix = self._scope_prefix()
            outputs = [self.fresh(f"{prefix}{op_type}_output_{k}") for k in range(outputs)]
        ins = list(inputs)
        while ins and ins[-1] is None:      # trailing omitted inputs are left out entirely
            ins.pop()
        ins = ["" if x is None else x for x in ins]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node = self._helper.make_node(op_type, ins, list(outputs),
                                      name=self.fresh(f"{self._scope_prefix()}{op_type}"),
                                      domain=domain or None, **attrs)
        self.nodes.append(node)
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def _add_initializer(self, name, array):
        arr = np.asarray(array, order="C")          # (0-d stays 0-d)
        self.initializers[name] = self._numpy_helper.from_array(arr, name)

    def const(self, array, hint: str = "onnx::Constant") -> str:
        """An initializer holding ``array``; small constants are shared."""
        arr = np.asarray(array)
        key = None
        if arr.size <= 64:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            name = self._small_consts.get(key)
            if name is not None:
                return name
        name = self.fresh(hint)
        self._add_initializer(name, arr)
        if key is not None:
            self._small_consts[key] = name
        return name

    def int64s(self, values) -> str:
        """A 1-d int64 constant (shapes, axes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype))

    def cast(self, x: str, dtype) -> str:
        from onnx import helper
        return self.emit("Cast", [x], to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    # -- opset-dependent forms -----------------------------------------------------------------
    def reduce(self, op_type: str, x: str, axes, keepdims: bool, outputs=1):
        """``ReduceSum``/``ReduceMean``/``ReduceMax``/... over ``axes`` (None: all). The axes
        are an input from opset 13 (ReduceSum) or 18 (the others), an attribute before."""
        axes_as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if axes is None or len(axes) == 0:
            return self.emit(op_type, [x], outputs, keepdims=int(keepdims))
        if axes_as_input:
            return self.emit(op_type, [x, self.int64s(axes)], outputs, keepdims=int(keepdims))
        return self.emit(op_type, [x], outputs, axes=list(axes), keepdims=int(keepdims))

    def unsqueeze(self, x: str, axes, outputs=1):
        return self.emit("Unsqueeze", [x, self.int64s(axes)], outputs)

    def squeeze(self, x: str, axes, outputs=1):
        return self.emit("Squeeze", [x, self.int64s(axes)], outputs)

    # -- shapes that follow the dynamic axes ------------------------------------------------------
    def _size_of(self, v: Value, axis: int) -> str:
        """A 1-d int64 tensor holding ``v.shape[axis]`` at run time."""
        key = (self.name(v), axis)
        got = self._dims.get(key)
        if got is None:
            if self.opset >= 15:
                got = self.emit("Shape", [key[0]], start=axis, end=axis + 1)
            else:
                got = self.emit("Gather", [self.emit("Shape", [key[0]]), self.int64s([axis])],
                                axis=0)
            self._dims[key] = got
        return got

    def dim(self, a: int, b: int, refs=()):
        """A 1-d int64 tensor for a dimension that is ``a`` in the first trace and ``b`` in
        the second: a dynamic dimension of one of ``refs`` (then of the graph inputs) with
        the same two sizes, or a whole multiple or fraction of one. None if none matches."""
        candidates = [r for r in refs if isinstance(r, Value)] + self.graph_inputs
        for v in candidates:
            for axis, (x, y) in v.dyn.items():
                if (x, y) == (a, b):
                    return self._size_of(v, axis)
        for v in candidates:
            for axis, (x, y) in v.dyn.items():
                if x and y and a % x == 0 and b % y == 0 and a // x == b // y:
                    return self.emit("Mul", [self._size_of(v, axis), self.int64s([a // x])])
                if a and b and x % a == 0 and y % b == 0 and x // a == y // b:
                    return self.emit("Div", [self._size_of(v, axis), self.int64s([x // a])])
        return None

    def shape_tensor(self, shape_a, shape_b=None, refs=(), infer: bool = False) -> str:
        """A 1-d int64 tensor holding a shape that is ``shape_a`` in the first trace and
        ``shape_b`` in the second (None: the same). Dimensions that differ are computed at
        run time (``dim``); with ``infer=True`` (Reshape) one that cannot be is written -1."""
        shape_a = tuple(int(s) for s in shape_a)
        if shape_b is None or tuple(shape_b) == shape_a:
            return self.int64s(shape_a)
        parts, static, unresolved = [], [], []
        for i, (a, b) in enumerate(zip(shape_a, shape_b)):
            if a == b:
                static.append(a)
                continue
            d = self.dim(a, b, refs)
            if d is None:
                unresolved.append(i)
                static.append(-1)
                continue
            if static:
                parts.append(self.int64s(static))
                static = []
            parts.append(d)
        if unresolved and not (infer and len(unresolved) == 1):
            raise OnnxExporterError(
                f"ember.onnx.export: cannot express the dynamic shape {shape_a} (with other "
                f"input sizes: {tuple(shape_b)}) at\n  {self.where()}\nin terms of the "
                f"dynamic axes; make the dimension a size of an input (x.size(0)) or mark "
                f"fewer axes dynamic.")
        if static:
            parts.append(self.int64s(static))
        return parts[0] if len(parts) == 1 else self.emit("Concat", parts, axis=0)

    def shape_of(self, v: Value, refs=(), infer=False) -> str:
        """``shape_tensor`` for the shape of ``v`` (both traces)."""
        shape_b = tuple(v.dyn.get(i, (s, s))[1] for i, s in enumerate(v.shape))
        return self.shape_tensor(v.shape, shape_b, refs, infer)

    def _dynamic_constant(self, v: Value) -> str:
        """A constant holding one repeated value, whose shape follows the dynamic axes."""
        from onnx import numpy_helper
        fill = numpy_helper.from_array(v.const.reshape(-1)[:1].copy(), "value")
        shape = self.shape_of(v)
        return self.emit("ConstantOfShape", [shape], value=fill)

    def where(self) -> str:
        return self.node.where if self.node is not None else "<export>"
