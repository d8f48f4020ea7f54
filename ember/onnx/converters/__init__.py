"""The converters, one module per family of ember ops; importing this package registers
them all (see ``ember.onnx._registry``)."""
from . import activation, attention, elementwise, indexing, nn, reduce, rnn, shape  # noqa: F401
