"""ember.onnx.export's own behaviour: argument forms, names, dynamic axes, opsets, files,
and the refusals (control flow on traced values, untraced computations, in-place writes
into parts of tensors, ops without converters)."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest

import ember
from ember import nn
from onnx_io.onnx_check import check_export, onnx, op_types, requires_onnx, run_onnx

pytestmark = requires_onnx


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc2(ember.relu(self.fc1(x)))


def test_course_code_path(tmp_path):
    """torch.onnx.export(model, input_data, path); InferenceSession(path, None); run."""
    import onnxruntime
    model = MLP().eval()
    x = ember.randn(2, 3, 4)
    path = str(tmp_path / "model.onnx")
    assert ember.onnx.export(model, x, path) is None
    session = onnxruntime.InferenceSession(path, None)
    input_name = session.get_inputs()[0].name
    output_name = session.get_outputs()[0].name
    result = session.run([output_name], {input_name: x.numpy()})[0]
    np.testing.assert_allclose(result, model(x).detach().numpy(), atol=1e-5)


def test_names_and_producer(tmp_path):
    proto = check_export(MLP(), ember.randn(2, 3, 4), tmp_path, input_names=["images"],
                         output_names=["logits"])
    assert [i.name for i in proto.graph.input] == ["images"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert proto.producer_name == "ember"
    names = {t.name for t in proto.graph.initializer}
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"} <= names
    assert "Gemm" in op_types(proto)


def test_default_input_name_is_forward_argument(tmp_path):
    proto = check_export(MLP(), ember.randn(2, 3, 4), tmp_path)
    assert proto.graph.input[0].name == "x"
    assert proto.graph.output[0].name == "output"


def test_dynamic_batch(tmp_path):
    proto = check_export(MLP(), ember.randn(2, 3, 4), tmp_path, other=ember.randn(7, 3, 4),
                         input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    out = proto.graph.output[0].type.tensor_type.shape.dim
    assert out[0].dim_param == "batch"          # the output follows the input's symbol


def test_dynamic_axes_list_form(tmp_path):
    proto = check_export(MLP(), ember.randn(2, 3, 4), tmp_path, other=ember.randn(5, 3, 4),
                         input_names=["x"], output_names=["y"],
                         dynamic_axes={"x": [0], "y": [0]})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param


def test_static_export_refuses_other_batch(tmp_path):
    path = tmp_path / "m.onnx"
    ember.onnx.export(MLP().eval(), ember.randn(2, 3, 4), str(path))
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        run_onnx(path, ember.randn(5, 3, 4))


def test_tuple_and_kwargs_args(tmp_path):
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, a, b, scale=1.0):
            return self.fc(a) * scale + b

    m = Two().eval()
    a, b = ember.randn(3, 4), ember.randn(3, 4)
    path = tmp_path / "two.onnx"
    ember.onnx.export(m, (a, b, {"scale": 2.0}), str(path))
    (got,) = run_onnx(path, a, b)
    np.testing.assert_allclose(got, m(a, b, scale=2.0).detach().numpy(), atol=1e-5)
    ember.onnx.export(m, (a,), str(path), kwargs={"b": b})
    (got,) = run_onnx(path, a, b)
    np.testing.assert_allclose(got, m(a, b).detach().numpy(), atol=1e-5)


def test_file_object_and_return_proto(tmp_path):
    buf = io.BytesIO()
    m, x = MLP().eval(), ember.randn(2, 3, 4)
    ember.onnx.export(m, x, buf)
    proto = ember.onnx.export(m, x, None)
    assert isinstance(proto, onnx.ModelProto)
    loaded = onnx.load_from_string(buf.getvalue())
    assert [n.op_type for n in loaded.graph.node] == op_types(proto)


def test_multiple_outputs_including_an_input(tmp_path):
    class Multi(nn.Module):
        def forward(self, x):
            y = x * 2.0
            return y, x, (y + 1.0, y)

    m, x = Multi(), ember.randn(2, 3)
    proto = check_export(m, x, tmp_path)
    assert [o.name for o in proto.graph.output] == [f"output_{i}" for i in range(4)]


def test_opsets(tmp_path):
    default = ember.onnx.default_opset()
    assert default >= 17
    for opset in (13, default):
        proto = check_export(MLP(), ember.randn(2, 3, 4), tmp_path, opset=opset)
        assert proto.opset_import[0].version == opset
    with pytest.raises(ValueError, match="opset_version"):
        ember.onnx.export(MLP(), ember.randn(2, 3, 4), None, opset_version=12)
    with pytest.raises(TypeError, match="opset_version"):
        ember.onnx.export(MLP(), ember.randn(2, 3, 4), None, opset_version="17")


def test_export_params_false(tmp_path):
    m = MLP().eval()
    proto = ember.onnx.export(m, ember.randn(2, 3, 4), None, export_params=False)
    assert not proto.graph.initializer or \
        "fc1.weight" not in {t.name for t in proto.graph.initializer}
    assert "fc1.weight" in [i.name for i in proto.graph.input]


def test_mode_restored_and_eval_used(tmp_path):
    class Drop(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.fc(x))

    m = Drop()
    m.train()
    x = ember.randn(3, 4)
    path = tmp_path / "d.onnx"
    ember.onnx.export(m, x, str(path))
    assert m.training                              # the mode is given back
    m.eval()
    (got,) = run_onnx(path, x)
    np.testing.assert_allclose(got, m(x).detach().numpy(), atol=1e-5)
    with pytest.raises(ember.onnx.OnnxExporterError, match="TRAINING"):
        ember.onnx.export(m, x, None, training=ember.onnx.TrainingMode.TRAINING)


def test_is_in_onnx_export():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(ember.onnx.is_in_onnx_export())
            return x * 2.0

    ember.onnx.export(Probe(), ember.randn(2), None)
    assert seen and all(seen)
    assert not ember.onnx.is_in_onnx_export()


# --------------------------------------------------------------------------- refusals
class Branchy(nn.Module):
    def forward(self, x):
        if (x * 1.0).sum() > 0:                     # control flow on a traced value
            return x * 2.0
        return x * 3.0


@pytest.mark.parametrize("convert", [
    lambda t: bool(t.sum() > 0),
    lambda t: t.sum().item(),
    lambda t: float(t.sum()),
    lambda t: int(t.sum()),
    lambda t: t.numpy(),
    lambda t: t.tolist(),
], ids=["bool", "item", "float", "int", "numpy", "tolist"])
def test_python_value_of_traced_tensor_is_refused(convert):
    class M(nn.Module):
        def forward(self, x):
            convert(x * 1.0)
            return x * 2.0

    with pytest.raises(ember.onnx.TracingError, match="test_export_core.py:") as info:
        ember.onnx.export(M(), ember.randn(2, 3), None)
    assert "freeze_control_flow=True" in str(info.value)


def test_control_flow_error_names_the_line(tmp_path):
    path = tmp_path / "b.onnx"
    with pytest.raises(ember.onnx.TracingError) as info:
        ember.onnx.export(Branchy(), ember.ones(2, 3), str(path))
    assert "if (x * 1.0).sum() > 0:" in str(info.value)
    assert not path.exists()


def test_control_flow_opt_out_freezes_the_branch(tmp_path):
    path = tmp_path / "b.onnx"
    ember.onnx.export(Branchy(), ember.ones(2, 3), str(path), freeze_control_flow=True)
    (got,) = run_onnx(path, -ember.ones(2, 3))
    np.testing.assert_allclose(got, -2 * np.ones((2, 3)))   # the frozen (positive) branch


def test_python_value_of_constant_is_allowed(tmp_path):
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", ember.tensor(3.0))

        def forward(self, x):
            return x * self.scale.item()

    check_export(Scaled(), ember.randn(2, 3), tmp_path)


def test_untraced_computation_is_refused():
    class Sneaky(nn.Module):
        def forward(self, x):
            y = ember.from_numpy(np.asarray(x._data) * 2)     # outside ember's ops
            return x + y

    with pytest.raises(ember.onnx.TracingError, match="outside ember's ops"):
        ember.onnx.export(Sneaky(), ember.randn(2, 3), None)


def test_inplace_on_whole_tensor_is_followed(tmp_path):
    class Inplace(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x)
            nn.functional.relu(y, inplace=True)
            y.mul_(2.0)
            return y

    check_export(Inplace(), ember.randn(3, 4), tmp_path)


def test_inplace_write_into_part_is_refused():
    class Part(nn.Module):
        def forward(self, x):
            y = x * 2.0
            y[0] = 0.0
            return y

    with pytest.raises(ember.onnx.OnnxExporterError, match="in-place write into part"):
        ember.onnx.export(Part(), ember.randn(3, 4), None)


def test_unsupported_ops_listed_at_once(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return ember.linalg.inv(x) + ember.linalg.det(x).reshape(1, 1) * 1.0

    path = tmp_path / "odd.onnx"
    with pytest.raises(ember.onnx.UnsupportedOperatorError) as info:
        ember.onnx.export(Odd(), ember.randn(3, 3) + 3 * ember.eye(3), str(path))
    msg = str(info.value)
    assert "Inv" in msg and "Det" in msg and "opset" in msg
    assert {name for name, _ in info.value.ops} >= {"Inv", "Det"}
    assert not path.exists()


def test_failed_export_leaves_existing_file(tmp_path):
    path = tmp_path / "keep.onnx"
    path.write_bytes(b"previous contents")
    with pytest.raises(ember.onnx.TracingError):
        ember.onnx.export(Branchy(), ember.ones(2, 3), str(path))
    assert path.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["keep.onnx"]       # no temporary left behind


def test_bad_arguments():
    with pytest.raises(TypeError, match="args"):
        ember.onnx.export(MLP(), 3.0, None)
    with pytest.raises(ValueError, match="input_names"):
        ember.onnx.export(MLP(), ember.randn(2, 3, 4), None, input_names=["a", "b"])
    with pytest.raises(ValueError, match="out of range"):
        ember.onnx.export(MLP(), ember.randn(2, 3, 4), None, input_names=["x"],
                          dynamic_axes={"x": {5: "batch"}})
    with pytest.warns(UserWarning, match="not a valid input/output name"):
        ember.onnx.export(MLP(), ember.randn(2, 3, 4), None, dynamic_axes={"nope": [0]})
