"""``ember.onnx.load``: an ONNX model as a trainable ember module.

``load(model)`` reads the model (a path, bytes, a binary file object or an
``onnx.ModelProto``), checks it with ``onnx.checker``, runs ONNX shape inference (for the
declared shapes shown in the repr), and builds an ``OnnxModule``. Building walks the graph
once:

1. every node's op type is looked up in the op table (``_import_ops.OPS``) and its
   attributes are parsed and checked; every operator (and configuration) that cannot be
   imported is collected, and one ``OnnxImportError`` lists them all, with counts;
2. the initializers are sorted into

   * **constants**: those read only as configuration (a Reshape's shape, Unsqueeze's axes,
     Slice's starts, Resize's scales, Clip's bounds: ``_import_ops.STATIC_INPUTS``), and,
     in a model written by ember's exporter, those it named ``onnx::...`` (ember names every
     parameter and buffer after its ``state_dict`` key, and everything else ``onnx::``):
     they are not in ``state_dict``;
   * **buffers**: non-float initializers, float ones read only as BatchNormalization's
     running statistics, and those named like PyTorch's (``*.running_mean``,
     ``*.running_var``; exporters may also read them in other nodes);
   * **parameters** (``nn.Parameter``, trainable): every other float initializer;

3. nodes whose inputs are all constants (Constant nodes, constant initializers and what is
   computed from them only) are evaluated once, at load time; the values of configuration
   inputs known then are handed to their ops as NumPy arrays;
4. the parameters and buffers are registered under their initializer names: a dotted name
   ("layer1.0.conv1.weight") becomes nested submodules, so ``state_dict()`` keys equal the
   names, and a model exported by ember and imported again has the original's keys.
   Name parts that are not Python identifiers are sanitized: every character other than a
   letter, digit or ``_`` becomes ``_``, a part starting with a digit gets a leading ``_``
   (unless it is all digits, like ``Sequential``'s ``0``), an empty part becomes ``_``, a
   part that is already an attribute of the module (``forward``, ``training``, ...) gets a
   trailing ``_``, and a name that is still taken gets ``_1``, ``_2``, ...
   (``onnx::Conv_193`` -> ``onnx__Conv_193``, ``/fc/Constant`` -> ``_fc_Constant``).
   ``module.onnx_names`` maps each initializer name to its ``state_dict`` key.

``forward`` then runs the remaining nodes in order with ember ops: autograd records them,
so the module trains like any other, and ``ember.onnx.export`` can trace it again. Inputs
are checked against the graph's declared types and ranks (floating inputs are converted to
the declared float type). It computes exactly what the graph says, whatever
``train()``/``eval()`` mode the module is in (Dropout is the identity unless the graph asks
for training, BatchNormalization uses its running statistics unless its ``training_mode``
is set).

Pickling (``ember.save(module)``, ``copy.deepcopy``) keeps the graph without the registered
tensors' data (the module's own parameters and buffers hold it) and rebuilds the plan of
steps when loaded. Opsets 7 and newer of the default domain are read; other domains
(``com.microsoft``, ``ai.onnx.ml``) are refused.
"""
from __future__ import annotations

import io
import os
import re
from collections import Counter

import numpy as np

import ember

from .. import _dtype
from .._tensor import Tensor
from ..nn.modules.module import Module
from ..nn.parameter import Parameter
from . import _import_ops as ops
from .errors import OnnxImportError

__all__ = ["OnnxModule", "load"]

MIN_IMPORT_OPSET = 7            # the oldest default-domain opset the importer reads
_STATISTICS = {"running_mean", "running_var"}   # PyTorch's BatchNorm buffers, by name


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ember.onnx.load needs the onnx package: pip install 'ember[onnx]'"
                          ) from None
    return onnx


def load(model, *, dtype=None) -> OnnxModule:
    """Build an ember module that runs the ONNX model ``model``.

    Args:
        model: a path (``str`` or ``os.PathLike``; external data files are read from its
            folder), the serialized model as ``bytes``, a binary file object, or an
            ``onnx.ModelProto``.
        dtype: a floating ember dtype (e.g. ``ember.float64``) for every floating
            initializer, constant and ``Cast`` to a float type, and to which floating
            inputs are cast; None keeps the model's types.

    Returns:
        an ``OnnxModule`` (an ``ember.nn.Module``); call it with the graph inputs
        (positionally, or by name as keyword arguments).

    Raises:
        OnnxImportError: the model is not valid ONNX, or uses operators (or operator
            configurations) that ember cannot import: all of them are listed.
    """
    onnx = _require_onnx()
    proto = _read_model(model, onnx)
    if dtype is not None and (not isinstance(dtype, _dtype.dtype) or
                              not dtype.is_floating_point):
        raise TypeError(f"ember.onnx.load: dtype must be a floating ember dtype, got "
                            f"{dtype!r}")
    _refuse_unsupported(proto, dtype)      # before the checker, which stops at the first
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as e:
        # an operator version the checker calls deprecated (GroupNormalization-18) is
        # still well defined, and imported with its own semantics
        if "is deprecated" not in str(e):
            raise OnnxImportError(f"ember.onnx.load: the model is not valid ONNX: {e}") \
                from e
    except ValueError:      # a model over 2 GB can only be checked from its path
        if isinstance(model, (str, os.PathLike)):
            onnx.checker.check_model(os.fspath(model))
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except Exception:       # noqa: BLE001 - inference is only used for display
        inferred = proto
    return OnnxModule(proto, dtype=dtype, value_info=_value_infos(inferred))


def _read_model(model, onnx):
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise FileNotFoundError(f"ember.onnx.load: no such file: {path!r}")
        return onnx.load(path)
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
    elif isinstance(model, io.IOBase) or hasattr(model, "read"):
        data = model.read()
        if isinstance(data, str):
            raise TypeError("ember.onnx.load: the file object must be opened in binary mode")
    else:
        raise TypeError(f"ember.onnx.load: expected a path, bytes, a binary file object or "
                        f"an onnx.ModelProto, got {type(model).__name__}")
    try:
        return onnx.load_model_from_string(data)
    except Exception as e:
        raise OnnxImportError(f"ember.onnx.load: cannot parse the data as an ONNX model: "
                              f"{e}") from e


def _value_infos(proto) -> dict:
    """name -> (elem_type, [dims: int or str or None]) from the graph's declared and
    inferred types."""
    out = {}
    g = proto.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        t = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            continue
        dims = None
        if t.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else
                    (d.dim_param or None) for d in t.shape.dim]
        out[vi.name] = (t.elem_type, dims)
    return out


# ---------------------------------------------------------------------------------------
# names

_IDENT_PART = re.compile(r"[^0-9A-Za-z_]")
_MODULE_ATTRS = set(dir(Module))


def _sanitize_part(part: str) -> str:
    part = _IDENT_PART.sub("_", part) or "_"
    if part[0].isdigit() and not part.isdigit():
        part = "_" + part
    return part


class OnnxScope(Module):
    """A submodule holding the parameters and buffers under one dotted prefix of the
    initializer names (``fc1`` for ``fc1.weight`` and ``fc1.bias``)."""

    def extra_repr(self) -> str:
        return _describe_tensors(self)


def _describe_tensors(module) -> str:
    parts = []
    for name, p in module._parameters.items():
        parts.append(f"{name}: Parameter{list(p.shape)}")
    for name, b in module._buffers.items():
        if name not in module._non_persistent_buffers_set:
            parts.append(f"{name}: buffer({str(b.dtype).replace('ember.', '')})"
                         f"{list(b.shape)}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------
# what cannot be imported

def _refuse_unsupported(model_proto, dtype=None) -> list:
    """Parse every node's attributes (``Attrs``, in node order) and raise one
    ``OnnxImportError`` listing every operator type or configuration that cannot be
    imported, with the number of nodes of each."""
    opset = _default_opset(model_proto)
    parsed = []
    problems = Counter()
    for node in model_proto.graph.node:
        key = _node_problem(node, opset)
        attrs = None
        if key is None:
            attrs = _parse_attrs(node, opset, dtype)
            check = ops.CHECKS.get(node.op_type)
            reason = check(attrs) if check is not None else None
            if reason:
                key = f"{node.op_type} (opset {opset}): {reason}"
        if key is not None:
            problems[key] += 1
        parsed.append(attrs)
    if opset < MIN_IMPORT_OPSET:
        problems[f"the model's opset {opset} (ember reads opset {MIN_IMPORT_OPSET} "
                 f"and newer)"] += 1
    if problems:
        lines = [f"  - {k}: {n} node{'s' if n != 1 else ''}" for k, n in
                 sorted(problems.items())]
        raise OnnxImportError(
            f"ember.onnx.load: the model uses {len(problems)} operator type(s) or "
            f"configuration(s) that ember cannot import:\n" + "\n".join(lines) +
            "\nNothing was built. docs/onnx.md lists the supported operators.")
    return parsed


def _node_problem(node, opset):
    if node.domain not in ("", "ai.onnx"):
        return f"{node.domain}::{node.op_type}"
    if node.op_type not in ops.OPS:
        return f"{node.op_type} (opset {opset})"
    for a in node.attribute:
        if a.HasField("g") or len(a.graphs):
            return f"{node.op_type} (opset {opset}): subgraphs are not supported"
    return None


def _parse_attrs(node, opset, dtype):
    """The node's attributes as Python values: strings decoded, tensors as NumPy arrays
    (floating ones converted to ``dtype`` when given)."""
    from onnx import helper, numpy_helper
    values = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode("utf-8") for s in v]
        elif hasattr(v, "dims") and hasattr(v, "data_type"):       # a TensorProto
            v = numpy_helper.to_array(v)
            if dtype is not None and v.dtype.kind == "f":
                v = v.astype(dtype.np)
        values[a.name] = v
    return ops.Attrs(values, op_type=node.op_type, name=node.name, opset=opset,
                     outputs=[bool(o) for o in node.output], float_dtype=dtype)


# ---------------------------------------------------------------------------------------
# the module

class _Step:
    """One node to run in forward: its function and attributes, where each input comes
    from (a name to look up, or a value fixed at build time), its output names, and the
    names no later step reads (dropped after it ran)."""

    __slots__ = ("attrs", "fixed", "fn", "free", "inputs", "name", "op_type", "outputs")

    def __init__(self, op_type, name, fn, attrs, inputs, fixed, outputs):
        self.op_type = op_type
        self.name = name
        self.fn = fn
        self.attrs = attrs
        self.inputs = inputs        # input names ("" for omitted)
        self.fixed = fixed          # {slot: NumPy array} for configuration inputs
        self.outputs = outputs
        self.free = ()


class OnnxModule(Module):
    """An ONNX graph run node by node with ember ops (built by ``ember.onnx.load``).

    Float initializers are ``Parameter``s and the rest buffers, registered under their
    initializer names (see the module docstring of ``ember.onnx._import`` for the rules
    and for how names are sanitized); ``forward`` takes the graph inputs positionally or by
    name and returns one tensor, or a tuple when the graph has several outputs.

    Attributes (read-only):
        input_names, output_names: the graph's inputs and outputs.
        opset: the model's default-domain opset.
        onnx_names: initializer name -> ``state_dict`` key.
    """

    def __init__(self, model_proto, *, dtype=None, value_info=None):
        super().__init__()
        graph = model_proto.graph
        self._onnx_opset = _default_opset(model_proto)
        self._onnx_dtype = dtype
        self._onnx_info = value_info or {}
        self._onnx_producer = " ".join(x for x in (model_proto.producer_name,
                                                    model_proto.producer_version) if x)
        init_names = {t.name for t in graph.initializer}
        self._onnx_inputs = [vi.name for vi in graph.input if vi.name not in init_names]
        self._onnx_outputs = [vi.name for vi in graph.output]
        self._onnx_kwarg_names = {}
        for name in self._onnx_inputs:
            self._onnx_kwarg_names[name] = name
            self._onnx_kwarg_names.setdefault(_sanitize_part(name), name)
        self._onnx_names = {}
        tensors = self._onnx_compile(model_proto, fresh=True)

        # 4. register parameters and buffers under their (sanitized) dotted names
        scopes = {}
        for name, (kind, arr) in tensors.items():
            owner, attr = self._place(name, scopes)
            t = ember.from_numpy(np.array(arr, copy=True))
            if kind == "param":
                owner.register_parameter(attr, Parameter(t))
            else:
                owner.register_buffer(attr, t)
        self._onnx_bind()
        # the graph without the registered tensors' data: what pickling keeps to rebuild
        self._onnx_source = _strip_initializers(model_proto, set(tensors)).SerializeToString()

    def _onnx_compile(self, model_proto, fresh):
        """Steps 1-3 of the module docstring: check the nodes, sort the initializers, fold
        the constant part of the graph and plan the rest (``_onnx_steps``,
        ``_onnx_constants``). Returns ``{name: (kind, array)}`` of the parameters and
        buffers to register (``fresh``), or nothing when rebuilding an unpickled module
        whose tensors are already there."""
        from onnx import TensorProto, numpy_helper
        dtype = self._onnx_dtype
        graph = model_proto.graph
        ember_made = model_proto.producer_name == "ember"
        init_protos = {t.name: t for t in graph.initializer}

        # 1. look up and check every node; refuse everything unsupported at once
        nodes = list(graph.node)
        parsed = _refuse_unsupported(model_proto, dtype)

        # 2. sort the initializers into parameters, buffers and constants
        uses = {}
        for node in nodes:
            static = ops.STATIC_INPUTS.get(node.op_type, ())
            buffer_slots = ops.BUFFER_INPUTS.get(node.op_type, ())
            for slot, name in enumerate(node.input):
                if name in init_protos:
                    kind = "static" if slot in static else \
                        "buffer" if slot in buffer_slots else "data"
                    uses.setdefault(name, set()).add(kind)

        def array(t):
            arr = numpy_helper.to_array(t)
            return arr.astype(dtype.np) if dtype is not None and arr.dtype.kind == "f" else arr

        floats = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16,
                  TensorProto.BFLOAT16}
        consts = {}             # name -> NumPy array, known at build time
        tensors = {}            # name -> ("param" | "buffer", array)
        for name, t in init_protos.items():
            kinds = uses.get(name, set())
            if not kinds and name not in self._onnx_outputs:
                continue                                       # unused
            if kinds == {"static"} or (ember_made and name.startswith("onnx::")):
                consts[name] = array(t)
            elif not fresh:
                continue
            elif t.data_type in floats and "data" in kinds and \
                    name.rsplit(".", 1)[-1] not in _STATISTICS:
                tensors[name] = ("param", array(t))
            else:
                tensors[name] = ("buffer", array(t))

        # 3. fold what depends on constants only; plan the rest
        steps = []
        for node, attrs in zip(nodes, parsed):
            fn = ops.OPS[node.op_type]
            foldable = node.op_type not in ops.NONDETERMINISTIC and \
                all(not n or n in consts for n in node.input)
            if foldable:
                ins = [ops._const(consts[n]) if n else None for n in node.input]
                try:
                    out = ops.evaluate(fn, ins, attrs)
                except Exception as e:
                    raise OnnxImportError(
                        f"ember.onnx.load: evaluating constant node {node.name!r} "
                        f"({node.op_type}) failed: {type(e).__name__}: {e}") from e
                outs = out if isinstance(out, (tuple, list)) else (out,)
                for name, value in zip(node.output, outs):
                    if name and value is not None:
                        consts[name] = np.array(value.detach().numpy(), copy=True)
                continue
            static = ops.STATIC_INPUTS.get(node.op_type, ())
            fixed = {slot: consts[name] for slot, name in enumerate(node.input)
                     if slot in static and name in consts}
            steps.append(_Step(node.op_type, node.name, fn, attrs, list(node.input), fixed,
                               list(node.output)))

        # names the steps read from the environment, and when each is last read
        last_use = {}
        for k, step in enumerate(steps):
            for slot, name in enumerate(step.inputs):
                if name and slot not in step.fixed:
                    last_use[name] = k
        keep = set(self._onnx_outputs)
        frees = [[] for _ in steps]
        for name, k in last_use.items():
            if name not in keep:
                frees[k].append(name)
        for step, free in zip(steps, frees):
            step.free = tuple(free)
        self._onnx_steps = steps

        needed = set(last_use) | keep
        self._onnx_constants = {name: ops._const(arr) for name, arr in consts.items()
                                if name in needed}
        registered = set(tensors) | set(self._onnx_names)
        unknown = needed - set(self._onnx_constants) - registered - \
            set(self._onnx_inputs) - {o for s in steps for o in s.outputs}
        if unknown:
            raise OnnxImportError(f"ember.onnx.load: the graph reads values that nothing "
                                  f"defines: {sorted(unknown)}")
        return tensors

    def _onnx_bind(self):
        """Where forward finds each initializer: ``(onnx name, owner module, attribute)``."""
        refs = []
        for name, path in self._onnx_names.items():
            prefix, _, attr = path.rpartition(".")
            refs.append((name, self.get_submodule(prefix), attr))
        self._onnx_refs = refs

    # -- pickling: the plan holds functions; keep the graph and rebuild the plan ------------
    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_onnx_steps", None)
        state.pop("_onnx_refs", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        import onnx
        constants = self._onnx_constants           # as saved (they follow .to()/.double())
        self._onnx_compile(onnx.load_model_from_string(self._onnx_source), fresh=False)
        self._onnx_constants = constants
        self._onnx_bind()

    # -- building ----------------------------------------------------------------------------
    def _place(self, name, scopes):
        """Create (or find, in ``scopes``: sanitized prefix -> (module, its path)) the
        submodules for the dotted prefix of ``name``; return the owner module and the
        attribute name of the tensor itself."""
        parts = [_sanitize_part(p) for p in name.split(".")]
        owner, path = self, ""
        for i in range(len(parts) - 1):
            key = tuple(parts[:i + 1])
            entry = scopes.get(key)
            if entry is None:
                attr = self._free_name(owner, parts[i])
                child = OnnxScope()
                owner.add_module(attr, child)
                entry = scopes[key] = (child, f"{path}.{attr}" if path else attr)
            owner, path = entry
        attr = self._free_name(owner, parts[-1])
        self._onnx_names[name] = f"{path}.{attr}" if path else attr
        return owner, attr

    @staticmethod
    def _free_name(owner, part):
        """``part``, or a variant of it that is not an attribute of ``owner`` yet."""
        if part in _MODULE_ATTRS or part.startswith("_onnx") or (
                hasattr(owner, part) and part not in owner._modules and
                part not in owner._parameters and part not in owner._buffers):
            part += "_"
        name, k = part, 1
        while hasattr(owner, name):
            name = f"{part}_{k}"
            k += 1
        return name

    # -- properties ------------------------------------------------------------------------
    @property
    def input_names(self) -> list:
        return list(self._onnx_inputs)

    @property
    def output_names(self) -> list:
        return list(self._onnx_outputs)

    @property
    def opset(self) -> int:
        return self._onnx_opset

    @property
    def onnx_names(self) -> dict:
        return dict(self._onnx_names)

    # -- running ---------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        env = dict(self._onnx_constants)
        for name, owner, attr in self._onnx_refs:
            t = owner._parameters.get(attr)
            env[name] = t if t is not None else owner._buffers[attr]
        env.update(self._bind_inputs(args, kwargs))
        for step in self._onnx_steps:
            fixed = step.fixed
            ins = [fixed[i] if i in fixed else (env[n] if n else None)
                   for i, n in enumerate(step.inputs)]
            try:
                out = step.fn(ins, step.attrs)
            except Exception as e:
                e.add_note(f"(in ONNX node {step.name!r}, {step.op_type})")
                raise
            if isinstance(out, Tensor):
                env[step.outputs[0]] = out
            else:
                for name, value in zip(step.outputs, out):
                    if name:
                        env[name] = value
            for name in step.free:
                env.pop(name, None)
        results = tuple(env[n] for n in self._onnx_outputs)
        return results[0] if len(results) == 1 else results

    def _bind_inputs(self, args, kwargs):
        names = self._onnx_inputs
        if len(args) > len(names):
            raise TypeError(f"OnnxModule.forward takes {len(names)} input(s) "
                            f"({', '.join(names)}), got {len(args)}")
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            name = self._onnx_kwarg_names.get(key)
            if name is None:
                raise TypeError(f"OnnxModule.forward got an unexpected keyword argument "
                                f"{key!r}; the inputs are {names}")
            if name in bound:
                raise TypeError(f"OnnxModule.forward got multiple values for input {name!r}")
            bound[name] = value
        missing = [n for n in names if n not in bound]
        if missing:
            raise TypeError(f"OnnxModule.forward missing input(s): {', '.join(missing)}")
        return {n: self._check_input(n, bound[n]) for n in names}

    def _check_input(self, name, x):
        if not isinstance(x, Tensor):
            x = ember.as_tensor(x)
        info = self._onnx_info.get(name)
        if info is None:
            return x
        elem_type, dims = info
        try:
            want = ops.onnx_to_np_dtype(elem_type)
        except TypeError:
            want = None
        if want is not None and x.dtype.np != want:
            if x.dtype.is_floating_point and np.dtype(want).kind == "f":
                # floats are converted (to the declared type, or to load's dtype=)
                x = x.to(self._onnx_dtype or _dtype.NP_TO_DTYPE[np.dtype(want)])
            else:
                raise TypeError(f"OnnxModule: input {name!r} must have dtype "
                                f"{_dtype.NP_TO_DTYPE[np.dtype(want)]}, got {x.dtype}")
        elif self._onnx_dtype is not None and x.dtype.is_floating_point and \
                x.dtype != self._onnx_dtype:
            x = x.to(self._onnx_dtype)
        if dims is not None and len(dims) != x.dim():
            raise ValueError(f"OnnxModule: input {name!r} must have {len(dims)} dimensions "
                             f"({_fmt_dims(dims)}), got shape {list(x.shape)}")
        return x

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self._onnx_constants = {k: fn(v) for k, v in self._onnx_constants.items()}
        return self

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        def sig(name):
            info = self._onnx_info.get(name)
            if info is None:
                return name
            elem_type, dims = info
            try:
                dt = str(_dtype.NP_TO_DTYPE[ops.onnx_to_np_dtype(elem_type)]).replace(
                    "ember.", "")
            except TypeError:
                dt = "?"
            return f"{name}: {dt}{_fmt_dims(dims) if dims is not None else ''}"

        counts = Counter(s.op_type for s in self._onnx_steps)
        ops_text = ", ".join(f"{op}×{n}" if n > 1 else op for op, n in counts.most_common())
        lines = [f"opset={self._onnx_opset}" +
                 (f", producer={self._onnx_producer!r}" if self._onnx_producer else ""),
                 f"inputs=({', '.join(sig(n) for n in self._onnx_inputs)})",
                 f"outputs=({', '.join(sig(n) for n in self._onnx_outputs)})",
                 f"nodes={len(self._onnx_steps)}: {ops_text or '-'}"]
        own = _describe_tensors(self)
        if own:
            lines.append(own)
        return "\n".join(lines)


def _strip_initializers(model_proto, names):
    """A copy of ``model_proto`` whose initializers ``names`` keep their name, type and
    shape but no data."""
    from onnx import TensorProto
    copy = type(model_proto)()
    copy.CopyFrom(model_proto)
    kept = []
    for t in copy.graph.initializer:
        if t.name in names:
            empty = TensorProto()
            empty.name, empty.data_type = t.name, t.data_type
            empty.dims.extend(t.dims)
            t = empty
        kept.append(t)
    del copy.graph.initializer[:]
    copy.graph.initializer.extend(kept)
    return copy


def _fmt_dims(dims) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _default_opset(model_proto) -> int:
    for entry in model_proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 1
