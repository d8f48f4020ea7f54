"""Whole models exported to ONNX and run in onnxruntime: the course's MLP, a small CNN
(Conv2d, BatchNorm2d, ReLU, MaxPool, Dropout, Linear), ember.train's models and
ember.vision's LeNet and ResNet-18, each compared with ember at the traced batch size and,
exported with a dynamic batch axis, at another batch size."""
from __future__ import annotations

import pytest

import ember
from ember import nn
from ember.train.models import CNN as TrainCNN
from ember.train.models import MLP as TrainMLP
from ember.vision import models
from onnx_io.onnx_check import check_export, op_types, requires_onnx

pytestmark = requires_onnx

DYN = {"input": {0: "batch"}, "output": {0: "batch"}}


class NeuralNetwork(nn.Module):
    """The course's first model (PyTorch's quickstart): Flatten -> Linear/ReLU stack."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(),
            nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25))
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


def _trained_statistics(model):
    """Batch norm running statistics as after training (not the initial 0 and 1), and
    Dropout layers that would change the output if they ran."""
    ember.manual_seed(7)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.2)
    return model


def _inputs(shape, other_batch):
    ember.manual_seed(0)
    return ember.randn(*shape), ember.randn(other_batch, *shape[1:])


def _check(model, shape, tmp_path, other_batch=3, **kw):
    model = _trained_statistics(model).eval()
    x, other = _inputs(shape, other_batch)
    # the traced batch size only
    check_export(model, x, tmp_path, name="static.onnx", input_names=["input"], **kw)
    # dynamic batch: traced at one size, run at another
    proto = check_export(model, x, tmp_path, other=other, dynamic_axes=DYN,
                         input_names=["input"], output_names=["output"], name="dyn.onnx", **kw)
    dim = proto.graph.output[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "batch"
    return proto


@pytest.mark.parametrize("opset", [13, None])
def test_course_mlp(opset, tmp_path):
    proto = _check(NeuralNetwork(), (2, 1, 28, 28), tmp_path, opset=opset)
    assert op_types(proto).count("Gemm") == 3


def test_small_cnn(tmp_path):
    proto = _check(SmallCNN(), (2, 1, 28, 28), tmp_path)
    ops = op_types(proto)
    assert "BatchNormalization" not in ops            # folded into the convolutions
    assert ops.count("Conv") == 2 and ops.count("MaxPool") == 2


def test_small_cnn_opset13_without_folding(tmp_path):
    proto = _check(SmallCNN(), (2, 1, 28, 28), tmp_path, opset=13, do_constant_folding=False)
    assert op_types(proto).count("BatchNormalization") == 2


def test_train_mlp_and_cnn(tmp_path):
    _check(TrainMLP(64, 10, hidden=(32, 16)), (4, 1, 8, 8), tmp_path)
    _check(TrainCNN(3, 32, 10, width=4, hidden=16), (2, 3, 32, 32), tmp_path)


def test_lenet(tmp_path):
    _check(models.LeNet(), (2, 1, 28, 28), tmp_path)


def test_resnet18(tmp_path):
    proto = _check(models.resnet18(num_classes=10), (1, 3, 32, 32), tmp_path, other_batch=2)
    ops = op_types(proto)
    assert ops.count("Conv") == 20 and "BatchNormalization" not in ops
