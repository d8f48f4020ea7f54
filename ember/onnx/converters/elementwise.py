"""Converters for the elementwise ops of ``ember/ops/elementwise.py``: arithmetic, powers,
pointwise functions, rounding, clamp/where, functions of two tensors, and the ``Predicate``
op (comparisons, ``is*``, logical and bitwise ops, ``isclose``, integer copies,
``searchsorted``/``bucketize``, ``one_hot``).

ember promotes operands before an op runs (a ``Cast`` node), so the inputs of a binary op
already share one dtype, as ONNX requires; a Python number among the inputs becomes a
constant of that dtype. The mapping, ember op -> ONNX:

==========================  ===================================================================
Add, Sub, Mul, Div,         Add / Sub / Mul / Div (bool: Add -> Or, Mul -> And)
MulScalar, DivScalar
AddAlpha / SubAlpha         ``a + b * alpha`` (Mul + Add; ``SubAlpha`` stores ``-alpha``)
Neg, Abs                    Neg / Abs
DivMode (trunc)             floats: ``Where(q < 0, Ceil(q), Floor(q))`` of ``Div``; integers:
                            Div (truncates, as C)
DivMode (floor),            integers: ``(a - Mod(a, b)) / b`` (exact); floats: NumPy's
FloorDivide                 ``divmod`` algorithm (fmod, the sign fix, Floor, the 0.5 fix), so
                            that e.g. ``1 // 0.1`` is 9 as in ember and PyTorch
Remainder /                 integers: Mod(fmod=0); floats: Mod(fmod=1) + divisor where the
RemainderScalarSelf         signs differ
Fmod                        Mod(fmod=1)
PowScalar                   ``x*x`` (2), Sqrt (0.5), Reciprocal (-1), ``x*x*x`` (3), else Pow
PowTensor, PowScalarBase    Pow (integer powers with negative exponents: not as ember's
                            1/-1/0 rule)
Exp, Log, Sqrt, Sin, Cos,   the ONNX op of the same name (Sigmoid, Erf, Reciprocal, Floor, Ceil,
Tan, Asin..Atanh, Sinh..    Sign too)
Exp2, Expm1, Log2, Log10,   ``Pow(2, x)``, ``Exp(x) - 1``, ``Log(x) / ln 2``, ``Log(x) / ln 10``,
Log1p, Rsqrt, Erfc          ``Log(x + 1)``, ``Reciprocal(Sqrt(x))``, ``1 - Erf(x)``
Deg2Rad, Rad2Deg, Sinc,     ``x * factor``; ``Where(x == 0, 1, Sin(pi x) / (pi x))``;
Logit (eps)                 ``Log(x / (1 - x))`` after Clip(eps, 1 - eps)
Trunc, Frac, Round          ``Where(x < 0, Ceil, Floor)``; ``x - trunc(x)``; Round (half to
(decimals)                  even), with decimals: ``Round(x * 10^d) / 10^d`` (``d < 0``:
                            ``Round(x / 10^-d) * 10^-d``)
Clamp / ClampMin /          Clip (floats), Max/Min (other dtypes, and tensor bounds)
ClampMax, ClampTensor
Where                       Where
Maximum / Minimum           Max / Min
Fmax / Fmin                 Max / Min with the nan operand replaced by the other one
Atan2                       ``Atan(a / b)`` with the quadrant fixed by Where
Hypot, Logaddexp(2),        ``Sqrt(a^2 + b^2)``; ``max + Log(1 + Exp(-|a - b|))`` (base 2:
Xlogy, Copysign,            Pow/ln 2); ``Where(x == 0 & !isnan(y), 0, x Log(y))``;
Heaviside, Angle (real)     ``Where(signbit(b), -|a|, |a|)``; ``Where(x == 0, v, x > 0)``;
                            ``Where(isnan, x, Where(x < 0, pi, 0))``
Cast                        Cast
Lerp / LerpScalar           ``Where(|w| < 0.5, s + w (e - s), e - (e - s)(1 - w))`` (the scalar
                            form picks its branch at export)
Addcmul / Addcdiv           ``x + t1 * t2 * value`` / ``x + t1 / t2 * value``
NanToNum                    Where with IsNaN / IsInf (the defaults: the dtype's largest and
                            lowest finite values)
Predicate eq ne lt le gt    Equal, Not(Equal), Less, LessOrEqual, Greater, GreaterOrEqual
ge                          (bool operands of an ordering are compared as uint8)
Predicate isnan isinf       IsNaN; IsInf (detect_negative / detect_positive); isfinite:
isposinf isneginf isfinite  ``Not(IsNaN(x) Or IsInf(x))``; integer and bool inputs (and
isreal signbit              isreal of real ones) give a ConstantOfShape of the input's run-time
                            shape; signbit: ``x < 0 Or (x == 0 And 1/x < 0)``
Predicate logical_*         And / Or / Xor / Not of the operands cast to bool
Predicate bitwise_*         bool: And / Or / Xor / Not; integers: BitwiseAnd / BitwiseOr /
                            BitwiseXor / BitwiseNot (opset 18+); shifts by a Python int:
                            ``x * 2^s`` and ``floor(x / 2^s)`` (integer, exact)
Predicate isclose           ``a == b Or (isfinite(|a - b|) And |a - b| <= atol + rtol |b|)``
                            (And-ed nan matching for ``equal_nan``; integers in float32)
Predicate copy              Identity (floor/ceil/trunc/round/sign of integer or bool inputs)
Predicate searchsorted      broadcast Less (left) / LessOrEqual (right) of the sequence and
                            the values, cast to int64, ReduceSum over the sequence (no
                            ``sorter``)
Predicate one_hot           OneHot (depth ``num_classes``, values ``[0, 1]``)
==========================  ===================================================================

Not supported (no ONNX form, or not worth an approximation): Erfinv, I0, complex numbers
(Real, Imag, Conj, Sgn, Angle of complex), CumProd-like ops live in ``reduce.py``; bitwise
ops on integers below opset 18; shifts by a tensor amount. ONNX's Max/Min/Sign/Clip are not
specified for nan inputs: onnxruntime may differ from ember (which propagates nan) there.
"""
from __future__ import annotations

import math

import numpy as np

from ...ops import elementwise as E
from .._registry import converter
from .._trace import Value
from ..errors import OnnxExporterError

# ---------------------------------------------------------------------------------------
# helpers


def _dtype_of_inputs(node):
    """The dtype of the first traced or constant tensor among the node's inputs (the common
    dtype of the operands), else of its output."""
    for x in node.inputs:
        if isinstance(x, Value):
            return x.dtype
    return node.outputs[0].dtype


def _as_array(v, dtype):
    """A Python number (or array) as an array of ``dtype``; integers outside the dtype's
    range wrap around, as ember's kernels convert them."""
    try:
        return np.asarray(v, dtype=dtype)
    except (OverflowError, ValueError):
        return np.array(v).astype(dtype)


def const(ctx, array):
    """``ctx.const(array)``, keeping a 0-d array 0-d: ``ExportContext._add_initializer``
    stores ``np.ascontiguousarray(array)``, which is 1-d for a 0-d array, and a (1,) scalar
    would give a 0-d result one dimension (the checker then refuses the graph)."""
    arr = np.asarray(array)
    name = ctx.const(arr)
    if arr.ndim == 0:
        init = ctx.initializers.get(name)
        if init is not None and len(init.dims):
            from onnx import numpy_helper
            ctx.initializers[name] = numpy_helper.from_array(arr, name)
    return name


def _operand(ctx, node, i, dtype=None):
    """The ONNX name of input ``i``: a traced value, or a constant of ``dtype`` (default:
    the operands' dtype)."""
    x = node.inputs[i]
    if isinstance(x, Value):
        return ctx.name(x)
    return const(ctx, _as_array(x, dtype if dtype is not None else _dtype_of_inputs(node)))


def _c(ctx, value, dtype):
    """A 0-d constant."""
    return const(ctx, _as_array(value, dtype))


def _to(ctx, name, src_dtype, dtype):
    """``name`` cast to ``dtype`` (nothing when it already is)."""
    if np.dtype(src_dtype) == np.dtype(dtype):
        return name
    return ctx.cast(name, dtype)


def _emit_out(ctx, node, op_type, inputs, i=0, **attrs):
    """Emit ``op_type`` writing the node's output ``i``."""
    return ctx.emit(op_type, inputs, [ctx.out(node, i)], **attrs)


def _identity(ctx, node, name):
    ctx.emit("Identity", [name], [ctx.out(node)])


def _const_like(ctx, x_name, value, dtype, outputs=1):
    """A tensor of ``x``'s run-time shape filled with ``value`` (ConstantOfShape)."""
    from onnx import numpy_helper
    fill = numpy_helper.from_array(np.asarray([value], dtype=dtype), "value")
    return ctx.emit("ConstantOfShape", [ctx.emit("Shape", [x_name])], outputs, value=fill)


def _is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def _refuse(ctx, node, why):
    raise OnnxExporterError(f"ember.onnx.export: {node.op_name} at\n  {ctx.where()}\n{why}")


def _trunc(ctx, q, dtype, outputs=1):
    """Round toward zero for floats (ONNX has no Trunc): Where(q < 0, Ceil(q), Floor(q))."""
    neg = ctx.emit("Less", [q, _c(ctx, 0, dtype)])
    return ctx.emit("Where", [neg, ctx.emit("Ceil", [q]), ctx.emit("Floor", [q])], outputs)


def _float_remainder(ctx, a, b, dtype):
    """NumPy's float remainder: fmod, plus the divisor where the signs of the fmod and the
    divisor differ (and the fmod is not 0)."""
    zero = _c(ctx, 0, dtype)
    m = ctx.emit("Mod", [a, b], fmod=1)
    fix = ctx.emit("And", [ctx.emit("Not", [ctx.emit("Equal", [m, zero])]),
                           ctx.emit("Xor", [ctx.emit("Less", [m, zero]),
                                            ctx.emit("Less", [b, zero])])])
    return m, fix


def _floor_divide(ctx, a, b, dtype, outputs=1):
    """``a // b`` rounded toward -inf, as NumPy (and PyTorch) compute it."""
    if not _is_float(dtype):
        # (a - mod(a, b)) is a multiple of b: the integer Div is exact
        m = ctx.emit("Mod", [a, b], fmod=0)
        return ctx.emit("Div", [ctx.emit("Sub", [a, m]), b], outputs)
    zero, one = _c(ctx, 0, dtype), _c(ctx, 1, dtype)
    m, fix = _float_remainder(ctx, a, b, dtype)
    div = ctx.emit("Div", [ctx.emit("Sub", [a, m]), b])
    div = ctx.emit("Where", [fix, ctx.emit("Sub", [div, one]), div])
    fl = ctx.emit("Floor", [div])
    up = ctx.emit("Greater", [ctx.emit("Sub", [div, fl]), _c(ctx, 0.5, dtype)])
    fl = ctx.emit("Where", [up, ctx.emit("Add", [fl, one]), fl])
    # division by zero: a / b (inf or nan), as NumPy
    return ctx.emit("Where", [ctx.emit("Equal", [b, zero]), ctx.emit("Div", [a, b]), fl],
                    outputs)


# ---------------------------------------------------------------------------------------
# arithmetic

_BINARY = {E.Add: "Add", E.Sub: "Sub", E.Mul: "Mul", E.MulScalar: "Mul", E.Div: "Div",
           E.DivScalar: "Div", E.Maximum: "Max", E.Minimum: "Min"}
_BOOL_BINARY = {"Add": "Or", "Mul": "And", "Max": "Or", "Min": "And"}


@converter(*_BINARY)
def binary(ctx, node):
    op = _BINARY[type(node.op)]
    dt = node.outputs[0].dtype
    if dt == np.bool_:
        op = _BOOL_BINARY.get(op, op)
    _emit_out(ctx, node, op, [_operand(ctx, node, 0), _operand(ctx, node, 1)])


@converter(E.AddAlpha, E.SubAlpha)
def add_alpha(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    alpha = node.params["alpha"]
    if dt == np.bool_:                    # alpha True: logical or; False: a itself
        if alpha:
            _emit_out(ctx, node, "Or", [a, b])
        else:
            _identity(ctx, node, a)
        return
    _emit_out(ctx, node, "Add", [a, ctx.emit("Mul", [b, _c(ctx, alpha, dt)])])


@converter(E.Neg)
def neg(ctx, node):
    _emit_out(ctx, node, "Neg", [_operand(ctx, node, 0)])


@converter(E.Abs)
def abs_(ctx, node):
    _emit_out(ctx, node, "Abs", [_operand(ctx, node, 0)])


@converter(E.DivMode)
def div_mode(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    if node.params["mode"] == "floor":
        _floor_divide(ctx, a, b, dt, [ctx.out(node)])
    elif _is_float(dt):
        _trunc(ctx, ctx.emit("Div", [a, b]), dt, [ctx.out(node)])
    else:
        _emit_out(ctx, node, "Div", [a, b])       # integer Div truncates, as C


@converter(E.FloorDivide)
def floor_divide(ctx, node):
    dt = node.outputs[0].dtype
    _floor_divide(ctx, _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt), dt,
                  [ctx.out(node)])


@converter(E.Remainder, E.RemainderScalarSelf)
def remainder(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    if not _is_float(dt):
        _emit_out(ctx, node, "Mod", [a, b], fmod=0)
        return
    m, fix = _float_remainder(ctx, a, b, dt)
    _emit_out(ctx, node, "Where", [fix, ctx.emit("Add", [m, b]), m])


@converter(E.Fmod)
def fmod(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Mod", [_operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)],
              fmod=1)


# ---------------------------------------------------------------------------------------
# powers

@converter(E.PowScalar)
def pow_scalar(ctx, node):
    x = _operand(ctx, node, 0)
    dt = node.outputs[0].dtype
    e = node.params["exponent"]
    if e == 2:
        _emit_out(ctx, node, "Mul", [x, x])
    elif _is_float(dt) and e == 0.5:
        _emit_out(ctx, node, "Sqrt", [x])
    elif _is_float(dt) and e == -1:
        _emit_out(ctx, node, "Reciprocal", [x])
    elif _is_float(dt) and e == 3:
        _emit_out(ctx, node, "Mul", [ctx.emit("Mul", [x, x]), x])
    else:
        _emit_out(ctx, node, "Pow", [x, _c(ctx, e, dt)])


@converter(E.PowTensor)
def pow_tensor(ctx, node):
    _emit_out(ctx, node, "Pow", [_operand(ctx, node, 0), _operand(ctx, node, 1)])


@converter(E.PowScalarBase)
def pow_scalar_base(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Pow", [_c(ctx, node.params["base"], dt), _operand(ctx, node, 0)])


# ---------------------------------------------------------------------------------------
# pointwise functions of one tensor

_UNARY = {E.Exp: "Exp", E.Log: "Log", E.Sqrt: "Sqrt", E.Reciprocal: "Reciprocal",
          E.Sin: "Sin", E.Cos: "Cos", E.Tan: "Tan", E.Asin: "Asin", E.Acos: "Acos",
          E.Atan: "Atan", E.Sinh: "Sinh", E.Cosh: "Cosh", E.Tanh: "Tanh", E.Asinh: "Asinh",
          E.Acosh: "Acosh", E.Atanh: "Atanh", E.Sigmoid: "Sigmoid", E.Erf: "Erf",
          E.Floor: "Floor", E.Ceil: "Ceil", E.Sign: "Sign"}


@converter(*_UNARY)
def unary(ctx, node):
    _emit_out(ctx, node, _UNARY[type(node.op)], [_operand(ctx, node, 0)])


@converter(E.Exp2)
def exp2(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Pow", [_c(ctx, 2, dt), _operand(ctx, node, 0)])


@converter(E.Expm1)
def expm1(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Sub", [ctx.emit("Exp", [_operand(ctx, node, 0)]), _c(ctx, 1, dt)])


@converter(E.Log2, E.Log10)
def log_base(ctx, node):
    dt = node.outputs[0].dtype
    ln = math.log(2.0) if isinstance(node.op, E.Log2) else math.log(10.0)
    _emit_out(ctx, node, "Div", [ctx.emit("Log", [_operand(ctx, node, 0)]), _c(ctx, ln, dt)])


@converter(E.Log1p)
def log1p(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Log", [ctx.emit("Add", [_operand(ctx, node, 0), _c(ctx, 1, dt)])])


@converter(E.Rsqrt)
def rsqrt(ctx, node):
    _emit_out(ctx, node, "Reciprocal", [ctx.emit("Sqrt", [_operand(ctx, node, 0)])])


@converter(E.Erfc)
def erfc(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Sub", [_c(ctx, 1, dt), ctx.emit("Erf", [_operand(ctx, node, 0)])])


@converter(E.Deg2Rad, E.Rad2Deg)
def deg_rad(ctx, node):
    dt = node.outputs[0].dtype
    f = math.pi / 180 if isinstance(node.op, E.Deg2Rad) else 180 / math.pi
    _emit_out(ctx, node, "Mul", [_operand(ctx, node, 0), _c(ctx, f, dt)])


@converter(E.Sinc)
def sinc(ctx, node):
    dt = node.outputs[0].dtype
    x = _operand(ctx, node, 0)
    px = ctx.emit("Mul", [x, _c(ctx, math.pi, dt)])
    q = ctx.emit("Div", [ctx.emit("Sin", [px]), px])
    _emit_out(ctx, node, "Where", [ctx.emit("Equal", [x, _c(ctx, 0, dt)]), _c(ctx, 1, dt), q])


@converter(E.Logit)
def logit(ctx, node):
    dt = node.outputs[0].dtype
    x = _operand(ctx, node, 0)
    eps = node.params["eps"]
    if eps is not None:
        x = ctx.emit("Clip", [x, _c(ctx, eps, dt), _c(ctx, 1 - eps, dt)])
    _emit_out(ctx, node, "Log", [ctx.emit("Div", [x, ctx.emit("Sub", [_c(ctx, 1, dt), x])])])


# ---------------------------------------------------------------------------------------
# rounding

@converter(E.Trunc)
def trunc(ctx, node):
    _trunc(ctx, _operand(ctx, node, 0), node.outputs[0].dtype, [ctx.out(node)])


@converter(E.Frac)
def frac(ctx, node):
    x = _operand(ctx, node, 0)
    _emit_out(ctx, node, "Sub", [x, _trunc(ctx, x, node.outputs[0].dtype)])


@converter(E.Round)
def round_(ctx, node):
    x = _operand(ctx, node, 0)
    d = node.params["decimals"]
    dt = node.outputs[0].dtype
    if d == 0:
        _emit_out(ctx, node, "Round", [x])
        return
    p = _c(ctx, 10.0 ** abs(d), dt)
    if d > 0:
        _emit_out(ctx, node, "Div", [ctx.emit("Round", [ctx.emit("Mul", [x, p])]), p])
    else:
        _emit_out(ctx, node, "Mul", [ctx.emit("Round", [ctx.emit("Div", [x, p])]), p])


# ---------------------------------------------------------------------------------------
# clamp, where, two-tensor functions

@converter(E.Clamp, E.ClampMin, E.ClampMax)
def clamp(ctx, node):
    x = _operand(ctx, node, 0)
    dt = node.outputs[0].dtype
    lo, hi = node.params["lo"], node.params["hi"]
    if _is_float(dt):
        _emit_out(ctx, node, "Clip", [x, None if lo is None else _c(ctx, lo, dt),
                                      None if hi is None else _c(ctx, hi, dt)])
        return
    if dt == np.bool_:
        x = ctx.cast(x, np.uint8)
    work = np.uint8 if dt == np.bool_ else dt
    if lo is not None:
        x = ctx.emit("Max", [x, _c(ctx, lo, work)])
    if hi is not None:
        x = ctx.emit("Min", [x, _c(ctx, hi, work)])
    if dt == np.bool_:
        x = ctx.cast(x, np.bool_)
    _identity(ctx, node, x)


@converter(E.ClampTensor)
def clamp_tensor(ctx, node):
    x = _operand(ctx, node, 0)
    if node.inputs[1] is not None:
        x = ctx.emit("Max", [x, _operand(ctx, node, 1)])
    if node.inputs[2] is not None:
        x = ctx.emit("Min", [x, _operand(ctx, node, 2)])
    _identity(ctx, node, x)


@converter(E.Where)
def where(ctx, node):
    dt = node.outputs[0].dtype
    _emit_out(ctx, node, "Where", [_operand(ctx, node, 0, np.bool_), _operand(ctx, node, 1, dt),
                                   _operand(ctx, node, 2, dt)])


@converter(E.Fmax, E.Fmin)
def fmax_fmin(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    op = "Max" if isinstance(node.op, E.Fmax) else "Min"
    if not _is_float(dt):
        _emit_out(ctx, node, op, [a, b])
        return
    # a nan operand is replaced by the other one (nan only where both are nan)
    a2 = ctx.emit("Where", [ctx.emit("IsNaN", [a]), b, a])
    b2 = ctx.emit("Where", [ctx.emit("IsNaN", [b]), a, b])
    _emit_out(ctx, node, op, [a2, b2])


@converter(E.Atan2)
def atan2(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    zero, pi = _c(ctx, 0, dt), _c(ctx, math.pi, dt)
    r = ctx.emit("Atan", [ctx.emit("Div", [a, b])])
    # b < 0: add pi (a >= 0) or subtract it (a < 0); b == 0: +-pi/2 by the sign of a
    shifted = ctx.emit("Where", [ctx.emit("Less", [a, zero]), ctx.emit("Sub", [r, pi]),
                                 ctx.emit("Add", [r, pi])])
    r = ctx.emit("Where", [ctx.emit("Less", [b, zero]), shifted, r])
    half = ctx.emit("Mul", [ctx.emit("Sign", [a]), _c(ctx, math.pi / 2, dt)])
    _emit_out(ctx, node, "Where", [ctx.emit("Equal", [b, zero]), half, r])


@converter(E.Hypot)
def hypot(ctx, node):
    a, b = _operand(ctx, node, 0), _operand(ctx, node, 1)
    s = ctx.emit("Add", [ctx.emit("Mul", [a, a]), ctx.emit("Mul", [b, b])])
    _emit_out(ctx, node, "Sqrt", [s])


@converter(E.Logaddexp, E.Logaddexp2)
def logaddexp(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0), _operand(ctx, node, 1)
    m = ctx.emit("Max", [a, b])
    negd = ctx.emit("Neg", [ctx.emit("Abs", [ctx.emit("Sub", [a, b])])])
    one = _c(ctx, 1, dt)
    if isinstance(node.op, E.Logaddexp):
        t = ctx.emit("Log", [ctx.emit("Add", [one, ctx.emit("Exp", [negd])])])
    else:
        p = ctx.emit("Pow", [_c(ctx, 2, dt), negd])
        t = ctx.emit("Div", [ctx.emit("Log", [ctx.emit("Add", [one, p])]),
                             _c(ctx, math.log(2.0), dt)])
    _emit_out(ctx, node, "Add", [m, t])


@converter(E.Xlogy)
def xlogy(ctx, node):
    dt = node.outputs[0].dtype
    x, y = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    zero = _c(ctx, 0, dt)
    r = ctx.emit("Mul", [x, ctx.emit("Log", [y])])
    keep0 = ctx.emit("And", [ctx.emit("Equal", [x, zero]),
                             ctx.emit("Not", [ctx.emit("IsNaN", [y])])])
    _emit_out(ctx, node, "Where", [keep0, zero, r])


def _signbit(ctx, x, dt, outputs=1):
    """The sign bit of a float tensor (also of -0.0; not of a negative nan)."""
    zero = _c(ctx, 0, dt)
    negzero = ctx.emit("And", [ctx.emit("Equal", [x, zero]),
                               ctx.emit("Less", [ctx.emit("Reciprocal", [x]), zero])])
    return ctx.emit("Or", [ctx.emit("Less", [x, zero]), negzero], outputs)


@converter(E.Copysign)
def copysign(ctx, node):
    dt = node.outputs[0].dtype
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    m = ctx.emit("Abs", [a])
    _emit_out(ctx, node, "Where", [_signbit(ctx, b, dt), ctx.emit("Neg", [m]), m])


@converter(E.Heaviside)
def heaviside(ctx, node):
    dt = node.outputs[0].dtype
    x, v = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    zero = _c(ctx, 0, dt)
    pos = ctx.cast(ctx.emit("Greater", [x, zero]), dt)
    _emit_out(ctx, node, "Where", [ctx.emit("Equal", [x, zero]), v, pos])


@converter(E.Angle)
def angle(ctx, node):
    x = node.inputs[0]
    dt = node.outputs[0].dtype
    if np.dtype(x.dtype).kind == "c":
        _refuse(ctx, node, "angle() of a complex tensor has no ONNX form (ONNX has no "
                "complex arithmetic).")
    xn = ctx.name(x)
    zero, pi = _c(ctx, 0, dt), _c(ctx, math.pi, dt)
    r = ctx.emit("Where", [ctx.emit("Less", [xn, zero]), pi, zero])
    _emit_out(ctx, node, "Where", [ctx.emit("IsNaN", [xn]), xn, r])


# ---------------------------------------------------------------------------------------
# cast, lerp, addcmul/addcdiv, nan_to_num

@converter(E.Cast)
def cast(ctx, node):
    from onnx import helper
    _emit_out(ctx, node, "Cast", [_operand(ctx, node, 0)],
              to=helper.np_dtype_to_tensor_dtype(np.dtype(node.outputs[0].dtype)))


@converter(E.Lerp)
def lerp(ctx, node):
    dt = node.outputs[0].dtype
    s, e, w = (_operand(ctx, node, i, dt) for i in range(3))
    d = ctx.emit("Sub", [e, s])
    near_start = ctx.emit("Add", [s, ctx.emit("Mul", [w, d])])
    near_end = ctx.emit("Sub", [e, ctx.emit("Mul", [d, ctx.emit("Sub", [_c(ctx, 1, dt), w])])])
    small = ctx.emit("Less", [ctx.emit("Abs", [w]), _c(ctx, 0.5, dt)])
    _emit_out(ctx, node, "Where", [small, near_start, near_end])


@converter(E.LerpScalar)
def lerp_scalar(ctx, node):
    dt = node.outputs[0].dtype
    s, e = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    w = node.params["weight"]
    d = ctx.emit("Sub", [e, s])
    if abs(w) < 0.5:
        _emit_out(ctx, node, "Add", [s, ctx.emit("Mul", [d, _c(ctx, w, dt)])])
    else:
        _emit_out(ctx, node, "Sub", [e, ctx.emit("Mul", [d, _c(ctx, 1 - w, dt)])])


@converter(E.Addcmul, E.Addcdiv)
def addc(ctx, node):
    dt = node.outputs[0].dtype
    x, t1, t2 = (_operand(ctx, node, i, dt) for i in range(3))
    t = ctx.emit("Mul" if isinstance(node.op, E.Addcmul) else "Div", [t1, t2])
    value = node.params["value"]
    if value != 1:
        t = ctx.emit("Mul", [t, _c(ctx, value, dt)])
    _emit_out(ctx, node, "Add", [x, t])


@converter(E.NanToNum)
def nan_to_num(ctx, node):
    dt = node.outputs[0].dtype
    x = _operand(ctx, node, 0)
    info = np.finfo(dt)
    nan, posinf, neginf = (node.params[k] for k in ("nan", "posinf", "neginf"))
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    r = ctx.emit("Where", [ctx.emit("IsNaN", [x]), _c(ctx, nan, dt), x])
    r = ctx.emit("Where", [ctx.emit("IsInf", [x], detect_negative=0), _c(ctx, posinf, dt), r])
    _emit_out(ctx, node, "Where", [ctx.emit("IsInf", [x], detect_positive=0),
                                   _c(ctx, neginf, dt), r])


# ---------------------------------------------------------------------------------------
# Predicate: comparisons, is*, logical, bitwise, isclose, copy, searchsorted, one_hot

_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
            "ge": "GreaterOrEqual"}
_LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}
_BITWISE = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
            "bitwise_xor": ("Xor", "BitwiseXor")}


def _pred_compare(ctx, node, name):
    dt = _dtype_of_inputs(node)
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    if name == "ne":
        _emit_out(ctx, node, "Not", [ctx.emit("Equal", [a, b])])
        return
    op = _COMPARE[name]
    if dt == np.bool_ and op != "Equal":       # ONNX orders numbers only
        a, b = ctx.cast(a, np.uint8), ctx.cast(b, np.uint8)
    _emit_out(ctx, node, op, [a, b])


def _pred_is(ctx, node, name):
    x = node.inputs[0]
    dt = x.dtype
    xn = ctx.name(x)
    out = [ctx.out(node)]
    kind = np.dtype(dt).kind
    if kind == "c":
        _refuse(ctx, node, f"{name}() of a complex tensor has no ONNX form.")
    if name == "isreal" or kind != "f":
        if name == "signbit" and kind == "i":
            ctx.emit("Less", [xn, _c(ctx, 0, dt)], out)
            return
        value = name in ("isfinite", "isreal")
        _const_like(ctx, xn, value, np.bool_, out)
        return
    if name == "isnan":
        ctx.emit("IsNaN", [xn], out)
    elif name == "isinf":
        ctx.emit("IsInf", [xn], out)
    elif name == "isposinf":
        ctx.emit("IsInf", [xn], out, detect_negative=0)
    elif name == "isneginf":
        ctx.emit("IsInf", [xn], out, detect_positive=0)
    elif name == "isfinite":
        bad = ctx.emit("Or", [ctx.emit("IsNaN", [xn]), ctx.emit("IsInf", [xn])])
        ctx.emit("Not", [bad], out)
    else:                                                   # signbit
        _signbit(ctx, xn, dt, out)


def _as_bool(ctx, node, i):
    x = node.inputs[i]
    if isinstance(x, Value):
        return _to(ctx, ctx.name(x), x.dtype, np.bool_)
    return const(ctx, np.asarray(bool(x)))


def _pred_bitwise(ctx, node, name):
    dt = node.outputs[0].dtype
    if name == "bitwise_not":
        x = _operand(ctx, node, 0)
        if dt == np.bool_:
            _emit_out(ctx, node, "Not", [x])
            return
        _need_opset(ctx, node, 18, name)
        _emit_out(ctx, node, "BitwiseNot", [x])
        return
    if name in ("bitwise_left_shift", "bitwise_right_shift"):
        _pred_shift(ctx, node, name, dt)
        return
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    logical, bitwise = _BITWISE[name]
    if dt == np.bool_:
        _emit_out(ctx, node, logical, [a, b])
        return
    _need_opset(ctx, node, 18, name)
    _emit_out(ctx, node, bitwise, [a, b])


def _pred_shift(ctx, node, name, dt):
    s = node.inputs[1]
    bits = np.dtype(dt).itemsize * 8
    if isinstance(s, Value) or not isinstance(node.inputs[0], Value) or \
            not 0 <= int(s) < bits:
        _refuse(ctx, node, f"{name} is exported only for a tensor shifted by a Python int "
                f"in [0, {bits}) (as x * 2^s, or floor(x / 2^s)).")
    x = ctx.name(node.inputs[0])
    p = _c(ctx, 1 << int(s), dt) if int(s) < bits - 1 or np.dtype(dt).kind == "u" else None
    if name == "bitwise_left_shift":
        if p is None:                      # shifting into the sign bit: x * 2^(bits-1) wraps
            p = const(ctx, np.array(1 << (bits - 1)).astype(dt))
        _emit_out(ctx, node, "Mul", [x, p])
        return
    if p is None:                          # x >> (bits - 1): -1 for negatives, else 0
        neg = ctx.emit("Less", [x, _c(ctx, 0, dt)])
        _emit_out(ctx, node, "Neg", [ctx.cast(neg, dt)])
        return
    _floor_divide(ctx, x, p, dt, [ctx.out(node)])


def _need_opset(ctx, node, first, what):
    if ctx.opset < first:
        _refuse(ctx, node, f"{what} of integer tensors needs the Bitwise ops of opset "
                f"{first}; export with opset_version >= {first}.")


def _pred_isclose(ctx, node):
    dt = _dtype_of_inputs(node)
    a, b = _operand(ctx, node, 0, dt), _operand(ctx, node, 1, dt)
    p = node.params
    close = ctx.emit("Equal", [a, b])
    if dt == np.bool_:
        _identity(ctx, node, close)
        return
    work = dt
    if np.dtype(dt).kind == "f":
        if p["equal_nan"]:
            both = ctx.emit("And", [ctx.emit("IsNaN", [a]), ctx.emit("IsNaN", [b])])
            close = ctx.emit("Or", [close, both])
    else:                       # integers are compared in the default float dtype
        from ... import _dtype
        work = _dtype._default[0].np
        a, b = ctx.cast(a, work), ctx.cast(b, work)
    diff = ctx.emit("Abs", [ctx.emit("Sub", [a, b])])
    tol = ctx.emit("Add", [_c(ctx, p["atol"], work),
                           ctx.emit("Mul", [_c(ctx, p["rtol"], work), ctx.emit("Abs", [b])])])
    finite = ctx.emit("Not", [ctx.emit("Or", [ctx.emit("IsNaN", [diff]),
                                              ctx.emit("IsInf", [diff])])])
    ok = ctx.emit("And", [finite, ctx.emit("LessOrEqual", [diff, tol])])
    _emit_out(ctx, node, "Or", [close, ok])


def _pred_searchsorted(ctx, node):
    p = node.params
    if p.get("sorter") is not None:
        _refuse(ctx, node, "searchsorted(sorter=...) is not exported; sort the sequence "
                "first (ember.sort) and pass it sorted.")
    seq_v, vals_v = node.inputs[0], node.inputs[1]
    seq_dt = seq_v.dtype if isinstance(seq_v, Value) else _dtype_of_inputs(node)
    seq = _operand(ctx, node, 0, seq_dt)
    vals = _operand(ctx, node, 1, seq_dt)
    vals_dt = vals_v.dtype if isinstance(vals_v, Value) else np.asarray(vals_v).dtype
    if np.dtype(vals_dt) != np.dtype(seq_dt):
        vals = ctx.cast(vals, seq_dt)
    seq_nd = len(seq_v.shape) if isinstance(seq_v, Value) else np.ndim(seq_v)
    if seq_nd > 1:
        seq = ctx.unsqueeze(seq, [-2])                     # (..., 1, m)
    v = ctx.unsqueeze(vals, [-1])                          # (..., k, 1)
    op = "Less" if p["side"] == "left" else "LessOrEqual"
    hits = ctx.cast(ctx.emit(op, [seq, v]), np.int64)
    count = ctx.reduce("ReduceSum", hits, [-1], keepdims=False)
    dt = node.outputs[0].dtype
    _identity(ctx, node, _to(ctx, count, np.int64, dt))


def _pred_one_hot(ctx, node):
    depth = ctx.int64s([node.params["num_classes"]])
    values = ctx.const(np.array([0, 1], dtype=np.int64))
    _emit_out(ctx, node, "OneHot", [_operand(ctx, node, 0, np.int64), depth, values], axis=-1)


@converter(E.Predicate)
def predicate(ctx, node):
    name = node.op.fn_name
    if name in _COMPARE or name == "ne":
        _pred_compare(ctx, node, name)
    elif name in ("isnan", "isinf", "isposinf", "isneginf", "isfinite", "isreal", "signbit"):
        _pred_is(ctx, node, name)
    elif name in _LOGICAL:
        _emit_out(ctx, node, _LOGICAL[name], [_as_bool(ctx, node, 0), _as_bool(ctx, node, 1)])
    elif name == "logical_not":
        _emit_out(ctx, node, "Not", [_as_bool(ctx, node, 0)])
    elif name.startswith("bitwise_"):
        _pred_bitwise(ctx, node, name)
    elif name == "isclose":
        _pred_isclose(ctx, node)
    elif name == "copy":
        _identity(ctx, node, _operand(ctx, node, 0))
    elif name == "searchsorted":
        _pred_searchsorted(ctx, node)
    elif name == "one_hot":
        _pred_one_hot(ctx, node)
    else:
        _refuse(ctx, node, f"the function {name!r} has no ONNX converter.")
