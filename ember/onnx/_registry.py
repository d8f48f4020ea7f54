"""The table of converters: for each ember op class, a function that writes ONNX nodes.

A converter is registered for one or more ``Op`` classes and a range of opsets::

    @converter(Relu)                       # opsets 13 and up
    def relu(ctx, node):
        ctx.emit("Relu", [ctx.input(node, 0)], ctx.outputs(node))

    @converter(LayerNormOp, opsets=(17, None))
    def layer_norm(ctx, node): ...

``ctx`` is the ``ExportContext`` (``ember.onnx._context``), ``node`` the traced ``Node``.
Several registrations for one class may cover different opset ranges; lookup follows the
class's MRO, so a converter for a base class serves its subclasses.
"""
from __future__ import annotations

__all__ = ["converter", "find_converter", "MIN_OPSET", "MAX_OPSET", "supported_ops"]

MIN_OPSET = 13          # the oldest opset ember exports
MAX_OPSET = 23          # the newest opset every converter has been checked against

_TABLE: dict = {}       # Op class -> [(first opset, last opset or None, function)]


def converter(*op_classes, opsets=(MIN_OPSET, None)):
    """Register the decorated function as the converter of ``op_classes`` for ``opsets``
    (``(first, last)``, ``last=None`` meaning every newer opset)."""
    first, last = opsets

    def register(fn):
        for cls in op_classes:
            _TABLE.setdefault(cls, []).append((first, last, fn))
        return fn
    return register


def find_converter(op_class, opset: int):
    """The converter of ``op_class`` at ``opset``, or None."""
    for cls in op_class.__mro__:
        for first, last, fn in _TABLE.get(cls, ()):
            if first <= opset and (last is None or opset <= last):
                return fn
    return None


def supported_ops() -> dict:
    """``{op class name: [(first opset, last opset), ...]}`` for documentation."""
    return {cls.__name__: [(f, l) for f, l, _ in entries] for cls, entries in _TABLE.items()}
