"""ONNX export of the shape and view ops (ember/onnx/converters/shape.py): every op in a tiny
module, compared with onnxruntime on float32 and int64 data at opset 13 and the default
opset, plus dynamic batch sizes (traced at 2, run at 5) and the refusals."""
from __future__ import annotations

import pytest

import ember
import ember.nn.functional as F
from ember import nn
from onnx_io.onnx_check import Fn, OPSETS, check_export, make, op_types, requires_onnx

pytestmark = requires_onnx


# name -> (function, input shape)
CASES = {
    "reshape": (lambda x: x.reshape(3, -1), (2, 3, 4)),
    "reshape_same": (lambda x: x.reshape(2, 3, 4), (2, 3, 4)),
    "view_flat": (lambda x: x.view(-1), (2, 3, 4)),
    "reshape_empty": (lambda x: x[:, :0].reshape(0, 4), (2, 3, 4)),
    "view_as": (lambda x: x.view_as(ember.zeros(4, 6)), (2, 3, 4)),
    "flatten": (lambda x: x.flatten(1), (2, 3, 4)),
    "flatten_mid": (lambda x: ember.flatten(x, 0, 1), (2, 3, 4)),
    "nn_flatten": (nn.Flatten(), (2, 3, 4)),
    "unflatten": (lambda x: x.unflatten(2, (2, -1)), (2, 3, 4)),
    "nn_unflatten": (nn.Unflatten(1, (3, 1)), (2, 3, 4)),
    "ravel": (lambda x: x.t().ravel(), (3, 4)),
    "expand": (lambda x: x.expand(2, 3, 4), (3, 1)),
    "expand_keep": (lambda x: x.expand(5, -1, 4), (3, 1)),
    "expand_as": (lambda x: x.expand_as(ember.zeros(2, 3, 4)), (1, 4)),
    "broadcast_to": (lambda x: ember.broadcast_to(x, (2, 3, 4)), (3, 4)),
    "permute": (lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    "transpose": (lambda x: x.transpose(0, 2), (2, 3, 4)),
    "t": (lambda x: x.t(), (3, 4)),
    "t_1d": (lambda x: x.t(), (4,)),
    "mT": (lambda x: x.mT, (2, 3, 4)),
    "T": (lambda x: x.T, (3, 4)),
    "movedim": (lambda x: ember.movedim(x, 0, -1), (2, 3, 4)),
    "squeeze_all": (lambda x: x.squeeze(), (2, 1, 4, 1)),
    "squeeze_dim": (lambda x: x.squeeze(1), (2, 1, 4, 1)),
    "squeeze_none": (lambda x: x.squeeze(0), (2, 1, 4, 1)),
    "unsqueeze": (lambda x: x.unsqueeze(-1), (2, 3)),
    "clone": (lambda x: x.clone(), (2, 3)),
    "contiguous": (lambda x: x.t().contiguous(), (2, 3)),
    "repeat": (lambda x: x.repeat(2, 1, 3), (2, 3)),
    "tile": (lambda x: x.tile((2,)), (2, 3)),
    "cat": (lambda x: ember.cat([x, x, x[:, :1]], 1), (2, 3, 4)),
    "cat_neg": (lambda x: ember.cat([x, ember.ones(2, 3, 1, dtype=x.dtype)], -1), (2, 3, 4)),
    "stack": (lambda x: ember.stack([x, x], 1), (2, 3)),
    "stack_last": (lambda x: ember.stack([x, x, x], -1), (2, 3)),
    "hstack": (lambda x: ember.hstack([x, x]), (2, 3)),
    "split_int": (lambda x: x.split(3, 1), (2, 5)),
    "split_list": (lambda x: ember.split(x, [1, 3, 1], 1), (2, 5)),
    "chunk": (lambda x: x.chunk(2, -1), (2, 5)),
    "split_zero": (lambda x: x.split([0, 4, 1], 1), (2, 5)),
    "tensor_split": (lambda x: ember.tensor_split(x, 3, 1), (2, 5)),
    "unbind": (lambda x: x.unbind(1), (2, 3, 4)),
    "unbind_one": (lambda x: x.unbind(0), (1, 3)),
    "flip": (lambda x: x.flip(0, 2), (2, 3, 4)),
    "fliplr": (lambda x: ember.fliplr(x), (2, 3)),
    "rot90": (lambda x: ember.rot90(x, 1, (0, 1)), (2, 3)),
    "roll": (lambda x: x.roll((1, -2), (0, 2)), (2, 3, 4)),
    "roll_big": (lambda x: x.roll(7, 1), (2, 3)),
    "roll_flat": (lambda x: x.roll(-5), (2, 3, 4)),
    "tril": (lambda x: x.tril(), (2, 3, 4)),
    "tril_k": (lambda x: ember.tril(x, -1), (3, 4)),
    "triu_k": (lambda x: x.triu(2), (2, 3, 4)),
    "diagonal": (lambda x: x.diagonal(), (3, 4)),
    "diagonal_offset": (lambda x: ember.diagonal(x, -1, 2, 0), (3, 2, 4)),
    "diag": (lambda x: ember.diag(x, 1), (3, 4)),
    "trace": (lambda x: ember.trace(x), (3, 4)),
    "diag_embed": (lambda x: ember.diag_embed(x, 1), (2, 3)),
    "diag_vector": (lambda x: ember.diag(x, -1), (3,)),
    "diagflat": (lambda x: ember.diagflat(x), (2, 2)),
    "select_scatter": (lambda x: ember.select_scatter(x, x[:, 2], 1, 0), (2, 3)),
    "slice_scatter": (lambda x: ember.slice_scatter(x, x[:, :2].flip(1), 1, 1, 3), (2, 4)),
    "diagonal_scatter": (lambda x: ember.diagonal_scatter(x, x[0, :3].flip(0), 1), (3, 4)),
    "unfold": (lambda x: x.unfold(1, 2, 2), (2, 5, 3)),
    "unfold_last": (lambda x: x.unfold(-1, 3, 1), (2, 5)),
    "narrow": (lambda x: x.narrow(1, 1, 2), (2, 4)),
    "select": (lambda x: x.select(1, -1), (2, 4)),
    "pad_constant": (lambda x: F.pad(x, (1, 2, 0, 1), value=3.0), (2, 3, 4)),
    "pad_crop": (lambda x: F.pad(x, (-1, 2, 1, -1)), (2, 3, 4)),
    "pad_reflect": (lambda x: F.pad(x, (1, 2, 2, 0), mode="reflect"), (2, 3, 4)),
    "pad_replicate": (lambda x: F.pad(x, (3, 1), mode="replicate"), (2, 3, 4)),
    "pad_circular": (lambda x: F.pad(x, (1, 2, 0, 1), mode="circular"), (2, 3, 4)),
    "pad_circular_crop": (lambda x: F.pad(x, (-1, 2), mode="circular"), (2, 3, 4)),
    "pad_replicate_crop": (lambda x: F.pad(x, (-1, 2), mode="replicate"), (2, 3, 4)),
    "zero_pad2d": (nn.ZeroPad2d((1, 0, 2, 1)), (1, 2, 3, 4)),
    "reflection_pad1d": (nn.ReflectionPad1d(2), (2, 3, 4)),
    "replication_pad3d": (nn.ReplicationPad3d(1), (1, 1, 2, 3, 2)),
    "constant_pad_nd": (lambda x: ember.constant_pad_nd(x, (1, 1), 2), (2, 3)),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_op(name, dtype, opset, tmp_path):
    fn, shape = CASES[name]
    check_export(Fn(fn), make(shape, dtype), tmp_path, opset=opset)


def test_op_forms(tmp_path):
    """The ONNX ops each ember op becomes (the mapping in the converter's docstring)."""
    def ops(fn, shape, opset=None):
        return op_types(check_export(Fn(fn), ember.randn(*shape), tmp_path, opset=opset))
    assert ops(lambda x: x.reshape(-1), (2, 3)) == ["Reshape"]
    assert ops(lambda x: x.permute(1, 0), (2, 3)) == ["Transpose"]
    assert ops(lambda x: x.flip(0), (2, 3)) == ["Slice"]
    assert ops(lambda x: ember.stack([x, x]), (2, 3)) == ["Unsqueeze", "Unsqueeze", "Concat"]
    assert ops(lambda x: x.unbind(0), (2, 3)) == ["Split", "Squeeze", "Squeeze"]
    assert ops(lambda x: x.tril(), (3, 3)) == ["Trilu"]
    assert ops(lambda x: x.tril(), (3, 3), opset=13) == ["Where"]        # Trilu is opset 14
    circular = lambda x: F.pad(x, (1, 1), mode="circular")
    assert ops(circular, (2, 3)) == ["Pad"]                               # mode "wrap", 19+
    assert ops(circular, (2, 3), opset=18) == ["Gather"]
    assert ops(lambda x: F.pad(x, (1, 1), mode="reflect"), (2, 3), opset=13) == ["Pad"]
    assert ops(lambda x: x.clone(), (2, 3)) == ["Identity"]              # a graph output
    assert ops(lambda x: x.contiguous().clone().exp(), (2, 3)) == ["Exp"]  # bypassed


def test_bool_ops(tmp_path):
    """Shape ops carry bool tensors too (masks are reshaped, padded and concatenated)."""
    def fn(m):
        return ember.cat([F.pad(m, (0, 0, 1, 1)), m.flip(1).tril()], 0).reshape(-1)
    for opset in OPSETS:
        check_export(Fn(fn), ember.from_numpy(ember.randn(3, 4).numpy() > 0), tmp_path,
                     opset=opset)


# -- dynamic axes: traced at batch 2, run at batch 5 ------------------------------------------

DYNAMIC = {
    "view_batch": lambda x: x.view(x.size(0), -1),
    "view_double": lambda x: x.view(x.size(0) * 2, -1),
    "view_half": lambda x: x.reshape(x.size(0), 2, 6).view(-1, 6)[::2].reshape(
        x.size(0), -1),
    "reshape_infer": lambda x: x.reshape(-1, 2, 6),
    "reshape_permute": lambda x: x.reshape(x.size(0), 3, 2, 2).permute(0, 2, 1, 3).reshape(
        x.size(0), 2, 6),
    "flatten": lambda x: x.flatten(1),
    "flatten_all": lambda x: x.flatten(),
    "nn_flatten": nn.Flatten(),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "expand": lambda x: x[:, :1].expand(-1, 5, 4),
    "expand_batch": lambda x: x[:1].expand(x.size(0), 3, 4),
    "expand_new": lambda x: x.unsqueeze(1).expand(x.size(0), 2, 3, 4),
    "cat": lambda x: ember.cat([x, x[:, :1]], 1),
    "cat_batch": lambda x: ember.cat([x, x], 0),
    "cat_zeros": lambda x: ember.cat([x, ember.zeros(x.size(0), 3, 1)], 2),
    "stack": lambda x: ember.stack([x, x], 0),
    "split": lambda x: x.split([1, 2], 1),
    "chunk_batch": lambda x: x.chunk(2, 0),
    "split_rest": lambda x: x.split([1, x.size(0) - 1], 0),
    "unbind": lambda x: x.unbind(1),
    "roll_batch": lambda x: x.roll(1, 0),
    "roll_flat": lambda x: x.roll(-7),
    "flip": lambda x: x.flip(0),
    "tril": lambda x: x.tril(),
    "tril_batch": lambda x: x.reshape(-1, 4).tril(1),
    "pad_reflect": lambda x: F.pad(x, (1, 1), mode="reflect"),
    "pad_circular": lambda x: F.pad(x, (1, 2), mode="circular"),
    "narrow_rest": lambda x: x.narrow(0, 1, x.size(0) - 1),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_dynamic_batch(name, opset, tmp_path):
    check_export(Fn(DYNAMIC[name]), ember.randn(2, 3, 4), tmp_path, opset=opset,
                 other=ember.randn(5, 3, 4), input_names=["x"], dynamic_axes={"x": {0: "b"}})


@pytest.mark.parametrize("opset", OPSETS)
def test_dynamic_chunk_of_batch_at_many_sizes(opset, tmp_path):
    """chunk(2) of a dynamic dim computes ceil(n / 2) at run time (exported at 3)."""
    model = Fn(lambda x: x.chunk(2, 0))
    check_export(model, ember.randn(3, 4), tmp_path, opset=opset, other=ember.randn(8, 4),
                 input_names=["x"], dynamic_axes={"x": {0: "b"}})
    for b in (4, 7):
        check_export(model, ember.randn(3, 4), tmp_path, opset=opset, other=ember.randn(b, 4),
                     input_names=["x"], dynamic_axes={"x": {0: "b"}})


def test_dynamic_view_times_two_uses_shape_of_input(tmp_path):
    """x.view(x.size(0) * 2, -1): the first size is Shape(x)[0] * 2 at run time."""
    proto = check_export(Fn(lambda x: x.view(x.size(0) * 2, -1)), ember.randn(2, 4, 3),
                         tmp_path, other=ember.randn(7, 4, 3), input_names=["x"],
                         dynamic_axes={"x": {0: "b"}})
    assert "Shape" in op_types(proto) and "Mul" in op_types(proto)


def test_dynamic_view_batch_copies_the_dimension(tmp_path):
    """x.view(x.size(0), -1) is Reshape(x, [0, -1]): no Shape ops needed."""
    proto = check_export(Fn(lambda x: x.view(x.size(0), -1)), ember.randn(2, 4, 3), tmp_path,
                         other=ember.randn(6, 4, 3), input_names=["x"],
                         dynamic_axes={"x": {0: "b"}})
    assert op_types(proto) == ["Reshape"]


def test_two_dynamic_inputs(tmp_path):
    class Two(nn.Module):
        def forward(self, x, y):
            return ember.cat([x.reshape(x.size(0), -1), y.expand(x.size(0), -1)], 1)
    check_export(Two(), (ember.randn(2, 3, 2), ember.randn(1, 4)), tmp_path,
                 other=(ember.randn(5, 3, 2), ember.randn(1, 4)), input_names=["x", "y"],
                 dynamic_axes={"x": {0: "b"}})


# -- refusals ---------------------------------------------------------------------------------

def _export_dynamic(fn, shape, tmp_path, opset=None):
    ember.onnx.export(Fn(fn), ember.randn(*shape), str(tmp_path / "m.onnx"), input_names=["x"],
                      dynamic_axes={"x": {0: "b"}}, opset_version=opset)


def test_inexpressible_dynamic_reshape_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match=r"Reshape at(.|\n)*2 dimensions"):
        _export_dynamic(lambda x: x.view(x.size(0) + 1, x.size(0) + 6), (2, 12), tmp_path)
    assert not (tmp_path / "m.onnx").exists()


def test_inexpressible_dynamic_expand_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="Expand at"):
        _export_dynamic(lambda x: x[:1].expand(x.size(0) + 1, 3), (2, 3), tmp_path)


def test_split_into_a_size_dependent_number_of_pieces_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="SplitWithSizes at(.|\n)*number"):
        _export_dynamic(lambda x: x.split(1, 0), (2, 3), tmp_path)


def test_unbind_of_dynamic_dim_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="Unbind at"):
        _export_dynamic(lambda x: x.unbind(0), (2, 3), tmp_path)


def test_circular_crop_of_dynamic_dim_is_refused(tmp_path):
    def fn(x):
        return F.pad(x.t(), (-1, 1), mode="circular")
    with pytest.raises(ember.onnx.OnnxExporterError, match="IndexPad at"):
        _export_dynamic(fn, (3, 2), tmp_path)


def test_as_strided_is_unsupported(tmp_path):
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="AsStrided"):
        ember.onnx.export(Fn(lambda x: x.as_strided((2, 2), (1, 2))), ember.randn(2, 3),
                          str(tmp_path / "m.onnx"))


class ParamToBatch(nn.Module):
    """A parameter expanded / repeated / reshaped to the run-time batch size: recorded as
    nodes (not folded into constants of the traced size)."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.p = nn.Parameter(ember.randn(1, 4))

    def forward(self, x):
        n = x.size(0)
        if self.how == "expand":
            y = self.p.expand(n, -1)
        elif self.how == "repeat":
            y = self.p.repeat(n, 2)[:, :4]
        else:
            y = self.p.expand(n, 4).reshape(n * 2, 2).reshape(n, 4)
        return x + y


@pytest.mark.parametrize("how", ["expand", "repeat", "reshape"])
def test_parameter_sized_by_dynamic_batch(how, tmp_path):
    check_export(ParamToBatch(how), ember.randn(3, 4), tmp_path, other=ember.randn(7, 4),
                 input_names=["x"], dynamic_axes={"x": {0: "b"}})
