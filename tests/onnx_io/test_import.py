"""ember.onnx.load: ONNX models (built here with onnx.helper, or exported by ember) imported
as ember modules, compared with onnxruntime; training, state_dict round trips, names, and
the refusal of unsupported operators."""
from __future__ import annotations

import io

import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
from ember import nn
from onnx_io.onnx_check import onnx, requires_onnx, run_onnx, session

pytestmark = requires_onnx

if onnx is not None:
    from onnx import TensorProto, helper, numpy_helper

ATOL = 1e-4


# ---------------------------------------------------------------------------------------
# building models

class Init:
    """An input given as an initializer (a constant of the model) instead of a graph
    input."""

    def __init__(self, value):
        self.value = np.asarray(value)


def _info(name, arr):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype),
                                         list(arr.shape))


def make_model(nodes, inputs, initializers=(), outputs=None, opset=17):
    """A checked ModelProto. ``inputs``/``initializers``: lists of (name, array); outputs:
    names (types from shape inference, or else from running onnxruntime on ``inputs``) --
    by default the last node's outputs."""
    outputs = outputs or [o for o in nodes[-1].output if o]
    in_infos = [_info(n, a) for n, a in inputs]
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers]
    opsets = [helper.make_opsetid("", opset)]
    ir = max(min(helper.find_min_ir_version_for(opsets), 10), 7)
    probe = helper.make_model(helper.make_graph(nodes, "probe", in_infos, [],
                                                initializer=inits), opset_imports=opsets)
    inferred = onnx.shape_inference.infer_shapes(probe)
    known = {vi.name: vi for vi in inferred.graph.value_info
             if vi.type.tensor_type.HasField("shape")}
    if any(n not in known for n in outputs):
        # run the graph once to learn the output types and shapes
        untyped = [helper.make_value_info(n, onnx.TypeProto()) for n in outputs]
        trial = helper.make_model(helper.make_graph(nodes, "trial", in_infos, untyped,
                                                    initializer=inits),
                                  opset_imports=opsets, ir_version=ir)
        results = session(trial).run(None, {n: a for n, a in inputs})
        for n, r in zip(outputs, results):
            known.setdefault(n, _info(n, np.asarray(r)))
    out_infos = [known[n] for n in outputs]
    graph = helper.make_graph(nodes, "test", in_infos, out_infos, initializer=inits)
    model = helper.make_model(graph, opset_imports=opsets, ir_version=ir)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        if "is deprecated" not in str(e):        # ember.onnx.load accepts these too
            raise
    return model


def single_node(op_type, args, attrs=None, *, opset=17, n_out=1):
    """A model of one ``op_type`` node. ``args``: arrays (graph inputs), ``Init(array)``
    (initializers) or None (an omitted optional input)."""
    inputs, inits, names = [], [], []
    for k, a in enumerate(args):
        if a is None:
            names.append("")
        elif isinstance(a, Init):
            inits.append((f"c{k}", a.value))
            names.append(f"c{k}")
        else:
            inputs.append((f"x{k}", np.asarray(a)))
            names.append(f"x{k}")
    outs = [f"y{k}" for k in range(n_out)]
    node = helper.make_node(op_type, names, outs, **(attrs or {}))
    return make_model([node], inputs, inits, outs, opset=opset), [a for _, a in inputs]


def compare(model, feeds, atol=ATOL, rtol=1e-4):
    """Import ``model`` and check its outputs against onnxruntime's on ``feeds``."""
    expected = run_onnx(model, *feeds)
    imported = ember.onnx.load(model)
    got = imported(*[ember.from_numpy(np.array(f, copy=True)) for f in feeds])
    got = [got] if isinstance(got, ember.Tensor) else list(got)
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        g = g.detach().numpy()
        assert g.shape == e.shape, f"output {k}: shape {g.shape} != {e.shape}"
        assert g.dtype == e.dtype, f"output {k}: dtype {g.dtype} != {e.dtype}"
        if e.dtype.kind in "fc":
            np.testing.assert_allclose(g, e, atol=atol, rtol=rtol, err_msg=f"output {k}")
        else:
            np.testing.assert_array_equal(g, e, err_msg=f"output {k}")
    return imported


R = np.random.default_rng(0)


def rnd(*shape, lo=-2.0, hi=2.0, dtype=np.float32):
    return R.uniform(lo, hi, size=shape).astype(dtype)


def ints(*shape, lo=-5, hi=6, dtype=np.int64):
    return R.integers(lo, hi, size=shape).astype(dtype)


def i64(*values):
    return np.asarray(values, dtype=np.int64)


# ---------------------------------------------------------------------------------------
# one node at a time, against onnxruntime

def case(op_type, args, attrs=None, opset=17, n_out=1, id=None):
    return pytest.param(op_type, args, attrs or {}, opset, n_out,
                        id=id or f"{op_type}-opset{opset}")


UNARY = ["Neg", "Abs", "Exp", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan",
         "Atan", "Sinh", "Cosh", "Asinh", "Erf", "Sigmoid", "Tanh", "Relu", "Softsign",
         "Softplus", "HardSwish", "Reciprocal", "Identity"]

x34 = rnd(3, 4)
x2345 = rnd(2, 3, 4, 5)
img = rnd(2, 3, 7, 8)
pos = rnd(3, 4, lo=0.2, hi=3.0)
unit = rnd(3, 4, lo=-0.9, hi=0.9)

CASES = [case(op, [x34]) for op in UNARY] + [
    case("Sqrt", [pos]), case("Log", [pos]), case("Asin", [unit]), case("Acos", [unit]),
    case("Atanh", [unit]), case("Acosh", [pos + 1]), case("Mish", [x34], opset=18),
    case("IsNaN", [np.array([1.0, np.nan, np.inf], np.float32)]),
    case("IsInf", [np.array([1.0, -np.inf, np.inf], np.float32)]),
    case("IsInf", [np.array([1.0, -np.inf, np.inf], np.float32)], {"detect_negative": 0},
         id="IsInf-positive"),
    case("Not", [x34 > 0]),
    # binary, broadcasting
    case("Add", [x2345, rnd(4, 5)]), case("Sub", [rnd(3, 1), rnd(1, 4)]),
    case("Mul", [x2345, Init(rnd(3, 1, 1))], id="Mul-initializer"),
    case("Div", [x34, pos]), case("Div", [ints(5), i64(2, 3, -2, 4, 7)], id="Div-int"),
    case("Pow", [pos, x34]), case("Pow", [pos, np.array(3, np.int64)], id="Pow-int-exp"),
    case("Mod", [ints(6), i64(3, -3, 4, 2, -5, 7)], id="Mod-int"),
    case("Mod", [x34, pos], {"fmod": 1}, id="Mod-fmod"),
    case("MatMul", [rnd(2, 3, 4), rnd(4, 5)]), case("MatMul", [rnd(4), rnd(2, 4, 3)],
                                                    id="MatMul-vector"),
    case("Equal", [ints(3, 4, lo=0, hi=3), ints(4, lo=0, hi=3)]),
    case("Less", [x34, rnd(4)]), case("LessOrEqual", [x34, x34]),
    case("Greater", [x34, rnd(4)]), case("GreaterOrEqual", [x34, rnd(3, 1)]),
    case("And", [x34 > 0, rnd(4) > 0]), case("Or", [x34 > 0, rnd(4) > 0]),
    case("Xor", [x34 > 0, rnd(4) > 0]),
    case("BitShift", [np.array([1, 8, 16], np.uint8), np.array([1, 2, 3], np.uint8)],
         {"direction": "RIGHT"}),
    *[case(op, [ints(3, 4, lo=-50, hi=50, dtype=np.int32), ints(4, lo=-50, hi=50,
                                                                dtype=np.int32)], opset=18)
      for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor")],
    case("BitwiseNot", [ints(3, 4, lo=0, hi=200, dtype=np.uint8)], opset=18),
    case("Where", [x34 > 0, x34, rnd(4)]),
    case("Max", [x34, rnd(4), rnd(3, 1)]), case("Min", [x34, rnd(4)]),
    case("Sum", [x34, rnd(4), rnd(3, 1)]), case("Mean", [x34, rnd(4)]),
    case("Max", [x34], id="Max-one"),
    case("Clip", [x34], {"min": -0.5, "max": 0.5}, opset=7),
    case("Clip", [x34, Init(np.float32(-0.5)), Init(np.float32(0.7))], opset=13),
    case("Clip", [x34, Init(np.float32(-0.5))], opset=13, id="Clip-min-only"),
    case("Clip", [x34, None, Init(np.float32(0.2))], opset=13, id="Clip-max-only"),
    case("Clip", [ints(8), Init(np.int64(-2)), Init(np.int64(3))], opset=13, id="Clip-int"),
    # activations
    case("LeakyRelu", [x34], {"alpha": 0.2}), case("Elu", [x34], {"alpha": 0.7}),
    case("Selu", [x34]), case("Selu", [x34], {"alpha": 1.5, "gamma": 2.0}, id="Selu-attrs"),
    case("Celu", [x34], {"alpha": 1.3}), case("ThresholdedRelu", [x34], {"alpha": 0.5}),
    case("HardSigmoid", [x34 * 4], {"alpha": 0.3, "beta": 0.4}),
    case("Gelu", [x34], opset=20), case("Gelu", [x34], {"approximate": "tanh"}, opset=20,
                                        id="Gelu-tanh"),
    case("PRelu", [img, Init(rnd(3, 1, 1))]), case("PRelu", [x34, Init(rnd(4))],
                                                   id="PRelu-last-axis"),
    case("Shrink", [x34], {"lambd": 0.6, "bias": 0.3}),
    case("Softmax", [x2345]), case("Softmax", [x2345], {"axis": 1}, id="Softmax-axis1"),
    case("Softmax", [x2345], {"axis": 1}, opset=11, id="Softmax-opset11-coerced"),
    case("LogSoftmax", [x2345], {"axis": 2}), case("LogSoftmax", [x2345], opset=11),
    case("Hardmax", [x2345], {"axis": 2}), case("Hardmax", [x2345], opset=12),
    case("LpNormalization", [x34], {"axis": 1, "p": 2}),
    case("LpNormalization", [x34], {"axis": 0, "p": 1}, id="LpNormalization-p1"),
    case("MeanVarianceNormalization", [x2345]),
    # linear algebra
    case("Gemm", [x34, Init(rnd(5, 4)), Init(rnd(5))], {"transB": 1}, id="Gemm-linear"),
    case("Gemm", [rnd(4, 3), rnd(4, 5), rnd(1, 5)],
         {"transA": 1, "alpha": 0.5, "beta": 2.0}, id="Gemm-transA-alpha-beta"),
    case("Gemm", [x34, rnd(5, 4), rnd(3, 5)], {"transB": 1, "alpha": 1.5}, id="Gemm-C2d"),
    case("Gemm", [x34, rnd(4, 5)], opset=13, id="Gemm-noC"),
    case("Einsum", [rnd(2, 3, 4), rnd(2, 4, 5)], {"equation": "bij,bjk->bik"}),
    case("Einsum", [x34], {"equation": "ij->ji"}, id="Einsum-transpose"),
    case("Det", [rnd(2, 3, 3)]),
    # convolution
    case("Conv", [img, Init(rnd(4, 3, 3, 3)), Init(rnd(4))], {"pads": [1, 1, 1, 1]}),
    case("Conv", [img, Init(rnd(6, 1, 3, 2))], {"group": 3, "strides": [2, 1]},
         id="Conv-groups-strides"),
    case("Conv", [img, Init(rnd(4, 3, 3, 3))], {"dilations": [2, 1], "pads": [2, 0, 1, 1]},
         id="Conv-dilation-asymmetric-pads"),
    case("Conv", [img, Init(rnd(4, 3, 3, 3))], {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
         id="Conv-same-upper"),
    case("Conv", [img, Init(rnd(4, 3, 2, 2))], {"auto_pad": "SAME_LOWER"},
         id="Conv-same-lower"),
    case("Conv", [img, Init(rnd(4, 3, 3, 3))], {"auto_pad": "VALID"}, id="Conv-valid"),
    case("Conv", [rnd(2, 3, 9), Init(rnd(4, 3, 3)), Init(rnd(4))], {"pads": [1, 2]},
         id="Conv-1d"),
    case("Conv", [rnd(1, 2, 4, 5, 6), Init(rnd(3, 2, 2, 3, 2))], {"strides": [1, 2, 1]},
         id="Conv-3d"),
    case("ConvTranspose", [img, Init(rnd(3, 4, 3, 3)), Init(rnd(4))], {"strides": [2, 2]}),
    case("ConvTranspose", [img, Init(rnd(3, 2, 3, 3))],
         {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 0]},
         id="ConvTranspose-pads-output-padding"),
    case("ConvTranspose", [img, Init(rnd(3, 2, 3, 3))],
         {"strides": [2, 3], "pads": [0, 1, 2, 1]}, id="ConvTranspose-asymmetric-pads"),
    case("ConvTranspose", [img, Init(rnd(3, 2, 3, 3))],
         {"strides": [2, 2], "output_shape": [15, 18]}, id="ConvTranspose-output-shape"),
    case("ConvTranspose", [img, Init(rnd(3, 2, 3, 3))],
         {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, id="ConvTranspose-same-upper"),
    case("ConvTranspose", [img, Init(rnd(3, 2, 3, 3))],
         {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, id="ConvTranspose-same-lower"),
    case("ConvTranspose", [img, Init(rnd(3, 2, 2, 3))],
         {"group": 3, "dilations": [2, 1]}, id="ConvTranspose-group-dilation"),
    case("ConvTranspose", [rnd(2, 3, 6), Init(rnd(3, 2, 4))], {"strides": [3]},
         id="ConvTranspose-1d"),
    # pooling
    case("MaxPool", [img], {"kernel_shape": [2, 2], "strides": [2, 2]}),
    case("MaxPool", [img], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
         id="MaxPool-ceil"),
    case("MaxPool", [img], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
                            "strides": [2, 2], "ceil_mode": 1}, id="MaxPool-pads-ceil"),
    case("MaxPool", [img], {"kernel_shape": [3, 2], "pads": [0, 1, 2, 1]},
         id="MaxPool-asymmetric-pads"),
    case("MaxPool", [img], {"kernel_shape": [2, 2], "dilations": [2, 2]},
         id="MaxPool-dilation"),
    case("MaxPool", [img], {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER",
                            "strides": [2, 2]}, id="MaxPool-same-upper"),
    case("MaxPool", [img], {"kernel_shape": [2, 3], "strides": [2, 2]}, n_out=2,
         id="MaxPool-indices"),
    case("MaxPool", [img], {"kernel_shape": [3, 3], "pads": [2, 1, 0, 1]}, n_out=2,
         id="MaxPool-indices-asymmetric-pads"),
    case("MaxPool", [rnd(2, 3, 9)], {"kernel_shape": [3], "strides": [2]}, id="MaxPool-1d"),
    case("MaxPool", [rnd(1, 2, 5, 6, 4)], {"kernel_shape": [2, 2, 2]}, id="MaxPool-3d"),
    case("AveragePool", [img], {"kernel_shape": [2, 2], "strides": [2, 2]}),
    case("AveragePool", [img], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
         id="AveragePool-pads-exclude"),
    case("AveragePool", [img], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
                                "count_include_pad": 1}, id="AveragePool-pads-include"),
    case("AveragePool", [img], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1,
                                "pads": [1, 1, 1, 1]}, id="AveragePool-ceil-exclude"),
    case("AveragePool", [img], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1,
                                "pads": [1, 1, 1, 1], "count_include_pad": 1},
         id="AveragePool-ceil-include"),
    case("AveragePool", [img], {"kernel_shape": [3, 2], "pads": [2, 0, 0, 1]},
         id="AveragePool-asymmetric-exclude"),
    case("AveragePool", [img], {"kernel_shape": [3, 2], "pads": [2, 0, 0, 1],
                                "count_include_pad": 1, "strides": [2, 2], "ceil_mode": 1},
         id="AveragePool-asymmetric-include-ceil"),
    case("AveragePool", [img], {"kernel_shape": [2, 2], "dilations": [2, 2]}, opset=19,
         id="AveragePool-dilation"),
    case("AveragePool", [img], {"kernel_shape": [3, 3], "auto_pad": "SAME_LOWER"},
         id="AveragePool-same-lower"),
    case("AveragePool", [rnd(2, 3, 9)], {"kernel_shape": [4], "strides": [2]},
         id="AveragePool-1d"),
    case("GlobalAveragePool", [img]), case("GlobalMaxPool", [img]),
    case("GlobalLpPool", [img], {"p": 2}),
    # normalization
    case("BatchNormalization", [img, Init(rnd(3)), Init(rnd(3)), Init(rnd(3)),
                                Init(rnd(3, lo=0.5, hi=2))], {"epsilon": 1e-3}),
    case("BatchNormalization", [img, Init(rnd(3)), Init(rnd(3)), Init(rnd(3)),
                                Init(rnd(3, lo=0.5, hi=2))], {"training_mode": 1,
                                                              "momentum": 0.8},
         opset=15, n_out=3, id="BatchNormalization-training-mode"),
    case("BatchNormalization", [x34, Init(rnd(4)), Init(rnd(4)), Init(rnd(4)),
                                Init(rnd(4, lo=0.5, hi=2))], id="BatchNormalization-2d"),
    case("LayerNormalization", [x2345, Init(rnd(5)), Init(rnd(5))]),
    case("LayerNormalization", [x2345, Init(rnd(3, 4, 5))], {"axis": 1}, n_out=3,
         id="LayerNormalization-axis1-stats"),
    case("InstanceNormalization", [img, Init(rnd(3)), Init(rnd(3))], {"epsilon": 1e-4}),
    case("GroupNormalization", [rnd(2, 6, 4, 5), Init(rnd(6)), Init(rnd(6))],
         {"num_groups": 3}, opset=21),
    case("LRN", [rnd(2, 6, 4, 5)], {"size": 3, "alpha": 0.01, "beta": 0.6, "bias": 1.5}),
    case("LRN", [rnd(2, 6, 4, 5)], {"size": 5}, id="LRN-5"),
    case("Dropout", [x34]), case("Dropout", [x34], n_out=2, id="Dropout-mask"),
    case("Dropout", [x34], {"ratio": 0.3}, opset=10, n_out=2),
    # shapes
    case("Reshape", [x2345, Init(i64(0, -1, 5))]),
    case("Reshape", [x2345, Init(i64(2, 0, 20))], id="Reshape-zero-copies"),
    case("Flatten", [x2345]), case("Flatten", [x2345], {"axis": 0}, id="Flatten-0"),
    case("Flatten", [x2345], {"axis": -1}, id="Flatten-neg"),
    case("Transpose", [x2345], {"perm": [0, 3, 1, 2]}),
    case("Transpose", [x2345], id="Transpose-default"),
    case("Squeeze", [rnd(1, 3, 1, 4)], {"axes": [0, -2]}, opset=11),
    case("Squeeze", [rnd(1, 3, 1, 4), Init(i64(2))], opset=13),
    case("Squeeze", [rnd(1, 3, 1, 4)], opset=13, id="Squeeze-all"),
    case("Unsqueeze", [x34], {"axes": [0, 3]}, opset=11),
    case("Unsqueeze", [x34, Init(i64(-1, 1))], opset=13),
    case("Concat", [x34, rnd(2, 4), rnd(1, 4)], {"axis": 0}),
    case("Concat", [x34, rnd(3, 2)], {"axis": -1}, id="Concat-neg"),
    case("Split", [rnd(6, 4)], {"axis": 0, "split": [2, 4]}, opset=11, n_out=2),
    case("Split", [rnd(6, 4), Init(i64(1, 3))], {"axis": 1}, opset=13, n_out=2),
    case("Split", [rnd(6, 4)], {"axis": 0}, opset=13, n_out=3, id="Split-equal"),
    case("Split", [rnd(7, 4)], {"axis": 0, "num_outputs": 3}, opset=18, n_out=3),
    case("Slice", [x2345], {"starts": [1, 0], "ends": [2, 3], "axes": [0, 2]}, opset=9),
    case("Slice", [x2345, Init(i64(1, -1)), Init(i64(3, -5)), Init(i64(1, 3)),
                   Init(i64(1, -2))], opset=13, id="Slice-negative-steps"),
    case("Slice", [x2345, Init(i64(0)), Init(i64(9223372036854775807)), Init(i64(3)),
                   Init(i64(2))], opset=13, id="Slice-int-max"),
    case("Slice", [x2345, Init(i64(-1, 10)), Init(i64(-10, -100)), Init(i64(3, 2)),
                   Init(i64(-1, -2))], opset=13, id="Slice-reverse-clamped"),
    case("Slice", [x34, Init(i64(1)), Init(i64(3))], opset=13, id="Slice-default-axes"),
    case("Expand", [rnd(3, 1), Init(i64(2, 1, 4))]),
    case("Expand", [rnd(3, 4), Init(i64(1, 1))], id="Expand-bidirectional"),
    case("Tile", [x34, Init(i64(2, 3))]),
    case("Shape", [x2345]),
    case("Shape", [x2345], {"start": 1, "end": -1}, opset=15, id="Shape-start-end"),
    case("Size", [x2345]),
    case("ConstantOfShape", [Init(i64(2, 3))]),
    case("ConstantOfShape", [Init(i64(2, 3))],
         {"value": numpy_helper.from_array(np.array([7], np.int32)) if onnx else None},
         id="ConstantOfShape-int"),
    case("Cast", [x34 * 3], {"to": TensorProto.INT32 if onnx else 0}),
    case("Cast", [ints(3, 4)], {"to": TensorProto.FLOAT if onnx else 0}, id="Cast-to-float"),
    case("Cast", [x34], {"to": TensorProto.BOOL if onnx else 0}, id="Cast-to-bool"),
    case("CastLike", [ints(3, 4), rnd(1)]),
    case("EyeLike", [rnd(3, 4)], {"k": 1}),
    case("DepthToSpace", [rnd(2, 8, 3, 4)], {"blocksize": 2}),
    case("DepthToSpace", [rnd(2, 8, 3, 4)], {"blocksize": 2, "mode": "CRD"},
         id="DepthToSpace-CRD"),
    case("SpaceToDepth", [rnd(2, 3, 4, 6)], {"blocksize": 2}),
    case("Trilu", [rnd(2, 4, 5)]),
    case("Trilu", [rnd(2, 4, 5), Init(np.int64(-1))], {"upper": 0}, id="Trilu-lower-k"),
    case("Range", [Init(np.float32(0.5)), Init(np.float32(3.2)), Init(np.float32(0.7))]),
    case("Range", [Init(np.int64(10)), Init(np.int64(1)), Init(np.int64(-3))],
         id="Range-int-negative"),
    # indexing
    case("Gather", [x2345, Init(i64(2, 0, -1))], {"axis": 1}),
    case("Gather", [x2345, Init(np.array([[0, 1], [-1, 2]], np.int32))], {"axis": 3},
         id="Gather-2d-int32"),
    case("Gather", [x2345, Init(np.int64(-2))], {"axis": 2}, id="Gather-scalar"),
    case("Gather", [x34, ints(2, 2, lo=-3, hi=3)], id="Gather-runtime-indices"),
    case("GatherElements", [x34, ints(3, 2, lo=-4, hi=4)], {"axis": 1}),
    case("GatherND", [x2345, ints(4, 2, lo=0, hi=2)]),
    case("GatherND", [x2345, ints(2, 3, 1, lo=0, hi=3)], {"batch_dims": 1},
         id="GatherND-batch"),
    case("ScatterElements", [x34, i64([0, 2], [1, 3], [3, 0]), rnd(3, 2)], {"axis": 1}),
    case("ScatterElements", [x34, i64([0, 1], [1, 3], [3, 0]), rnd(3, 2)],
         {"axis": 1, "reduction": "add"}, id="ScatterElements-add"),
    case("Scatter", [x34, i64([0, 2], [1, 3], [3, 0]), rnd(3, 2)], {"axis": 1}, opset=10),
    case("ScatterND", [x34, i64([1], [0]), rnd(2, 4)]),
    case("ScatterND", [x34, i64([1, 2], [0, 0]), rnd(2)], {"reduction": "add"},
         opset=16, id="ScatterND-add"),
    case("OneHot", [ints(2, 3, lo=-4, hi=4), Init(np.int64(4)),
                    Init(np.array([0.0, 2.0], np.float32))], {"axis": 1}),
    case("NonZero", [x34 > 0]),
    case("ArgMax", [x2345], {"axis": 2}),
    case("ArgMin", [x2345], {"axis": -1, "keepdims": 0}),
    case("ArgMax", [np.array([[1, 3, 3], [2, 2, 0]], np.float32)],
         {"axis": 1, "select_last_index": 1}, id="ArgMax-last"),
    case("TopK", [x2345, Init(i64(3))], {"axis": 2}, n_out=2),
    case("TopK", [x2345, Init(i64(2))], {"largest": 0}, n_out=2, id="TopK-smallest"),
    case("TopK", [x2345], {"k": 3, "axis": 1}, opset=9, n_out=2),
    case("CumSum", [x34, Init(np.int64(1))]),
    case("CumSum", [x34, Init(np.int64(0))], {"exclusive": 1, "reverse": 1},
         id="CumSum-exclusive-reverse"),
    # reductions
    *[case(op, [x2345], {"axes": [1, -1], "keepdims": 0}, opset=13, id=f"{op}-attr-axes")
      for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                 "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare")],
    *[case(op, [x2345 if op != "ReduceLogSum" else np.abs(x2345) + 0.1, Init(i64(0, 2))],
           opset=18, id=f"{op}-input-axes")
      for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                 "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")],
    case("ReduceSum", [x2345, Init(i64(1))], opset=13),
    case("ReduceSum", [x2345], {"axes": [2]}, opset=11, id="ReduceSum-opset11"),
    case("ReduceSum", [x2345], {"keepdims": 0}, opset=13, id="ReduceSum-all"),
    case("ReduceSum", [x2345, Init(np.zeros(0, np.int64))], {"noop_with_empty_axes": 1},
         opset=13, id="ReduceSum-noop"),
    case("ReduceMean", [x2345], opset=18, id="ReduceMean-all"),
    # padding and resizing
    case("Pad", [img, Init(i64(0, 0, 1, 2, 0, 0, 2, 1)), Init(np.float32(1.5))], opset=13),
    case("Pad", [img, Init(i64(0, 1, 1, 0, 0, 2, 1, 2))], {"mode": "reflect"},
         id="Pad-reflect"),
    case("Pad", [img, Init(i64(0, 0, 3, 1, 0, 0, 2, 4))], {"mode": "edge"}, id="Pad-edge"),
    case("Pad", [img, Init(i64(0, 0, 2, 1, 0, 0, 1, 3))], {"mode": "wrap"}, opset=19,
         id="Pad-wrap"),
    case("Pad", [img, Init(i64(0, 0, -1, 2, 0, 0, 1, -2))], id="Pad-negative"),
    case("Pad", [img, Init(i64(1, 2, 2, 1)), None, Init(i64(2, -1))], opset=18,
         id="Pad-axes"),
    case("Pad", [img], {"pads": [0, 0, 1, 1, 0, 0, 1, 1], "value": 2.0}, opset=10,
         id="Pad-opset10"),
    case("Pad", [ints(3, 4), Init(i64(1, 1, 0, 2)), Init(np.int64(9))], id="Pad-int"),
    case("Resize", [img, None, Init(np.array([1, 1, 2, 3], np.float32))],
         {"mode": "nearest"}, opset=13, id="Resize-nearest-scales"),
    case("Resize", [img, None, Init(np.array([1, 1, 0.6, 0.5], np.float32))],
         {"mode": "nearest", "nearest_mode": "floor",
          "coordinate_transformation_mode": "asymmetric"}, id="Resize-nearest-floor-down"),
    case("Resize", [img, None, None, Init(i64(2, 3, 11, 5))],
         {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
         id="Resize-nearest-sizes-ceil"),
    case("Resize", [img, None, None, Init(i64(2, 3, 13, 13))],
         {"mode": "nearest", "nearest_mode": "ceil",
          "coordinate_transformation_mode": "align_corners"}, id="Resize-nearest-ceil-ac"),
    case("Resize", [img, None, Init(np.array([1, 1, 2, 1.5], np.float32))],
         {"mode": "linear"}, id="Resize-linear-half-pixel"),
    case("Resize", [img, None, None, Init(i64(2, 3, 4, 13))],
         {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
         id="Resize-linear-align-corners"),
    case("Resize", [img, None, Init(np.array([1, 1, 0.5, 1.7], np.float32))],
         {"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
         id="Resize-linear-asymmetric"),
    case("Resize", [img, None, None, Init(i64(2, 3, 1, 12))],
         {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
         id="Resize-linear-pytorch-half-pixel"),
    case("Resize", [img, None, Init(np.array([1, 1, 2, 2], np.float32))],
         {"mode": "cubic"}, id="Resize-cubic"),
    case("Resize", [img, None, Init(np.array([1, 1, 1.5, 0.8], np.float32))],
         {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1},
         id="Resize-cubic-exclude-outside"),
    case("Resize", [img, Init(np.array([0, 0, 0.1, 0.2, 1, 1, 0.8, 0.9], np.float32)),
                    None, Init(i64(2, 3, 5, 6))],
         {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
          "extrapolation_value": 3.0}, id="Resize-tf-crop-and-resize"),
    case("Resize", [img, Init(np.array([0, 0, -0.2, 0.3, 1, 1, 1.1, 0.9], np.float32)),
                    None, Init(i64(2, 3, 6, 4))],
         {"mode": "nearest", "coordinate_transformation_mode": "tf_crop_and_resize",
          "extrapolation_value": -1.0}, id="Resize-tf-crop-extrapolate"),
    case("Resize", [img, None, None, Init(i64(5, 3))],
         {"mode": "linear", "axes": [2, 3]}, opset=18, id="Resize-axes"),
    case("Resize", [img, None, None, Init(i64(10, 20))],
         {"mode": "nearest", "axes": [2, 3], "keep_aspect_ratio_policy": "not_larger"},
         opset=18, id="Resize-not-larger"),
    case("Resize", [img, None, None, Init(i64(10, 20))],
         {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": "not_smaller"},
         opset=18, id="Resize-not-smaller"),
    case("Resize", [img, None, Init(np.array([1, 1, 1.5, 1.5], np.float32))],
         {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"},
         opset=19, id="Resize-half-pixel-symmetric"),
    case("Resize", [img, None, Init(np.array([1, 1, 0.5, 0.4], np.float32))],
         {"mode": "linear", "antialias": 1}, opset=18, id="Resize-linear-antialias"),
    case("Resize", [img, None, Init(np.array([1, 1, 0.6, 0.5], np.float32))],
         {"mode": "cubic", "antialias": 1}, opset=18, id="Resize-cubic-antialias"),
    case("Resize", [img, Init(np.array([1, 1, 2, 2], np.float32))], {"mode": "nearest"},
         opset=10, id="Resize-opset10"),
    case("Upsample", [img, Init(np.array([1, 1, 2, 3], np.float32))], {"mode": "nearest"},
         opset=9),
    case("Upsample", [img], {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 2.0]}, opset=7),
    case("Upsample", [img, Init(np.array([1, 1, 2, 2], np.float32))], {"mode": "linear"},
         opset=9, id="Upsample-linear"),
    # quantization
    case("QuantizeLinear", [x34 * 20, Init(np.float32(0.5)), Init(np.uint8(128))]),
    case("QuantizeLinear", [img * 20, Init(rnd(3, lo=0.1, hi=1)),
                            Init(np.array([0, 3, -2], np.int8))], id="QuantizeLinear-axis"),
    case("DequantizeLinear", [ints(3, 4, lo=0, hi=255, dtype=np.uint8),
                              Init(np.float32(0.1)), Init(np.uint8(100))]),
    case("DequantizeLinear", [ints(2, 3, 4, lo=-100, hi=100, dtype=np.int8),
                              Init(rnd(3, lo=0.1, hi=1))], id="DequantizeLinear-axis"),
]


@pytest.mark.parametrize("op_type, args, attrs, opset, n_out", CASES)
def test_op_matches_onnxruntime(op_type, args, attrs, opset, n_out):
    model, feeds = single_node(op_type, args, attrs, opset=opset, n_out=n_out)
    compare(model, feeds)


GRADCHECK_IDS = [
    "Slice-negative-steps", "Slice-reverse-clamped", "Pad-reflect", "Pad-edge", "Pad-wrap",
    "Pad-negative", "Resize-linear-half-pixel", "Resize-cubic-exclude-outside",
    "Resize-linear-antialias", "Resize-tf-crop-and-resize", "AveragePool-asymmetric-include-ceil",
    "AveragePool-dilation", "MaxPool-indices-asymmetric-pads", "ConvTranspose-asymmetric-pads",
    "ConvTranspose-output-shape", "Conv-dilation-asymmetric-pads", "LRN-opset17",
    "GatherND-batch", "CumSum-exclusive-reverse", "LayerNormalization-axis1-stats",
    "ReduceProd-input-axes", "ReduceLogSumExp-attr-axes", "Gemm-transA-alpha-beta",
    "PRelu-opset17", "Selu-attrs", "HardSigmoid-opset17", "DepthToSpace-CRD", "Expand-opset17",
    "Split-opset18", "Einsum-opset17", "Softmax-opset11-coerced", "Trilu-lower-k",
    "LpNormalization-opset17", "MeanVarianceNormalization-opset17", "Shrink-opset17"]
_BY_ID = {p.id: p for p in CASES}


@pytest.mark.parametrize("case_id", GRADCHECK_IDS)
def test_imported_ops_gradcheck(case_id):
    """The ops computed with ember ops are differentiable: gradients with respect to the
    float inputs agree with finite differences (float64, via load's dtype=)."""
    op_type, args, attrs, opset, n_out = _BY_ID[case_id].values
    model, feeds = single_node(op_type, args, attrs, opset=opset, n_out=n_out)
    m = ember.onnx.load(model, dtype=ember.float64)
    inputs = tuple(ember.from_numpy(np.array(f, dtype=np.float64 if f.dtype.kind == "f"
                                             else f.dtype)).requires_grad_(f.dtype.kind == "f")
                   for f in feeds)

    def fn(*xs):
        out = m(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        return tuple(o for o in outs if o.dtype.is_floating_point)

    assert ember.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind, kw", [
    ("LSTM", {"peep": True, "h0": True, "c0": True, "clip": 5.0}),
    ("LSTM", {"seq_lens": [3, 1, 2], "direction": "bidirectional"}),
    ("GRU", {"h0": True}), ("GRU", {"linear_before_reset": 1, "direction": "reverse"}),
    ("RNN", {"activations": ["Tanh"], "seq_lens": [2, 3, 1]})])
def test_imported_recurrent_gradcheck(kind, kw):
    model, feeds = _rnn_model(kind, T=3, B=3, I=2, H=3, **kw)
    m = ember.onnx.load(model, dtype=ember.float64)
    inputs = tuple(ember.from_numpy(f.astype(np.float64)).requires_grad_() for f in feeds)
    assert ember.autograd.gradcheck(lambda *xs: m(*xs), inputs, eps=1e-6, atol=1e-5)


def test_group_normalization_opset18_per_group_scale():
    """GroupNormalization-18 (deprecated by 21, which the checker reports) scales each group,
    not each channel."""
    model, feeds = single_node("GroupNormalization", [rnd(2, 6, 4, 5), Init(rnd(3)),
                                                      Init(rnd(3))],
                               {"num_groups": 3, "epsilon": 1e-3}, opset=18)
    compare(model, feeds)


def test_constant_node_forms():
    """Constant's value forms, folded at load time into constants (not parameters)."""
    nodes = [
        helper.make_node("Constant", [], ["a"], value=numpy_helper.from_array(rnd(3, 4))),
        helper.make_node("Constant", [], ["b"], value_float=2.5),
        helper.make_node("Constant", [], ["c"], value_floats=[1.0, 2.0, 3.0, 4.0]),
        helper.make_node("Constant", [], ["s"], value_ints=[4, 3]),
        helper.make_node("Mul", ["a", "b"], ["ab"]),
        helper.make_node("Add", ["ab", "c"], ["abc"]),
        helper.make_node("Reshape", ["abc", "s"], ["r"]),
        helper.make_node("Add", ["r", "x"], ["y"]),
    ]
    model = make_model(nodes, [("x", rnd(4, 3))])
    m = compare(model, [rnd(4, 3)])
    assert list(m.parameters()) == [] and m.state_dict() == {}
    assert [s.op_type for s in m._onnx_steps] == ["Add"]       # the rest was folded


# ---------------------------------------------------------------------------------------
# recurrent layers

def _rnn_model(kind, T=5, B=3, I=4, H=6, direction="forward", bias=True, h0=False,
               c0=False, seq_lens=None, peep=False, layout=0, opset=14, **attrs):
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    D = 2 if direction == "bidirectional" else 1
    x = rnd(T, B, I) if not layout else rnd(B, T, I)
    args = [x, Init(rnd(D, gates * H, I, lo=-0.5, hi=0.5)),
            Init(rnd(D, gates * H, H, lo=-0.5, hi=0.5))]
    args.append(Init(rnd(D, 2 * gates * H, lo=-0.5, hi=0.5)) if bias else None)
    args.append(Init(np.asarray(seq_lens, np.int32)) if seq_lens is not None else None)
    hshape = (D, B, H) if not layout else (B, D, H)
    args.append(rnd(*hshape) if h0 else None)
    if kind == "LSTM":
        args.append(rnd(*hshape) if c0 else None)
        args.append(Init(rnd(D, 3 * H, lo=-0.5, hi=0.5)) if peep else None)
    while args[-1] is None:
        args.pop()
    n_out = 3 if kind == "LSTM" else 2
    attrs = dict(attrs, hidden_size=H, direction=direction)
    if layout:
        attrs["layout"] = 1
    return single_node(kind, args, attrs, opset=opset, n_out=n_out)


RNN_CASES = [
    ("LSTM", {}), ("LSTM", {"direction": "bidirectional", "h0": True, "c0": True}),
    ("LSTM", {"direction": "reverse", "bias": False}),
    ("LSTM", {"seq_lens": [5, 2, 4], "direction": "bidirectional", "h0": True}),
    ("LSTM", {"peep": True, "h0": True, "c0": True}),
    ("LSTM", {"clip": 0.5, "input_forget": 1}),
    ("LSTM", {"activations": ["HardSigmoid", "LeakyRelu", "Softsign"],
              "activation_alpha": [0.3, 0.05], "activation_beta": [0.4]}),
    ("GRU", {"linear_before_reset": 1}),
    ("GRU", {"linear_before_reset": 1, "direction": "bidirectional", "h0": True}),
    ("GRU", {}),                                        # linear_before_reset=0
    ("GRU", {"seq_lens": [1, 5, 3], "direction": "reverse", "linear_before_reset": 1}),
    ("GRU", {"seq_lens": [1, 5, 3], "h0": True}),
    ("RNN", {}), ("RNN", {"activations": ["Relu"], "h0": True}),
    ("RNN", {"direction": "bidirectional", "activations": ["Tanh", "Relu"]}),
    ("RNN", {"seq_lens": [2, 5, 4], "opset": 7}),
]


@pytest.mark.parametrize("kind, kw", RNN_CASES,
                         ids=[f"{k}-{'-'.join(sorted(kw)) or 'plain'}" for k, kw in RNN_CASES])
def test_recurrent_matches_onnxruntime(kind, kw):
    model, feeds = _rnn_model(kind, **kw)
    compare(model, feeds)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_batch_first_layout(kind):
    """layout=1 (opset 14; onnxruntime runs only layout=0): the same as layout 0 on
    transposed tensors."""
    extra = {"linear_before_reset": 1} if kind == "GRU" else {}
    model, feeds = _rnn_model(kind, direction="bidirectional", h0=True, c0=True, **extra)
    expected = compare(model, feeds)(*[ember.from_numpy(f) for f in feeds])
    node = model.graph.node[0]
    node.attribute.append(helper.make_attribute("layout", 1))
    batch_first = ember.onnx.load(model)
    got = batch_first(*[ember.from_numpy(np.ascontiguousarray(np.swapaxes(f, 0, 1)))
                        for f in feeds])
    np.testing.assert_allclose(got[0].detach().numpy(),
                               expected[0].detach().numpy().transpose(2, 0, 1, 3), atol=1e-6)
    for g, e in zip(got[1:], expected[1:]):
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy().swapaxes(0, 1),
                                   atol=1e-6)


def test_recurrent_fast_path_gradients_match_loop():
    """The fused layer (PyTorch's equations) and the step-by-step recurrence give the same
    outputs and gradients for a GRU with linear_before_reset=1."""
    from ember.onnx import _import_ops as ops
    model, feeds = _rnn_model("GRU", direction="bidirectional", h0=True,
                              linear_before_reset=1)
    m = ember.onnx.load(model)
    x = ember.from_numpy(feeds[0]).requires_grad_()
    y, h = m(x, ember.from_numpy(feeds[1]))
    (y.sum() + (h * h).sum()).backward()
    grads = [p.grad.numpy().copy() for p in m.parameters()] + [x.grad.numpy().copy()]
    m2 = ember.onnx.load(model)
    x2 = ember.from_numpy(feeds[0]).requires_grad_()
    original = ops._fast_ok
    ops._fast_ok = lambda *a: False
    try:
        y2, h2 = m2(x2, ember.from_numpy(feeds[1]))
    finally:
        ops._fast_ok = original
    (y2.sum() + (h2 * h2).sum()).backward()
    np.testing.assert_allclose(y2.detach().numpy(), y.detach().numpy(), atol=1e-5)
    for g, p in zip(grads, list(m2.parameters()) + [x2]):
        np.testing.assert_allclose(p.grad.numpy(), g, atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------------------------------
# a small zoo-style CNN

def zoo_cnn(batch="N"):
    """Conv-BN-Relu-MaxPool, Conv-Clip-swish (Sigmoid, Mul) + residual Add, Resize, Pad,
    Concat, GlobalAveragePool, Flatten, Gemm, Softmax -- with PyTorch-exporter-style names
    (dots, and an ``onnx::`` name from constant folding)."""
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.weight", "bn1.bias",
                                                "bn1.running_mean", "bn1.running_var"],
                         ["b1"], epsilon=1e-5),
        helper.make_node("Relu", ["b1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "onnx::Conv_42", "layer.0.bias"], ["c2"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c2", "clip_min", "clip_max"], ["cl"]),
        helper.make_node("Sigmoid", ["cl"], ["sg"]),
        helper.make_node("Mul", ["cl", "sg"], ["sw"]),
        helper.make_node("Add", ["sw", "p1"], ["res"]),
        helper.make_node("Resize", ["res", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Pad", ["up", "pads"], ["pu"]),
        helper.make_node("Pad", ["r1", "pads"], ["pr"]),
        helper.make_node("Concat", ["pu", "pr"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    inits = [("conv1.weight", rnd(8, 3, 3, 3, lo=-0.3, hi=0.3)), ("conv1.bias", rnd(8)),
             ("bn1.weight", rnd(8, lo=0.5, hi=1.5)), ("bn1.bias", rnd(8)),
             ("bn1.running_mean", rnd(8)), ("bn1.running_var", rnd(8, lo=0.5, hi=2.0)),
             ("onnx::Conv_42", rnd(8, 8, 3, 3, lo=-0.2, hi=0.2)),
             ("layer.0.bias", rnd(8)),
             ("clip_min", np.float32(0.0)), ("clip_max", np.float32(6.0)),
             ("scales", np.array([1, 1, 2, 2], np.float32)),
             ("pads", i64(0, 0, 1, 1, 0, 0, 1, 1)),
             ("fc.weight", rnd(10, 16, lo=-0.5, hi=0.5)), ("fc.bias", rnd(10))]
    graph = helper.make_graph(
        nodes, "zoo",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 16, 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, 10])],
        initializer=[numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="pytorch", ir_version=8)
    onnx.checker.check_model(model)
    return model


def test_zoo_cnn_matches_onnxruntime():
    model = zoo_cnn()
    for batch in (2, 5):
        compare(model, [rnd(batch, 3, 16, 16)])


def test_zoo_cnn_names_and_kinds():
    m = ember.onnx.load(zoo_cnn())
    params = dict(m.named_parameters())
    buffers = dict(m.named_buffers())
    assert set(params) == {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias",
                           "onnx__Conv_42", "layer.0.bias", "fc.weight", "fc.bias"}
    assert set(buffers) == {"bn1.running_mean", "bn1.running_var"}
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params.values())
    # shape/config initializers stay constants, outside state_dict
    assert set(m.state_dict()) == set(params) | set(buffers)
    assert m.onnx_names["onnx::Conv_42"] == "onnx__Conv_42"
    assert m.onnx_names["layer.0.bias"] == "layer.0.bias"
    assert m.get_submodule("layer.0").bias is m.get_parameter("layer.0.bias")
    assert m.input_names == ["input"] and m.output_names == ["probs"] and m.opset == 13
    text = repr(m)
    for piece in ("opset=13", "producer='pytorch'", "input: float32[N, 3, 16, 16]",
                  "probs: float32[N, 10]", "Conv×2",
                  "(conv1): OnnxScope(weight: Parameter[8, 3, 3, 3], bias: Parameter[8])",
                  "running_mean: buffer(float32)[8]"):
        assert piece in text, (piece, text)


def test_zoo_cnn_trains():
    m = ember.onnx.load(zoo_cnn())
    x = ember.from_numpy(rnd(8, 3, 16, 16))
    target = ember.from_numpy(R.integers(0, 10, 8))
    opt = ember.optim.Adam(m.parameters(), lr=0.01)
    losses = []
    for _ in range(6):
        probs = m(x)
        loss = nn.functional.nll_loss(ember.log(probs), target)
        opt.zero_grad()
        loss.backward()
        for name, p in m.named_parameters():
            assert p.grad is not None and p.grad.shape == p.shape, name
            assert np.isfinite(p.grad.numpy()).all(), name
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses
    assert all(b.grad is None for b in m.buffers())


def test_trains_with_sgd_on_mlp():
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Tanh", ["h"], ["t"]),
             helper.make_node("MatMul", ["t", "w2"], ["y"])]
    model = make_model(nodes, [("x", rnd(16, 5))],
                       [("w1", rnd(8, 5, lo=-0.5, hi=0.5)), ("b1", rnd(8)),
                        ("w2", rnd(8, 1, lo=-0.5, hi=0.5))])
    m = ember.onnx.load(model)
    x = ember.from_numpy(rnd(16, 5))
    y = (x.sum(1, keepdim=True) * 0.3).detach()
    opt = ember.optim.SGD(m.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        loss = ((m(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_dropout_in_training_mode():
    """Dropout with training_mode=True (a constant input) drops at random and scales the
    rest; the mask output says which were kept."""
    model, feeds = single_node("Dropout", [rnd(200, 50, lo=1, hi=2), Init(np.float32(0.3)),
                                           Init(np.array(True))], n_out=2)
    m = ember.onnx.load(model)
    x = ember.from_numpy(feeds[0])
    y, mask = m(x)
    mask = mask.numpy()
    assert mask.dtype == np.bool_ and 0.25 < 1 - mask.mean() < 0.35
    np.testing.assert_allclose(y.numpy(), np.where(mask, feeds[0] / 0.7, 0.0), rtol=1e-6)


def test_whole_module_save_load_and_deepcopy(tmp_path):
    """The plan holds functions, so pickling keeps the graph (without the weights, which
    are the module's own tensors) and rebuilds the plan on load."""
    import copy
    m = ember.onnx.load(zoo_cnn())
    x = ember.from_numpy(rnd(2, 3, 16, 16))
    ember.save(m, tmp_path / "whole.pt")
    loaded = ember.load(tmp_path / "whole.pt", weights_only=False)
    assert type(loaded) is type(m) and set(loaded.state_dict()) == set(m.state_dict())
    np.testing.assert_array_equal(loaded(x).detach().numpy(), m(x).detach().numpy())
    twin = copy.deepcopy(m)
    assert twin.fc.weight is not m.fc.weight
    with ember.no_grad():
        twin.fc.weight.mul_(2)
    assert not np.allclose(twin(x).detach().numpy(), m(x).detach().numpy())


def test_state_dict_round_trip_with_ember_save(tmp_path):
    model = zoo_cnn()
    m = ember.onnx.load(model)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    x = ember.from_numpy(rnd(4, 3, 16, 16))
    m(x).pow(2).sum().backward()
    opt.step()                                  # now differs from the file's weights
    path = tmp_path / "imported.pth"
    ember.save(m.state_dict(), path)
    fresh = ember.onnx.load(model)
    before = fresh(x).detach().numpy()
    fresh.load_state_dict(ember.load(path))
    expected = m(x).detach().numpy()
    np.testing.assert_array_equal(fresh(x).detach().numpy(), expected)
    assert not np.allclose(before, expected)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k].numpy(), v.numpy())


# ---------------------------------------------------------------------------------------
# input forms, names, dtypes

def test_accepts_path_bytes_file_and_proto(tmp_path):
    model = zoo_cnn()
    path = tmp_path / "zoo.onnx"
    onnx.save(model, str(path))
    x = ember.from_numpy(rnd(2, 3, 16, 16))
    outs = []
    for src in (str(path), path, model.SerializeToString(), io.BytesIO(
            model.SerializeToString()), model):
        outs.append(ember.onnx.load(src)(x).detach().numpy())
    with open(path, "rb") as f:
        outs.append(ember.onnx.load(f)(x).detach().numpy())
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    with pytest.raises(FileNotFoundError):
        ember.onnx.load(str(tmp_path / "missing.onnx"))
    with pytest.raises(TypeError, match="expected a path, bytes"):
        ember.onnx.load(3)
    with pytest.raises(ember.onnx.OnnxImportError, match="cannot parse"):
        ember.onnx.load(b"not a model")


def test_external_data_and_initializers_listed_as_inputs(tmp_path):
    """Weights in an external data file next to the model; initializers also declared as
    graph inputs (IR version 3 style) are weights, not forward inputs."""
    model = zoo_cnn()
    x = ember.from_numpy(rnd(2, 3, 16, 16))
    expected = ember.onnx.load(model)(x).detach().numpy()
    path = tmp_path / "external.onnx"
    listed = type(model)()
    listed.CopyFrom(model)
    onnx.save_model(model, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    np.testing.assert_array_equal(ember.onnx.load(path)(x).detach().numpy(), expected)
    listed.graph.input.extend(_info(t.name, numpy_helper.to_array(t))
                              for t in listed.graph.initializer)
    m = ember.onnx.load(listed)
    assert m.input_names == ["input"]
    np.testing.assert_array_equal(m(x).detach().numpy(), expected)


def test_inputs_by_position_and_name_several_outputs():
    nodes = [helper.make_node("Add", ["a.0", "b"], ["s"]),
             helper.make_node("Mul", ["a.0", "b"], ["p"])]
    model = make_model(nodes, [("a.0", rnd(3)), ("b", rnd(3))], outputs=["s", "p"])
    m = ember.onnx.load(model)
    a, b = ember.randn(3), ember.randn(3)
    s, p = m(a, b)
    np.testing.assert_allclose(s.numpy(), (a + b).numpy())
    np.testing.assert_allclose(p.numpy(), (a * b).numpy())
    for out in (m(a, b=b), m(b=b, **{"a.0": a}), m(b=b, a_0=a)):
        np.testing.assert_allclose(out[1].numpy(), (a * b).numpy())
    with pytest.raises(TypeError, match="missing input"):
        m(a)
    with pytest.raises(TypeError, match="unexpected keyword"):
        m(a, c=b)
    with pytest.raises(TypeError, match="takes 2 input"):
        m(a, b, a)
    with pytest.raises(TypeError, match="must have dtype"):
        m(ember.tensor([1, 2, 3]), b)
    with pytest.raises(ValueError, match="must have 1 dimensions"):
        m(ember.randn(3, 1), b)


def test_graph_output_that_is_an_input_or_initializer():
    nodes = [helper.make_node("Identity", ["x"], ["y"])]
    g = helper.make_graph(nodes, "g", [_info("x", rnd(2))],
                          [_info("y", rnd(2)), _info("x", rnd(2)), _info("w", rnd(2))],
                          initializer=[numpy_helper.from_array(rnd(2), "w")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    m = ember.onnx.load(model)
    x = ember.randn(2)
    y, x2, w = m(x)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert x2 is x
    np.testing.assert_array_equal(w.detach().numpy(), m.w.detach().numpy())


def test_name_sanitizing():
    names = ["fc.weight", "fc", "onnx::MatMul_7", "/block/conv/Constant_output_0", "forward",
             "9abc", "blk.0.w", "blk.0.w:0", ".x", "training"]
    nodes, inits, prev = [], [], "x"
    for k, n in enumerate(names):
        nodes.append(helper.make_node("Add", [prev, n], [f"t{k}"]))
        inits.append((n, rnd(2)))
        prev = f"t{k}"
    m = ember.onnx.load(make_model(nodes, [("x", rnd(2))], inits))
    keys = m.onnx_names
    assert keys["fc.weight"] == "fc.weight"
    assert keys["fc"] == "fc_1"                        # "fc" is already a submodule
    assert keys["onnx::MatMul_7"] == "onnx__MatMul_7"
    assert keys["/block/conv/Constant_output_0"] == "_block_conv_Constant_output_0"
    assert keys["forward"] == "forward_"
    assert keys["9abc"] == "_9abc"
    assert keys["blk.0.w"] == "blk.0.w" and keys["blk.0.w:0"] == "blk.0.w_0"
    assert keys[".x"] == "_.x"
    assert keys["training"] == "training_"
    assert set(m.state_dict()) == set(keys.values())
    assert len(set(keys.values())) == len(names)
    x = ember.randn(2)
    expected = x.numpy() + sum(a for _, a in inits)
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=1e-6)


def test_static_only_initializers_stay_constants_but_shared_ones_are_tensors():
    """An int initializer used both as a Reshape shape and as data is a buffer; a float one
    used only as Resize scales is a constant."""
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("Cast", ["shape"], ["sf"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["sf"], ["s"], keepdims=0),
             helper.make_node("Mul", ["r", "s"], ["y"])]
    model = make_model(nodes, [("x", rnd(2, 6))], [("shape", i64(3, 4))], outputs=["y"])
    m = compare(model, [rnd(2, 6)])
    assert set(m.state_dict()) == {"shape"} and list(m.parameters()) == []


def test_dtype_argument():
    model = zoo_cnn()
    m = ember.onnx.load(model, dtype=ember.float64)
    assert all(p.dtype == ember.float64 for p in m.parameters())
    x = rnd(2, 3, 16, 16)
    y = m(ember.from_numpy(x))
    assert y.dtype == ember.float64
    np.testing.assert_allclose(y.detach().numpy(), run_onnx(model, x)[0], atol=1e-5)
    with pytest.raises(TypeError, match="floating"):
        ember.onnx.load(model, dtype=ember.int32)


def test_module_to_double_converts_constants():
    nodes = [helper.make_node("Constant", [], ["c"], value_float=0.5),
             helper.make_node("Mul", ["x", "c"], ["m"]),
             helper.make_node("Add", ["m", "w"], ["y"])]
    model = make_model(nodes, [("x", rnd(3))], [("w", rnd(3))])
    m = ember.onnx.load(model).double()
    assert m(ember.randn(3, dtype=ember.float64)).dtype == ember.float64


# ---------------------------------------------------------------------------------------
# refusals

def test_unsupported_ops_are_all_listed_at_load_time():
    nms = helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["sel"])
    nms2 = helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["sel2"])
    uniq = helper.make_node("Unique", ["x"], ["u"])
    custom = helper.make_node("FusedThing", ["x"], ["f"], domain="com.example")
    bad_resize = helper.make_node("Resize", ["x", "", "sc"], ["r"], mode="area")
    body = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "body", [],
                             [_info("o", rnd(3))])
    cond = helper.make_node("If", ["flag"], ["i"], then_branch=body, else_branch=body)
    graph = helper.make_graph(
        [nms, nms2, uniq, custom, bad_resize, cond], "bad",
        [_info("boxes", rnd(1, 4, 4)), _info("scores", rnd(1, 1, 4)), _info("x", rnd(3)),
         _info("flag", np.array(True))],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("u", "f", "i")]
        + [helper.make_tensor_value_info(n, TensorProto.INT64, None) for n in ("sel",
                                                                              "sel2")]
        + [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([2.0], np.float32), "sc")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)],
                              ir_version=8)
    with pytest.raises(ember.onnx.OnnxImportError) as info:
        ember.onnx.load(model)
    msg = str(info.value)
    assert "NonMaxSuppression (opset 17): 2 nodes" in msg
    assert "Unique (opset 17): 1 node" in msg
    assert "com.example::FusedThing: 1 node" in msg
    assert "Resize (opset 17): mode='area' is not supported: 1 node" in msg
    assert "If (opset 17): 1 node" in msg
    assert "5 operator type(s)" in msg


def test_unknown_default_domain_op_listed_before_the_checker():
    nodes = [helper.make_node("NotAnOp", ["x"], ["a"]),
             helper.make_node("AlsoNotAnOp", ["a"], ["b"]),
             helper.make_node("NotAnOp", ["b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [_info("x", rnd(2))], [_info("y", rnd(2))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    with pytest.raises(ember.onnx.OnnxImportError, match=r"(?s)AlsoNotAnOp.*1 node.*"
                                                          r"NotAnOp \(opset 17\): 2 nodes"):
        ember.onnx.load(model)


def test_invalid_model_is_refused():
    nodes = [helper.make_node("Add", ["x", "nowhere"], ["y"])]
    graph = helper.make_graph(nodes, "g", [_info("x", rnd(2))], [_info("y", rnd(2))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    with pytest.raises(ember.onnx.OnnxImportError, match="not valid ONNX"):
        ember.onnx.load(model)


# ---------------------------------------------------------------------------------------
# ember -> ONNX -> ember

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc2(ember.relu(self.fc1(x)) * 2.0) + 1


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, 5))

    def forward(self, x):
        return self.head(self.features(x))


def _trained_a_little(model, x):
    """Move BatchNorm's running statistics away from their initial values."""
    model.train()
    with ember.no_grad():
        model(x)
    return model.eval()


def _round_trip(model, x, tmp_path, **export_kwargs):
    path = tmp_path / "exported.onnx"
    ember.onnx.export(model, x, str(path), **export_kwargs)
    imported = ember.onnx.load(str(path))
    with ember.no_grad():
        np.testing.assert_allclose(imported(x).numpy(), model(x).numpy(), atol=1e-5,
                                   rtol=1e-5)
    return imported, path


def test_round_trip_mlp(tmp_path):
    model = MLP().eval()
    x = ember.randn(4, 3, 4)
    imported, _ = _round_trip(model, x, tmp_path, input_names=["x"],
                              dynamic_axes={"x": {0: "batch"}})
    assert list(imported.state_dict()) == list(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(imported.state_dict()[k].numpy(), v.numpy())
    assert isinstance(imported.fc1.weight, nn.Parameter)
    other = ember.randn(7, 3, 4)                    # the dynamic batch axis
    np.testing.assert_allclose(imported(other).detach().numpy(),
                               model(other).detach().numpy(), atol=1e-5)
    # the weights move back into a fresh ember model
    fresh = MLP()
    fresh.load_state_dict(imported.state_dict())
    np.testing.assert_allclose(fresh(x).detach().numpy(), model(x).detach().numpy(),
                               atol=1e-6)


def test_round_trip_mlp_reexports(tmp_path):
    model = MLP().eval()
    x = ember.randn(4, 3, 4)
    imported, _ = _round_trip(model, x, tmp_path)
    again = tmp_path / "again.onnx"
    ember.onnx.export(imported, x, str(again), input_names=imported.input_names)
    np.testing.assert_allclose(run_onnx(again, x)[0], model(x).detach().numpy(), atol=1e-5)
    assert [i.name for i in session(again).get_inputs()] == imported.input_names
    initializer_names = {t.name for t in onnx.load(str(again)).graph.initializer}
    assert set(model.state_dict()) <= initializer_names


def test_round_trip_cnn(tmp_path):
    x = ember.randn(2, 3, 12, 12)
    model = _trained_a_little(SmallCNN(), x)
    imported, _ = _round_trip(model, x, tmp_path, do_constant_folding=False)
    # an ONNX graph holds only the tensors it reads: BatchNorm's num_batches_tracked
    # (a counter used only in training) has no initializer to come back from
    expected = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    assert set(imported.state_dict()) == set(expected)
    assert set(dict(imported.named_buffers())) == {"features.1.running_mean",
                                                   "features.1.running_var"}
    fresh = SmallCNN()
    fresh.load_state_dict(imported.state_dict(), strict=False)
    fresh.eval()
    np.testing.assert_allclose(fresh(x).detach().numpy(), model(x).detach().numpy(),
                               atol=1e-5)


def test_round_trip_cnn_folded_batchnorm(tmp_path):
    """With constant folding (the default), BatchNorm is folded into the convolution: the
    outputs still agree, the conv's weight comes back under its fused name."""
    x = ember.randn(2, 3, 12, 12)
    model = _trained_a_little(SmallCNN(), x)
    imported, _ = _round_trip(model, x, tmp_path)
    assert "features.0.weight_fused_bn" in imported.state_dict()


def test_round_trip_cnn_reexports(tmp_path):
    x = ember.randn(2, 3, 12, 12)
    model = _trained_a_little(SmallCNN(), x)
    imported, _ = _round_trip(model, x, tmp_path, do_constant_folding=False)
    again = tmp_path / "again.onnx"
    ember.onnx.export(imported, x, str(again))
    np.testing.assert_allclose(run_onnx(again, x)[0], model(x).detach().numpy(), atol=1e-4)


def test_imported_zoo_cnn_reexports(tmp_path):
    model = zoo_cnn()
    m = ember.onnx.load(model)
    x = ember.from_numpy(rnd(2, 3, 16, 16))
    again = tmp_path / "again.onnx"
    ember.onnx.export(m, x, str(again))
    np.testing.assert_allclose(run_onnx(again, x)[0], run_onnx(model, x)[0], atol=1e-4)


# ---------------------------------------------------------------------------------------
# models written by PyTorch's exporter

def _torch_models():
    tnn = torch.nn

    class Recurrent(tnn.Module):
        def __init__(self, kind):
            super().__init__()
            self.rnn = getattr(tnn, kind)(5, 7, num_layers=2, bidirectional=True,
                                          batch_first=True)
            self.fc = tnn.Linear(14, 3)

        def forward(self, x):
            return self.fc(self.rnn(x)[0][:, -1])

    class Attention(tnn.Module):
        def __init__(self, d=16, heads=4):
            super().__init__()
            self.emb = tnn.Embedding(10, d)
            self.qkv, self.out, self.norm = tnn.Linear(d, 3 * d), tnn.Linear(d, d), \
                tnn.LayerNorm(d)
            self.ff = tnn.Sequential(tnn.Linear(d, 32), tnn.GELU(), tnn.Linear(32, d))
            self.heads = heads

        def forward(self, tokens):
            x = self.emb(tokens)
            b, t, d = x.shape
            q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
                       for z in self.qkv(x).chunk(3, -1))
            att = (q @ k.transpose(-2, -1)) / (d // self.heads) ** 0.5
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            x = self.norm(x + self.out((att @ v).transpose(1, 2).reshape(b, t, d)))
            return x + self.ff(x)

    cnn = tnn.Sequential(
        tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(),
        tnn.MaxPool2d(2, ceil_mode=True), tnn.Conv2d(8, 8, 3, groups=2, padding=2, dilation=2),
        tnn.Hardswish(), tnn.Upsample(scale_factor=2, mode="bilinear"),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(8, 4))
    deconv = tnn.Sequential(
        tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        tnn.InstanceNorm2d(4, affine=True), tnn.LeakyReLU(0.1), tnn.GroupNorm(2, 4),
        tnn.PixelShuffle(2), tnn.Sigmoid())
    return {
        "cnn": (cnn, lambda b: torch.randn(b, 3, 15, 15)),
        "deconv": (deconv, lambda b: torch.randn(b, 3, 5, 5)),
        "lstm": (Recurrent("LSTM"), lambda b: torch.randn(b, 6, 5)),
        "gru": (Recurrent("GRU"), lambda b: torch.randn(b, 6, 5)),
        "attention": (Attention(), lambda b: torch.randint(0, 10, (b, b + 3))),
    }


@requires_torch
@pytest.mark.parametrize("name", ["cnn", "deconv", "lstm", "gru", "attention"])
@pytest.mark.parametrize("opset", [14, 17])
def test_pytorch_exported_models(name, opset):
    """Files from torch.onnx.export (the TorchScript exporter, with its Shape/Gather/Concat
    shape arithmetic and dynamic axes) import and match PyTorch, at two batch sizes (and
    sequence lengths), and train."""
    import warnings
    torch.manual_seed(0)
    model, make = _torch_models()[name]
    model.eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (make(2),), f, dynamo=False, opset_version=opset,
                          input_names=["x"], dynamic_axes={"x": {0: "b", 1: "t"}}
                          if name == "attention" else {"x": {0: "b"}})
    imported = ember.onnx.load(f.getvalue())
    for batch in (2, 3):
        x = make(batch)
        with torch.no_grad():
            expected = model(x).numpy()
        got = imported(ember.from_numpy(x.numpy()))
        np.testing.assert_allclose(got.detach().numpy(), expected, atol=1e-5, rtol=1e-4)
    got.pow(2).mean().backward()
    grads = [p.grad for p in imported.parameters()]
    assert grads and all(g is not None for g in grads)
