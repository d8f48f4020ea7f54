"""The exceptions of ``ember.onnx``.

``OnnxExporterError`` is the base (PyTorch has a class of the same name in
``torch.onnx.errors``); the more specific ones say what went wrong and where.
"""
from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError", "TracingError",
           "OnnxImportError"]


class OnnxExporterError(RuntimeError):
    """An ONNX export failed; the message says why."""


class UnsupportedOperatorError(OnnxExporterError):
    """The model uses ember ops that have no ONNX converter at the requested opset.

    ``ops`` lists them, each as ``(op name, where it was called)``; the message names them
    all at once, so one export attempt shows everything that is missing."""

    def __init__(self, missing, opset):
        self.ops = list(missing)
        self.opset = opset
        lines = [f"  - {name} (called at {where})" for name, where in self.ops]
        super().__init__(
            f"ember.onnx.export: {len(self.ops)} operator(s) cannot be exported at opset "
            f"{opset}:\n" + "\n".join(lines) +
            "\nNo file was written. docs/onnx.md lists the supported operators and opsets.")


class TracingError(OnnxExporterError):
    """The model turned a traced tensor into a Python value (``if x.sum() > 0:``,
    ``x.item()``, ``bool(x)``, ``int(x)``), so the exported graph would silently freeze the
    branch taken with the example input."""


class OnnxImportError(RuntimeError):
    """An ONNX model cannot be loaded as an ember module; the message lists every reason."""
