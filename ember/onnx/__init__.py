"""ONNX both ways: ``ember.onnx.export`` writes a model as an ONNX file that onnxruntime runs,
``ember.onnx.load`` turns an ONNX model back into a trainable ember module.

The ``onnx`` package (and ``onnxruntime``, to run the files) are an optional extra:
``pip install 'ember[onnx]'``. Importing ``ember.onnx`` does not import them; ``export`` and
``load`` do. See docs/onnx.md for the supported operators and opsets, dynamic axes and the
rule on Python control flow.
"""
from __future__ import annotations

from ._export import TrainingMode, default_opset, export, is_in_onnx_export
from .errors import OnnxExporterError, OnnxImportError, TracingError, UnsupportedOperatorError
from . import errors  # noqa: F401
from ._import import OnnxModule  # noqa: F401  (imports onnx only when a model is loaded)
from . import converters  # noqa: F401  (registers the converters)

__all__ = ["export", "load", "OnnxModule", "TrainingMode", "is_in_onnx_export", "default_opset",
           "OnnxExporterError", "UnsupportedOperatorError", "TracingError", "OnnxImportError"]


def load(model, *, dtype=None):
    """Build an ember ``nn.Module`` that runs the ONNX model ``model`` (a path, bytes, a
    binary file object or an ``onnx.ModelProto``) with ember ops; see ``_import``."""
    from ._import import load as _load
    return _load(model, dtype=dtype)
