"""Shared checks for the ONNX tests: export an ember model to a real file, run it with
onnxruntime, and compare with ember's own eval-mode output.

The tests need the optional ``onnx`` and ``onnxruntime`` packages (the ``ember[onnx]``
extra, which the test environment installs); ``requires_onnx`` skips a module without them.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember

try:
    import onnx
    import onnxruntime as ort
except ImportError:  # pragma: no cover - exercised only without the extra
    onnx = ort = None

requires_onnx = pytest.mark.skipif(ort is None, reason="onnx/onnxruntime (ember[onnx]) are "
                                                        "not installed")

ATOL = 1e-4
OPSETS = [13, None]          # the oldest supported opset and the default (newest)


class Fn(ember.nn.Module):
    """A function of the input tensor(s) as a module, to export a functional op."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def make(shape, dtype):
    """A random input: int64 in [-50, 50) or standard normal float32."""
    if dtype == "int64":
        return ember.randint(-50, 50, shape)
    return ember.randn(*shape)


def session(path_or_proto):
    data = path_or_proto.SerializeToString() if hasattr(path_or_proto, "SerializeToString") \
        else str(path_or_proto)
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def run_onnx(path_or_proto, *inputs):
    """Run the model in onnxruntime on ember tensors / arrays; a list of arrays back."""
    sess = session(path_or_proto)
    feeds = {i.name: (x.numpy() if isinstance(x, ember.Tensor) else np.asarray(x))
             for i, x in zip(sess.get_inputs(), inputs)}
    return sess.run(None, feeds)


def _as_list(out):
    if isinstance(out, ember.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _as_list(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _as_list(o)]
    return []


def check_export(model, args, tmp_path, *, other=None, dynamic_axes=None, opset=None,
                 atol=ATOL, rtol=1e-4, name="model.onnx", **export_kwargs):
    """Export ``model`` traced on ``args`` (a tensor or tuple) to ``tmp_path/name``, check
    it with onnx.checker, and compare onnxruntime's outputs with ember's (eval mode, no
    grad) on ``args`` and, when given, on ``other`` (inputs of other sizes along the
    dynamic axes). Returns the loaded ModelProto."""
    if isinstance(model, ember.nn.Module):
        model.eval()
    path = tmp_path / name
    ember.onnx.export(model, args, str(path), dynamic_axes=dynamic_axes,
                      opset_version=opset, **export_kwargs)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    for inputs in [args] + ([other] if other is not None else []):
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        with ember.no_grad():
            expected = _as_list(model(*inputs))
        got = run_onnx(path, *[x for x in inputs if isinstance(x, ember.Tensor)])
        assert len(got) == len(expected), f"{len(got)} outputs, expected {len(expected)}"
        for k, (g, e) in enumerate(zip(got, expected)):
            e = e.numpy()
            assert g.shape == e.shape, f"output {k}: shape {g.shape} != {e.shape}"
            assert g.dtype == e.dtype, f"output {k}: dtype {g.dtype} != {e.dtype}"
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"output {k}")
    return proto


def op_types(proto) -> list:
    return [n.op_type for n in proto.graph.node]
