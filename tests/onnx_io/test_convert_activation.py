"""ONNX export of the activation primitives (ember/onnx/converters/activation.py): every
variant checked against ember's own output with onnxruntime, at opset 13, at the opsets
where the ONNX form changes, and at the default."""
from __future__ import annotations

import pytest

import ember
import ember.nn.functional as F
from ember import nn
from onnx_io.onnx_check import Fn, check_export, op_types, requires_onnx

pytestmark = requires_onnx


def _input(shape=(3, 4, 5), dtype=ember.float32, scale=3.0):
    # values on both sides of every kink (the grid keeps them off the kinks themselves)
    ember.manual_seed(0)
    return (ember.randn(*shape) * scale).to(dtype)


ACTIVATIONS = {
    "relu": nn.ReLU(),
    "relu6": nn.ReLU6(),
    "hardtanh": nn.Hardtanh(-0.5, 2.0),
    "threshold": nn.Threshold(0.3, -2.0),
    "leaky_relu": nn.LeakyReLU(0.2),
    "rrelu_eval": nn.RReLU(0.1, 0.3),
    "elu": nn.ELU(0.7),
    "selu": nn.SELU(),
    "celu": nn.CELU(1.5),
    "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU(approximate="tanh"),
    "silu": nn.SiLU(),
    "mish": nn.Mish(),
    "hardsigmoid": nn.Hardsigmoid(),
    "hardswish": nn.Hardswish(),
    "logsigmoid": nn.LogSigmoid(),
    "softplus": nn.Softplus(),
    "softplus_beta": nn.Softplus(beta=2.0, threshold=3.0),
    "softplus_threshold": nn.Softplus(beta=1.0, threshold=1.0),
    "softshrink": nn.Softshrink(0.7),
    "hardshrink": nn.Hardshrink(0.7),
    "softmax": nn.Softmax(dim=1),
    "softmax_last": nn.Softmax(dim=-1),
    "log_softmax": nn.LogSoftmax(dim=0),
}

OPSET_SPLITS = {"gelu": (13, 19, 20), "gelu_tanh": (13, 20), "mish": (13, 17, 18),
                "hardswish": (13, 14)}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("opset", [13, None])
def test_activation(name, opset, tmp_path):
    check_export(ACTIVATIONS[name], _input(), tmp_path, opset=opset)


@pytest.mark.parametrize("name,opset", [(n, o) for n, opsets in OPSET_SPLITS.items()
                                        for o in opsets])
def test_opset_dependent_forms(name, opset, tmp_path):
    proto = check_export(ACTIVATIONS[name], _input(), tmp_path, opset=opset)
    ops = op_types(proto)
    native = {"gelu": ("Gelu", 20), "gelu_tanh": ("Gelu", 20), "mish": ("Mish", 18),
              "hardswish": ("HardSwish", 14)}[name]
    assert (native[0] in ops) == (opset >= native[1])


def test_native_op_types(tmp_path):
    """The ONNX op each activation maps to (not a pile of primitives)."""
    expect = {"relu": "Relu", "relu6": "Clip", "leaky_relu": "LeakyRelu", "elu": "Elu",
              "selu": "Selu", "celu": "Celu", "hardsigmoid": "HardSigmoid",
              "softshrink": "Shrink", "hardshrink": "Shrink", "softmax": "Softmax",
              "log_softmax": "LogSoftmax", "softplus": "Softplus"}
    for name, op in expect.items():
        proto = check_export(ACTIVATIONS[name], _input(), tmp_path, name=f"{name}.onnx")
        assert op_types(proto) == [op], name


def test_softmax_axis_attribute(tmp_path):
    proto = check_export(nn.Softmax(dim=-2), _input(), tmp_path)
    assert proto.graph.node[0].attribute[0].i == 1


def test_softplus_large_inputs(tmp_path):
    """The linear region (beta * x > threshold) and no overflow for large inputs."""
    x = ember.tensor([[-100.0, -5.0, 0.0, 5.0, 30.0, 100.0]])
    check_export(nn.Softplus(beta=0.5, threshold=4.0), x, tmp_path)
    check_export(nn.LogSigmoid(), x * 10, tmp_path, name="logsigmoid.onnx")


def test_relu_integer_input(tmp_path):
    """Relu-13 is float only and onnxruntime runs no integer Relu: Max(x, 0)."""
    x = ember.tensor([[-3, 0, 2], [5, -1, 7]])
    for opset in (13, None):
        proto = check_export(nn.ReLU(), x, tmp_path, opset=opset, name=f"{opset}.onnx")
        assert op_types(proto) == ["Max"]


def test_hardtanh_and_threshold_integer(tmp_path):
    x = ember.tensor([[-3, 0, 2], [5, -1, 7]])
    check_export(Fn(lambda t: F.hardtanh(t, -1, 4)), x, tmp_path, name="a.onnx")
    check_export(Fn(lambda t: F.threshold(t, 1, 9)), x, tmp_path, name="b.onnx")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float64(name, tmp_path):
    """onnxruntime lacks float64 kernels for several activation ops: those are written
    with elementwise ops for float64 inputs."""
    check_export(ACTIVATIONS[name], _input(dtype=ember.float64), tmp_path)


def test_dynamic_batch(tmp_path):
    model = nn.Sequential(nn.GELU(), nn.Softplus(beta=2.0), nn.Softmax(dim=-1))
    check_export(model, _input((2, 6)), tmp_path, other=_input((5, 6)),
                 dynamic_axes={"input": {0: "batch"}}, input_names=["input"])


def test_inplace_activations(tmp_path):
    model = nn.Sequential(nn.Linear(5, 5), nn.ReLU(inplace=True), nn.Linear(5, 5),
                          nn.LeakyReLU(0.1, inplace=True), nn.ELU(inplace=True))
    check_export(model, _input((3, 5)), tmp_path)


def test_prelu(tmp_path):
    model = nn.PReLU(4)
    model.weight.data.uniform_(0.1, 0.5)
    check_export(model, _input((3, 4)), tmp_path, other=_input((5, 4)) * -1,
                 dynamic_axes={"input": {0: "batch"}}, input_names=["input"])


@pytest.mark.parametrize("layer", [nn.GLU(), nn.Tanhshrink(), nn.Softsign(), nn.Softmin(1),
                                   nn.Sigmoid(), nn.Tanh()])
def test_composites_of_unary_functions(layer, tmp_path):
    check_export(layer, _input((3, 4)), tmp_path, other=_input((5, 4)),
                 dynamic_axes={"input": {0: "batch"}}, input_names=["input"])
