"""``ember.onnx.export``: trace a model, convert each recorded op, write an ONNX file.

The steps, in order:

1. Put the model in eval mode (``training=TrainingMode.EVAL``, the default, as PyTorch).
2. Trace it twice (``_trace.Tracer``): with the example inputs, and with other input
   values (and other sizes along the dynamic axes). ``compare_traces`` checks that both
   recorded the same graph, refuses values the trace could not see, and marks which
   dimensions follow the dynamic axes.
3. Find a converter for every recorded op at the target opset; if any is missing, raise
   ``UnsupportedOperatorError`` listing all of them, before anything is written.
4. Convert the nodes in order (``ExportContext``), name graph inputs and outputs, build the
   ``ModelProto`` with ``onnx.helper``, run the graph passes (``_passes``), check it with
   ``onnx.checker.check_model(full_check=True)``, and write it atomically.
"""
from __future__ import annotations

import enum
import inspect
import io
import os
import tempfile
import warnings

import numpy as np

from .._tensor import Tensor
from . import _trace
from ._context import ExportContext
from ._registry import MAX_OPSET, MIN_OPSET, find_converter
from .errors import OnnxExporterError, UnsupportedOperatorError

__all__ = ["export", "TrainingMode", "is_in_onnx_export", "default_opset"]


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in (PyTorch's ``torch.onnx.TrainingMode``)."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    """True while ``ember.onnx.export`` is tracing a model."""
    return _trace._ACTIVE[0] is not None


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ModuleNotFoundError(
            "ember.onnx needs the onnx package: pip install 'ember[onnx]' (installs onnx "
            "and onnxruntime)") from None
    return onnx


_DEFAULT_OPSET: list = []


def default_opset() -> int:
    """The newest opset that both ember's converters and the installed onnxruntime support
    (found by asking onnxruntime to load a one-node model at each opset, newest first);
    without onnxruntime, the newest that ember and the onnx package support."""
    if _DEFAULT_OPSET:
        return _DEFAULT_OPSET[0]
    onnx = _require_onnx()
    from onnx import TensorProto, helper
    best = min(MAX_OPSET, onnx.defs.onnx_opset_version())
    try:
        import onnxruntime as ort
    except ImportError:
        _DEFAULT_OPSET.append(best)
        return best
    for opset in range(best, MIN_OPSET - 1, -1):
        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])], "probe",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        opsets = [helper.make_opsetid("", opset)]
        model = helper.make_model(graph, opset_imports=opsets,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:      # noqa: BLE001 - onnxruntime's errors have no common base
            continue
        _DEFAULT_OPSET.append(opset)
        return opset
    raise OnnxExporterError(f"the installed onnxruntime runs none of the opsets "
                            f"{MIN_OPSET}..{best} that ember exports")


def _resolve_opset(opset_version):
    if opset_version is None:
        return default_opset()
    if not isinstance(opset_version, int) or isinstance(opset_version, bool):
        raise TypeError(f"opset_version must be an int, got {type(opset_version).__name__}")
    onnx = _require_onnx()
    newest = min(MAX_OPSET, onnx.defs.onnx_opset_version())
    if not MIN_OPSET <= opset_version <= newest:
        raise ValueError(f"ember.onnx.export supports opset_version {MIN_OPSET} to {newest}, "
                         f"got {opset_version}")
    return opset_version


def _split_args(args, kwargs):
    """PyTorch's forms: a tensor, a tuple of arguments, or a tuple ending in a dict of
    keyword arguments; plus ``kwargs=``."""
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        raise TypeError(f"ember.onnx.export: args must be a Tensor or a tuple of arguments, "
                        f"got {type(args).__name__}")
    kw = {}
    if args and isinstance(args[-1], dict):
        kw.update(args[-1])
        args = args[:-1]
    if kwargs:
        kw.update(kwargs)
    return args, kw


def _input_names(model, args, kwargs, input_names):
    """Names for the tensor arguments: ``input_names`` first, then the forward's parameter
    names, then ``input_<k>``."""
    try:
        params = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        params = []
    auto = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            auto.append(params[i] if i < len(params) else f"input_{i}")
    for k, a in kwargs.items():
        if isinstance(a, Tensor):
            auto.append(k)
    names = list(input_names or [])
    if len(names) > len(auto):
        raise ValueError(f"ember.onnx.export: {len(names)} input_names given for "
                         f"{len(auto)} tensor inputs")
    return names + auto[len(names):]


def _dynamic_spec(dynamic_axes, in_names, out_names_hint):
    """``{name: {axis: symbol}}`` from PyTorch's forms (a dict or a list of axes per name)."""
    spec = {}
    for key, axes in (dynamic_axes or {}).items():
        if isinstance(axes, dict):
            spec[key] = {int(a): str(s) for a, s in axes.items()}
        elif isinstance(axes, (list, tuple)):
            spec[key] = {int(a): f"{key}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
        else:
            raise TypeError(f"dynamic_axes[{key!r}] must be a dict {{axis: name}} or a list of "
                            f"axes, got {type(axes).__name__}")
        if key not in in_names and key not in out_names_hint:
            warnings.warn(f"Provided key {key} for dynamic axes is not a valid input/output "
                          f"name", UserWarning, stacklevel=3)
    return spec


def _second_inputs(args, kwargs, in_names, spec):
    """Other example inputs for the second trace: other values (floats scaled and shifted,
    integers and booleans rolled), and each dynamic axis one longer (repeating the data)."""
    sizes = {}                       # symbol -> size in the second trace
    for name, t in zip(in_names, _tensors(args, kwargs)):
        for axis, sym in spec.get(name, {}).items():
            if not -t.dim() <= axis < max(t.dim(), 1):
                raise ValueError(f"dynamic_axes: input {name!r} has {t.dim()} dimensions, "
                                 f"axis {axis} is out of range")
            if sym not in sizes:         # a different step per symbol: no two coincide
                sizes[sym] = t.shape[axis] + 1 + len(sizes)
    it = iter(in_names)

    def vary(t):
        name = next(it)
        arr = t._data
        for axis, sym in spec.get(name, {}).items():
            arr = np.take(arr, np.arange(sizes[sym]), axis=axis, mode="wrap")
        if arr.dtype.kind == "f":
            arr = (arr * 0.75 + 0.125).astype(arr.dtype)
        elif arr.dtype.kind in "iub" and arr.ndim:
            arr = np.roll(arr, 1, axis=-1)
        from .._tensor import _wrap
        return _wrap(np.array(arr, copy=True, order="C"))

    new_args = tuple(vary(a) if isinstance(a, Tensor) else a for a in args)
    new_kwargs = {k: vary(a) if isinstance(a, Tensor) else a for k, a in kwargs.items()}
    return new_args, new_kwargs


def _tensors(args, kwargs):
    return [a for a in args if isinstance(a, Tensor)] + \
           [a for a in kwargs.values() if isinstance(a, Tensor)]


def _flatten_outputs(result):
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _flatten_outputs(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _flatten_outputs(r)]
    return []


def _trace_once(model, args, kwargs, fold, freeze):
    tracer = _trace.Tracer(model, fold_constants=fold, freeze_control_flow=freeze)
    traced_args = tuple(tracer.add_input(a) if isinstance(a, Tensor) else a for a in args)
    traced_kwargs = {k: tracer.add_input(a) if isinstance(a, Tensor) else a
                     for k, a in kwargs.items()}
    result = tracer.run(model, traced_args, traced_kwargs)
    outs = _flatten_outputs(result)
    if not outs:
        raise OnnxExporterError("ember.onnx.export: the model returned no tensors")
    tracer.outputs = [tracer.value(t) for t in outs]
    return tracer


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, dynamic_axes=None, export_params=True,
           keep_initializers_as_inputs=False, training=TrainingMode.EVAL,
           do_constant_folding=True, freeze_control_flow=False, dynamo=False, **unused):
    """Export ``model`` to ONNX by tracing it on ``args`` (see docs/onnx.md).

    ``f`` is a path or a binary file object; with ``f=None`` the ``onnx.ModelProto`` is
    returned instead of written. ``dynamic_axes`` marks axes of inputs and outputs whose
    size may change (``{"input": {0: "batch"}, "output": {0: "batch"}}``, or lists of
    axes). ``freeze_control_flow=True`` accepts Python branches on traced values (frozen to
    the example's branch), which otherwise raise ``TracingError``. ``dynamo`` is accepted
    for compatibility and ignored: ember has one exporter."""
    onnx = _require_onnx()
    from onnx import helper
    for key in ("dynamic_shapes", "custom_translation_table", "custom_opsets"):
        if unused.pop(key, None):
            raise OnnxExporterError(f"ember.onnx.export: {key}= is not supported")
    if unused:
        warnings.warn(f"ember.onnx.export ignores {sorted(unused)}", UserWarning, stacklevel=2)
    from ..nn.modules.module import Module
    if not isinstance(model, Module) and not callable(model):
        raise TypeError(f"ember.onnx.export: model must be an ember.nn.Module, got "
                        f"{type(model).__name__}")
    if training == TrainingMode.TRAINING:
        raise OnnxExporterError("ember.onnx.export: training=TrainingMode.TRAINING is not "
                                "supported; models are exported for inference (eval mode)")
    opset = _resolve_opset(opset_version)
    args, kw = _split_args(args, kwargs)
    in_names = _input_names(model, args, kw, input_names)
    spec = _dynamic_spec(dynamic_axes, in_names, list(output_names or []))

    was_training = getattr(model, "training", False)
    if isinstance(model, Module) and training == TrainingMode.EVAL:
        model.eval()
    try:
        first = _trace_once(model, args, kw, do_constant_folding, freeze_control_flow)
        args_b, kw_b = _second_inputs(args, kw, in_names, spec)
        second = _trace_once(model, args_b, kw_b, do_constant_folding, freeze_control_flow)
    finally:
        if isinstance(model, Module) and training == TrainingMode.EVAL:
            model.train(was_training)
    dynamic_inputs = any(spec.get(n) for n in in_names)
    _trace.compare_traces(first, second, dynamic_inputs)
    for va, vb in zip(first.outputs, second.outputs):
        if va.const is None:
            _trace._mark_dyn(va, vb)
        elif vb.const is not None and va.const.shape == vb.const.shape and \
                not np.array_equal(va.const, vb.const, equal_nan=va.const.dtype.kind in "fc"):
            raise _trace.TracingError(
                "ember.onnx.export: an output of the model was computed from its inputs "
                "outside ember's ops (through NumPy, for example), so the graph would hold "
                "the example's value as a constant.")

    first.nodes = _live(first.nodes, first.outputs)
    missing = []
    for node in first.nodes:
        if find_converter(type(node.op), opset) is None:
            entry = (node.op_name, node.where)
            if entry not in missing:
                missing.append(entry)
    if missing:
        raise UnsupportedOperatorError(missing, opset)

    ctx = ExportContext(opset, first.inputs, export_params=export_params)
    input_infos = []
    for name, v in zip(in_names, first.inputs):
        v.name = ctx.reserve(name)
        dims = _dims(v, spec.get(name, {}), name)
        input_infos.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(v.dtype), dims))
    out_names = list(output_names or [])
    n_out = len(first.outputs)
    if len(out_names) > n_out:
        raise ValueError(f"ember.onnx.export: {len(out_names)} output_names given for "
                         f"{n_out} outputs")
    default_out = ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)]
    out_names += default_out[len(out_names):]
    for name in out_names:
        ctx.reserve(name)

    for node in first.nodes:
        ctx.node = node
        find_converter(type(node.op), opset)(ctx, node)
    ctx.node = None

    # graph outputs: rename the producing node's output, or add an Identity
    produced = {o: node for node in ctx.nodes for o in node.output}
    output_infos, used = [], set()
    symbols = {(a, b): sym for name, v in zip(in_names, first.inputs)
               for ax, sym in spec.get(name, {}).items() for (a, b) in [v.dyn.get(ax, (0, 0))]}
    for name, v in zip(out_names, first.outputs):
        src = ctx.name(v)
        if src in produced and src not in used and src not in (i.name for i in first.inputs):
            node = produced[src]
            node.output[list(node.output).index(src)] = name
            _rename_uses(ctx.nodes, src, name)
            v.name = name
        else:
            ctx.nodes.append(helper.make_node("Identity", [src], [name],
                                              name=ctx.fresh(f"/Identity_{name}")))
        used.add(name)
        axes = dict(spec.get(name, {}))
        for ax, pair in v.dyn.items():
            axes.setdefault(ax, symbols.get(pair, f"{name}_dim_{ax}"))
        output_infos.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(v.dtype), _dims(v, axes, name)))

    initializers = list(ctx.initializers.values())
    graph_inputs = list(input_infos)
    for pname, v in ctx.param_inputs:
        graph_inputs.append(helper.make_tensor_value_info(
            pname, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape)))
    if keep_initializers_as_inputs:
        for init in initializers:
            graph_inputs.append(helper.make_tensor_value_info(init.name, init.data_type,
                                                              list(init.dims)))
    graph = helper.make_graph(ctx.nodes, "main_graph", graph_inputs, output_infos,
                              initializer=initializers)
    from . import _passes
    _passes.optimize(graph, fold_constants=do_constant_folding, keep=set(out_names))
    opsets = [helper.make_opsetid("", opset)]
    from .. import __version__
    model_proto = helper.make_model(graph, opset_imports=opsets, producer_name="ember",
                                    producer_version=__version__,
                                    ir_version=helper.find_min_ir_version_for(opsets))
    try:
        onnx.checker.check_model(model_proto, full_check=True)
    except onnx.checker.ValidationError as e:
        raise OnnxExporterError(f"ember.onnx.export produced an invalid model (a bug in a "
                                f"converter; please report it): {e}") from e
    if verbose:
        print(helper.printable_graph(model_proto.graph))
    if f is None:
        return model_proto
    _write(model_proto.SerializeToString(), f)
    return None


def _live(nodes, outputs):
    """The nodes some output depends on, in order (a frozen branch's condition, or a
    value computed and never used, needs no converter)."""
    needed = {id(v) for v in outputs}
    live = []
    for node in reversed(nodes):
        if any(id(v) in needed for v in node.outputs):
            live.append(node)
            for x in _trace._flat(list(node.inputs) + list(node.params.values())):
                if isinstance(x, _trace.Value):
                    needed.add(id(x))
    live.reverse()
    return live


def _dims(v, axes: dict, name: str):
    dims = list(v.shape)
    for ax, sym in axes.items():
        if not -len(dims) <= ax < max(len(dims), 1):
            raise ValueError(f"dynamic_axes: {name!r} has {len(dims)} dimensions, axis {ax} "
                             f"is out of range")
        dims[ax % len(dims)] = sym
    return dims


def _rename_uses(nodes, old, new):
    for node in nodes:
        for i, x in enumerate(node.input):
            if x == old:
                node.input[i] = new


def _write(data: bytes, f):
    """Write ``data`` to a path (atomically: a temporary file, then a rename) or to a binary
    file object."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".ember-onnx-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"ember.onnx.export: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
