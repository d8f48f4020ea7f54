"""Random numbers: ``Generator``, the global ``default_generator``, seeding, and every random
sampling function (``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``bernoulli``,
``multinomial``, ``poisson``, the ``*_like`` forms and the in-place ``Tensor.uniform_`` ...).

A ``Generator`` wraps a NumPy ``np.random.Generator`` on the PCG64 bit generator, seeded
through NumPy's ``SeedSequence``: the same seed gives the same numbers in every run and on
every platform (for a given NumPy version). The numbers differ from PyTorch's for the same
seed (PyTorch uses MT19937/Philox with its own transforms); only the distributions match.
Like PyTorch, the default generator starts from a fixed seed (67280421310721), so a program
that never seeds is still reproducible.

Everything in ember that needs randomness (dropout, ``nn.init``, data shuffling) draws from
here through :func:`default_rng`, so ``manual_seed`` and ``generator=`` control all of it.
Sampling is not differentiable; as in PyTorch, a sample whose parameters require grad (e.g.
``normal(mean, std)``) gets a ``grad_fn`` that passes back zeros.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from . import _dtype
from ._device import check_device
from ._device import device as _device_cls
from ._dtype import as_dtype, get_default_dtype
from ._tensor import Tensor, _wrap
from .autograd.grad_mode import STATE
from .ops._op import Op
from .ops.creation import _broadcast_check, _finish, _legacy, _size_arg, _target_dtype
from .ops.inplace import inplace_update

__all__ = [
    "Generator",
    "bernoulli",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "multinomial",
    "normal",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "seed",
    "set_rng_state",
]

_DEFAULT_SEED = 67280421310721      # PyTorch's default seed, for the same "unseeded" habit
_MAGIC = b"emberPCG"                # first bytes of a serialised state (format version 1)
_STATE_SIZE = 8 + 16 + 16 + 4 + 4 + 8
_U64 = 1 << 64


# ---------------------------------------------------------------------------------------
# Generator

class Generator:
    """A source of random numbers: ``ember.Generator(device='cpu')``.

    Pass it as ``generator=`` to any sampling function to draw from it instead of the global
    default generator. Only the CPU exists (``'cuda'`` raises BackendUnavailableError).
    """

    def __init__(self, device="cpu"):
        d = device if isinstance(device, _device_cls) else _device_cls(device)
        check_device(d)
        self._device = _device_cls("cpu")
        self._reseed(_DEFAULT_SEED)

    def _reseed(self, seed: int):
        self._seed = seed
        fresh = np.random.PCG64(seed)
        if getattr(self, "_np", None) is None:
            self._np = np.random.Generator(fresh)
        else:
            # reseed in place: code holding default_rng()'s result keeps the right stream
            self._np.bit_generator.state = fresh.state

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed) -> Generator:
        """Reset the generator to ``seed`` (an int in [-2**63, 2**64); negative seeds wrap
        modulo 2**64 as in PyTorch). Returns the generator."""
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            # PyTorch raises RuntimeError here, not TypeError
            raise RuntimeError(  # noqa: TRY004
                f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -(1 << 63) <= seed < _U64:
            raise ValueError(f"Overflow when unpacking long long: seed {seed} is outside "
                             "[-2**63, 2**64)")
        self._reseed(seed % _U64)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        s = int.from_bytes(os.urandom(8), "little")
        self._reseed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self) -> Tensor:
        """The full state as a uint8 tensor (56 bytes: a format tag, PCG64's 128-bit state
        and increment, its buffered 32-bit half-draw, and the initial seed). Pass it to
        :meth:`set_state` to replay the same numbers."""
        st = self._np.bit_generator.state
        inner = st["state"]
        raw = (_MAGIC + int(inner["state"]).to_bytes(16, "little")
               + int(inner["inc"]).to_bytes(16, "little")
               + int(st["has_uint32"]).to_bytes(4, "little")
               + int(st["uinteger"]).to_bytes(4, "little")
               + int(self._seed).to_bytes(8, "little"))
        return _wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from :meth:`get_state`. Returns the generator."""
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a ember.ByteTensor, but got {type(new_state).__name__}")
        if new_state._data.dtype != np.uint8:
            raise TypeError(f"RNG state must be a ember.ByteTensor (uint8), got "
                            f"{new_state.dtype}")
        raw = new_state._data.reshape(-1).tobytes()
        if len(raw) != _STATE_SIZE:
            raise RuntimeError(f"Expected a Generator state of size {_STATE_SIZE} but found the "
                               f"input RNG state size to be {len(raw)}")
        if raw[:8] != _MAGIC:
            raise RuntimeError("Invalid Generator state: not produced by ember's "
                               "Generator.get_state()")
        state = int.from_bytes(raw[8:24], "little")
        inc = int.from_bytes(raw[24:40], "little")
        st = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
              "has_uint32": int.from_bytes(raw[40:44], "little"),
              "uinteger": int.from_bytes(raw[44:48], "little")}
        if getattr(self, "_np", None) is None:
            self._np = np.random.Generator(np.random.PCG64())
        self._np.bit_generator.state = st           # in place, as in _reseed
        self._seed = int.from_bytes(raw[48:56], "little")
        return self

    def clone_state(self) -> Generator:
        """A new generator in this one's current state."""
        g = Generator.__new__(Generator)
        g._device = self._device
        g._np = None
        g.set_state(self.get_state())
        return g

    def __reduce__(self):
        # pickling / deepcopy keep the state (DataLoader workers, checkpoints)
        return (_rebuild_generator, (bytes(self.get_state()._data),))

    def __repr__(self):
        return f"<ember.Generator object at {hex(id(self))}>"


def _rebuild_generator(raw: bytes) -> Generator:
    g = Generator()
    g.set_state(_wrap(np.frombuffer(raw, dtype=np.uint8).copy()))
    return g


default_generator = Generator()


def default_rng(generator=None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s, or the default generator's.

    This is the one entry point for randomness inside ember (dropout masks, ``nn.init``,
    shuffling): draw with the returned ``np.random.Generator`` and ``manual_seed``,
    ``fork_rng`` and ``generator=`` arguments all take effect.
    """
    if generator is None:
        return default_generator._np
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be an ember.Generator, not {type(generator).__name__}")
    return generator._np


def manual_seed(seed) -> Generator:
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state (a uint8 tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from :func:`get_rng_state`."""
    default_generator.set_state(new_state)


# ---------------------------------------------------------------------------------------
# array-level samplers (shared by the functions below; usable inside ember)

def _mant_bits(npd: np.dtype) -> int:
    """Bits of precision of a floating type (24 for float32, 53 for float64, ...)."""
    if npd.itemsize == 2:
        return 11 if npd == np.float16 else 8        # float16 / bfloat16
    return np.finfo(npd).nmant + 1


def uniform_array(rng: np.random.Generator, shape, npd: np.dtype) -> np.ndarray:
    """Uniform samples in [0, 1) of floating or complex dtype ``npd`` (complex: both parts
    uniform)."""
    npd = np.dtype(npd)
    if npd.kind == "c":
        part = np.dtype(np.float32 if npd == np.complex64 else np.float64)
        out = np.empty(shape, dtype=npd)
        out.real = uniform_array(rng, shape, part)
        out.imag = uniform_array(rng, shape, part)
        return out
    if npd == np.float64:
        return np.asarray(rng.random(shape))
    if npd == np.float32:
        return np.asarray(rng.random(shape, dtype=np.float32))
    # half types: k / 2**bits is exact and stays below 1 after rounding
    bits = _mant_bits(npd)
    return np.asarray(rng.integers(0, 1 << bits, size=shape) * (2.0 ** -bits)).astype(npd)


def normal_array(rng: np.random.Generator, shape, npd: np.dtype) -> np.ndarray:
    """Standard normal samples of dtype ``npd``; complex samples have independent parts of
    variance 1/2 each (total variance 1), as in PyTorch."""
    npd = np.dtype(npd)
    if npd.kind == "c":
        part = np.dtype(np.float32 if npd == np.complex64 else np.float64)
        out = np.empty(shape, dtype=npd)
        out.real = normal_array(rng, shape, part) * part.type(math.sqrt(0.5))
        out.imag = normal_array(rng, shape, part) * part.type(math.sqrt(0.5))
        return out
    if npd == np.float64:
        return np.asarray(rng.standard_normal(shape))
    return np.asarray(rng.standard_normal(shape, dtype=np.float32)).astype(npd, copy=False)


# ---------------------------------------------------------------------------------------
# graph bookkeeping for samples

class _Sampled(Op):
    """A random sample depending on tensors that require grad (its distribution's
    parameters, or the tensor an in-place sampler overwrites). PyTorch does not
    differentiate through sampling: the gradient for every such input is zero."""

    def forward(self, *params, value, name):
        self._name = name
        return value

    def backward(self, grad):
        return tuple(_wrap(np.zeros(meta[0], dtype=meta[1].np)) if need else None
                     for meta, need in zip(self._input_meta, self.needs_input_grad))


def _result(arr, name, params, out=None, fn="random"):
    """Wrap a sample; record a zero-gradient node when a parameter requires grad."""
    arr = np.asarray(arr)
    if STATE.enabled and any(isinstance(p, Tensor) and p._requires_grad for p in params):
        t = _Sampled.apply(*params, value=arr, name=name)
        if out is not None:
            raise RuntimeError(f"{fn}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        return t
    return _finish(arr, fn, out)


def _fill(self: Tensor, arr: np.ndarray, name: str) -> Tensor:
    """Write a sample into ``self`` in place (views and version counters handled by
    ``inplace_update``); under autograd the tensor's new grad_fn passes back zeros."""
    arr = np.asarray(arr, dtype=self._data.dtype)
    if STATE.enabled and (self._requires_grad or
                          (self._base is not None and self._base._requires_grad)):
        return inplace_update(self, _Sampled.apply(self, value=arr, name=name))
    return inplace_update(self, _wrap(arr), check_cast=False)


# ---------------------------------------------------------------------------------------
# checks

def _not_implemented(kernel, d):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(d)}\'')


def _require_float(d, kernel, allow_complex=True):
    if not (d.is_floating_point or (allow_complex and d.is_complex)):
        raise _not_implemented(kernel, d)


def _g(v) -> str:
    """A number as PyTorch's messages print it (``-1``, ``1.5``, ``3e+38``)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _py_number(x, fn, arg):
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise TypeError(f"{fn}(): argument '{arg}' must be a number, not a Tensor with "
                            f"{x._data.size} elements")
        return x._data.reshape(()).item()
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        return x.item() if isinstance(x, np.generic) else x
    raise TypeError(f"{fn}(): argument '{arg}' must be a number, not {type(x).__name__}")


def _int_param(x, fn, arg, pos):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be int, not "
                        f"{type(x).__name__}")
    return int(x)


_CTYPE = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short",
          "int32": "int", "int64": "long", "float16": "Half", "bfloat16": "BFloat16",
          "float32": "float", "float64": "double"}


def _int_bounds(d):
    """Inclusive [lo, hi] of the integers dtype ``d`` represents exactly (floats: the range
    where every integer is representable, ±2**mantissa_bits)."""
    if d is _dtype.bool:
        return 0, 1
    npd = _dtype.to_np(d)
    if npd.kind in "iu":
        info = np.iinfo(npd)
        return int(info.min), int(info.max)
    m = 1 << _mant_bits(npd.type(0).real.dtype if npd.kind == "c" else npd)
    return -m, m


def _check_from_to(lo, hi_inclusive, d, fn="random_"):
    """PyTorch's range checks for discrete uniform sampling into dtype ``d``."""
    blo, bhi = _int_bounds(d)
    if d.is_floating_point or d.is_complex:
        if lo < blo or lo > bhi or hi_inclusive < blo or hi_inclusive > bhi:
            which = "from" if (lo < blo or lo > bhi) else "to - 1"
            bits = _mant_bits(_dtype.to_np(d))
            warnings.warn(f"{which} is out of bounds [-(2^{bits}), 2^{bits}]. Due to precision "
                          f"limitations {d.name} can support discrete uniform distribution "
                          "only within this range.", UserWarning, stacklevel=3)
        return
    name = _CTYPE.get(d.name, d.name)
    if lo < blo or lo > bhi:
        raise RuntimeError(f"from is out of bounds for {name}")
    if hi_inclusive < blo or hi_inclusive > bhi:
        raise RuntimeError(f"to - 1 is out of bounds for {name}")


def _discrete(rng, lo, hi_inclusive, shape, npd):
    """Integers uniform in [lo, hi_inclusive], as dtype ``npd``."""
    if lo >= -(1 << 63) and hi_inclusive < (1 << 63):
        vals = rng.integers(lo, hi_inclusive, size=shape, dtype=np.int64, endpoint=True)
    else:                                              # only for uint64-sized ranges
        vals = rng.integers(lo, hi_inclusive, size=shape, dtype=np.uint64, endpoint=True)
    with np.errstate(all="ignore"):
        return np.asarray(vals).astype(npd)


# ---------------------------------------------------------------------------------------
# creation by sampling

def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False, **kwargs) -> Tensor:
    """Uniform samples in [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``; default float dtype."""
    check_device(device)
    shape = _size_arg(size, "rand", kwargs.pop("size", None))
    _no_extra(kwargs, "rand")
    d = _target_dtype(dtype, out, get_default_dtype())
    _require_float(d, "check_uniform_bounds")
    arr = uniform_array(default_rng(generator), shape, _dtype.to_np(d))
    return _finish(arr, "rand", out, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, **kwargs) -> Tensor:
    """Standard normal samples: ``randn(2, 3)``; default float dtype."""
    check_device(device)
    shape = _size_arg(size, "randn", kwargs.pop("size", None))
    _no_extra(kwargs, "randn")
    d = _target_dtype(dtype, out, get_default_dtype())
    _require_float(d, "normal_kernel_cpu")
    arr = normal_array(default_rng(generator), shape, _dtype.to_np(d))
    return _finish(arr, "randn", out, requires_grad)


def _no_extra(kwargs, fn):
    if kwargs:
        raise TypeError(f"{fn}() got an unexpected keyword argument '{next(iter(kwargs))}'")


def randint(*args, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False, **kwargs) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` is given."""
    check_device(device)
    low, high, size = _parse_randint(args, kwargs, "randint")
    shape = _size_arg((size,), "randint")
    d = _target_dtype(dtype, out, _dtype.int64)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    _check_from_to(low, high - 1, d)
    arr = _discrete(default_rng(generator), low, high - 1, shape, _dtype.to_np(d))
    return _finish(arr, "randint", out, requires_grad)


def _parse_randint(args, kwargs, fn, size_required=True):
    """Bind ``(high, size)`` / ``(low, high, size)`` / keywords like PyTorch's overloads."""
    pos = list(args)
    low = kwargs.pop("low", None)
    high = kwargs.pop("high", None)
    size = kwargs.pop("size", None)
    _no_extra(kwargs, fn)
    if size_required and size is None and pos and isinstance(pos[-1], (tuple, list)):
        size = pos.pop()
    if size_required and size is None and len(pos) == 2 and isinstance(pos[-1], int):
        raise TypeError(f"{fn}(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(pos[-1]).__name__}")
    if len(pos) > 2:
        raise TypeError(f"{fn}() takes at most 3 positional arguments ({len(args)} given)")
    if len(pos) == 2:
        if low is not None or high is not None:
            raise TypeError(f"{fn}() got multiple values for argument 'low' or 'high'")
        low, high = pos
    elif len(pos) == 1:
        if high is None:
            high = pos[0]
        elif low is None:
            low = pos[0]
        else:
            raise TypeError(f"{fn}() got multiple values for argument 'low'")
    if high is None:
        raise TypeError(f"{fn}() missing required argument 'high'")
    if size_required and size is None:
        raise TypeError(f"{fn}() missing required argument 'size'")
    low = 0 if low is None else _int_param(low, fn, "low", 1)
    high = _int_param(high, fn, "high", 2 if len(args) > 1 else 1)
    return low, high, size


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` is given)."""
    check_device(device)
    n = _int_param(n, "randperm", "n", 1)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    d = _target_dtype(dtype, out, _dtype.int64)
    if d is _dtype.bool or n - 1 > _int_bounds(d)[1]:
        raise RuntimeError(f"value cannot be converted to type {d.name} without overflow: "
                           f"randperm({n}) needs values up to {n - 1}")
    arr = default_rng(generator).permutation(n).astype(_dtype.to_np(d))
    return _finish(arr, "randperm", out, requires_grad)


def _like(input, dtype, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return as_dtype(dtype) if dtype is not None else input.dtype


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    """``rand`` with ``input``'s shape and dtype (unless given)."""
    check_device(device)
    d = _like(input, dtype, "rand_like")
    _require_float(d, "check_uniform_bounds")
    arr = uniform_array(default_rng(generator), input._data.shape, _dtype.to_np(d))
    return _finish(arr, "rand_like", None, requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None) -> Tensor:
    """``randn`` with ``input``'s shape and dtype (unless given)."""
    check_device(device)
    d = _like(input, dtype, "randn_like")
    _require_float(d, "normal_kernel_cpu")
    arr = normal_array(default_rng(generator), input._data.shape, _dtype.to_np(d))
    return _finish(arr, "randn_like", None, requires_grad)


def randint_like(input, *args, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, **kwargs) -> Tensor:
    """``randint`` with ``input``'s shape and dtype: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    check_device(device)
    d = _like(input, dtype, "randint_like")
    low, high, _ = _parse_randint(args, kwargs, "randint_like", size_required=False)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    _check_from_to(low, high - 1, d)
    arr = _discrete(default_rng(generator), low, high - 1, input._data.shape, _dtype.to_np(d))
    return _finish(arr, "randint_like", None, requires_grad)


# ---------------------------------------------------------------------------------------
# distributions with tensor parameters

def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Normal samples; PyTorch's four forms:

    * ``normal(mean: Tensor, std: Tensor)``: elementwise parameters, broadcast together;
    * ``normal(mean: Tensor, std: float = 1.0)`` and ``normal(mean: float, std: Tensor)``;
    * ``normal(mean: float, std: float, size)``: a new tensor of ``size``.

    The result has the tensor parameter's dtype (``mean``'s when both are tensors). Samples
    are not differentiable: a parameter that requires grad receives a zero gradient.
    """
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not tm and not ts:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: with float "
                            "mean and std, 'size' is required (normal(mean, std, size))")
        check_device(device)
        mean = _py_number(mean, "normal", "mean")
        std = _py_number(std, "normal", "std")
        shape = _size_arg((size,), "normal")
        d = _target_dtype(dtype, out, get_default_dtype())
        _require_float(d, "normal_kernel_cpu")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_g(std)}")
        npd = _dtype.to_np(d)
        arr = _affine(normal_array(default_rng(generator), shape, npd), mean, std, npd)
        return _finish(arr, "normal", out, requires_grad)
    if size is not None:
        raise TypeError("normal() received an invalid combination of arguments: 'size' is only "
                        "accepted with float mean and std")
    rng = default_rng(generator)
    if tm and ts:
        _require_float(mean.dtype, "normal_kernel_cpu")
        _require_float(std.dtype, "normal_kernel_cpu")
        _broadcast_check(mean, std)
        if (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        npd = mean._data.dtype
        shape = np.broadcast_shapes(mean._data.shape, std._data.shape)
        z = normal_array(rng, shape, npd)
        with np.errstate(all="ignore"):
            arr = (mean._data + std._data.astype(npd, copy=False) * z).astype(npd, copy=False)
        return _result(arr, "NormalBackward3", (mean, std), out, "normal")
    if tm:
        _require_float(mean.dtype, "normal_kernel_cpu")
        std = _py_number(std, "normal", "std")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_g(std)}")
        npd = mean._data.dtype
        z = normal_array(rng, mean._data.shape, npd)
        with np.errstate(all="ignore"):
            arr = (mean._data + npd.type(std) * z).astype(npd, copy=False)
        return _result(arr, "NormalBackward1", (mean,), out, "normal")
    _require_float(std.dtype, "normal_kernel_cpu")
    mean = _py_number(mean, "normal", "mean")
    if (std._data < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    npd = std._data.dtype
    z = normal_array(rng, std._data.shape, npd)
    with np.errstate(all="ignore"):
        arr = (npd.type(mean) + std._data * z).astype(npd, copy=False)
    return _result(arr, "NormalBackward2", (std,), out, "normal")


def _affine(z, loc, scale, npd):
    """``loc + scale * z`` computed in the sample's dtype."""
    with np.errstate(all="ignore"):
        return (npd.type(loc) + npd.type(scale) * z).astype(npd, copy=False)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples of ``input``'s shape and dtype: ``bernoulli(probs)`` draws each element
    with probability ``probs[i]`` (floating ``input`` in [0, 1]); ``bernoulli(input, p)``
    uses the scalar probability ``p`` for every element (any dtype)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    rng = default_rng(generator)
    npd = input._data.dtype
    if p is None:
        _require_float(input.dtype, "bernoulli_tensor_cpu_p_", allow_complex=False)
        probs = input._data
        if not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false. "
                               "(bernoulli: every probability must be in [0, 1])")
        arr = np.asarray(rng.random(probs.shape) < probs).astype(npd)
        return _result(arr, "BernoulliBackward0", (input,), out, "bernoulli")
    p = _py_number(p, "bernoulli", "p")
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_g(p)}")
    arr = np.asarray(rng.random(input._data.shape) < p).astype(npd)
    return _result(arr, "BernoulliBackward1", (input,), out, "bernoulli")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Indices drawn from the categorical distributions in the rows of ``input`` (weights,
    not necessarily normalised; 1-D or 2-D). Without replacement the samples of a row are
    distinct and come out in the order drawn (an exponential race: the same distribution as
    drawing one at a time and removing it). Returns int64 of shape ``(num_samples,)`` or
    ``(rows, num_samples)``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    num_samples = _int_param(num_samples, "multinomial", "num_samples", 2)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_legacy(input.dtype)}")
    if input._data.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim (got {input._data.ndim} dims)")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    probs = input._data.astype(np.float64)
    probs2 = probs.reshape(1, -1) if probs.ndim == 1 else probs
    rows, k = probs2.shape
    if not replacement and num_samples > k:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (n_sample={num_samples}, categories={k})")
    if not (np.isfinite(probs2).all() and (probs2 >= 0).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if rows and (probs2.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = default_rng(generator)
    if rows == 0:
        idx = np.zeros((0, num_samples), dtype=np.int64)
    elif replacement:
        idx = _sample_with_replacement(rng, probs2, num_samples)
    else:
        # exponential race: key = E / p; the smallest keys, in order, are a sequential
        # sample without replacement (zero weights get key inf and come last)
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential((rows, k)) / probs2
        if num_samples < k:
            part = np.argpartition(keys, num_samples - 1, axis=1)[:, :num_samples]
            order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1, kind="stable")
            idx = np.take_along_axis(part, order, axis=1)
        else:
            idx = np.argsort(keys, axis=1, kind="stable")
    idx = idx.astype(np.int64, copy=False)
    if input._data.ndim == 1:
        idx = idx.reshape(num_samples)
    return _finish(np.ascontiguousarray(idx), "multinomial", out)


def _sample_with_replacement(rng, probs, n):
    """Inverse-CDF sampling for every row at once: one searchsorted over the rows' CDFs laid
    end to end (row r's CDF shifted by 2r, so rows never overlap)."""
    rows, k = probs.shape
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    shift = 2.0 * np.arange(rows)[:, None]
    u = rng.random((rows, n))
    flat = np.searchsorted((cdf + shift).ravel(), (u + shift).ravel(), side="right")
    idx = flat.reshape(rows, n) - k * np.arange(rows)[:, None]
    # rounding can push u + 2r onto the next row: fall back to the row's last positive
    last = k - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    return np.minimum(np.maximum(idx, 0), last[:, None])


def poisson(input, generator=None) -> Tensor:
    """Poisson samples with rates ``input`` (floating, non-negative), in its dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    _require_float(input.dtype, "poisson_cpu", allow_complex=False)
    lam = input._data
    if (lam < 0).any() or np.isnan(lam).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    arr = np.asarray(default_rng(generator).poisson(lam.astype(np.float64))).astype(lam.dtype)
    return _result(arr, "PoissonBackward0", (input,), None, "poisson")


# ---------------------------------------------------------------------------------------
# in-place samplers (Tensor methods)

def _from_to_kwargs(args, kwargs, defaults, fn):
    """Bind positional/keyword ``from``/``to``-style parameters (``from`` is a Python
    keyword, so it can only come positionally or through ``**{'from': ...}``)."""
    names = list(defaults)
    if len(args) > len(names):
        raise TypeError(f"{fn}() takes at most {len(names)} positional arguments "
                        f"({len(args)} given)")
    vals = dict(defaults)
    for n, a in zip(names, args):
        vals[n] = a
    for n, a in kwargs.items():
        if n not in vals:
            raise TypeError(f"{fn}() got an unexpected keyword argument '{n}'")
        if names.index(n) < len(args):
            raise TypeError(f"{fn}() got multiple values for argument '{n}'")
        vals[n] = a
    return vals


def _uniform_(self, *args, generator=None, **kwargs):
    """Fill with samples uniform in [from, to) (defaults 0 and 1)."""
    v = _from_to_kwargs(args, kwargs, {"from": 0.0, "to": 1.0}, "uniform_")
    lo, hi = _py_number(v["from"], "uniform_", "from"), _py_number(v["to"], "uniform_", "to")
    d = self.dtype
    _require_float(d, "check_uniform_bounds")
    if lo > hi:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_g(lo)} > to={_g(hi)}")
    npd = self._data.dtype
    real = np.dtype(npd.type(0).real.dtype)
    big = float(np.finfo(real).max) if real.itemsize > 2 or real == np.float16 else 3.39e38
    for name, x in (("from", lo), ("to", hi)):
        if not math.isfinite(x) or abs(x) > big:
            raise RuntimeError(f"{name} is out of bounds for {_CTYPE.get(real.name, real.name)}")
    if hi - lo > big:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{_legacy(d)}>::"
                           f"max(), but found to={_g(hi)} and from={_g(lo)} which result in "
                           "to-from to exceed the limit")
    u = uniform_array(default_rng(generator), self._data.shape, npd)
    with np.errstate(all="ignore"):
        if npd.kind == "c":
            arr = (lo + (hi - lo) * u.real.astype(np.float64)).astype(real) + \
                1j * (lo + (hi - lo) * u.imag.astype(np.float64)).astype(real)
            arr = arr.astype(npd)
        else:
            arr = (lo + (hi - lo) * u.astype(np.float64)).astype(npd)
            if hi > lo:                         # rounding must not reach the open end
                top = np.nextafter(npd.type(hi), npd.type(-np.inf))
                arr = np.where(arr >= npd.type(hi), top, arr).astype(npd, copy=False)
    return _fill(self, arr, "UniformBackward0")


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples of the given mean and standard deviation."""
    mean, std = _py_number(mean, "normal_", "mean"), _py_number(std, "normal_", "std")
    _require_float(self.dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_g(std)}")
    npd = self._data.dtype
    z = normal_array(default_rng(generator), self._data.shape, npd)
    with np.errstate(all="ignore"):
        arr = (mean + std * z).astype(npd, copy=False) if npd.kind == "c" else \
            _affine(z, mean, std, npd)
    return _fill(self, arr, "NormalBackward0")


def _bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples: probability ``p`` (a number, or a tensor broadcastable to
    this tensor's shape)."""
    rng = default_rng(generator)
    npd = self._data.dtype
    if isinstance(p, Tensor):
        _require_float(p.dtype, "bernoulli_tensor_cpu_p_", allow_complex=False)
        try:
            probs = np.broadcast_to(p._data, self._data.shape)
        except ValueError:
            raise RuntimeError(_expand_message(p._data.shape, self._data.shape)) from None
        if not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false. "
                               "(bernoulli_: every probability must be in [0, 1])")
        arr = np.asarray(rng.random(self._data.shape) < probs).astype(npd)
        return _fill(self, arr, "BernoulliBackward1")
    p = _py_number(p, "bernoulli_", "p")
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_g(p)}")
    arr = np.asarray(rng.random(self._data.shape) < p).astype(npd)
    return _fill(self, arr, "BernoulliBackward2")


def _expand_message(src, dst):
    for i in range(1, len(dst) + 1):
        a = src[-i] if i <= len(src) else 1
        if a != dst[-i] and a != 1:
            return (f"The expanded size of the tensor ({dst[-i]}) must match the existing size "
                    f"({a}) at non-singleton dimension {len(dst) - i}.  Target sizes: "
                    f"{list(dst)}.  Tensor sizes: {list(src)}")
    return (f"The expand of the tensor of sizes {list(src)} to {list(dst)} is not possible: "
            "too many dimensions")


def _random_(self, *args, generator=None, **kwargs):
    """Fill with integers: ``random_()`` over the dtype's whole exactly-representable
    non-negative range, ``random_(to)`` over [0, to), ``random_(from, to)`` over [from, to)
    (``to=None``: up to the dtype's maximum)."""
    if len(args) == 1 and not kwargs:
        v = {"from": 0, "to": args[0]}
        name = "RandomBackward1"
    else:
        v = _from_to_kwargs(args, kwargs, {"from": 0, "to": None}, "random_")
        name = "RandomBackward0" if (args or kwargs) else "RandomBackward2"
        if not args and set(kwargs) == {"to"}:
            name = "RandomBackward1"
    d = self.dtype
    lo = _int_param(v["from"], "random_", "from", 1)
    _, dmax = _int_bounds(d)
    if v["to"] is None:
        hi_inclusive = dmax
        if not (d.is_floating_point or d.is_complex) and lo > dmax:
            raise RuntimeError(f"from is out of bounds for {_CTYPE.get(d.name, d.name)}")
    else:
        hi = _int_param(v["to"], "random_", "to", 2)
        if lo >= hi:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={lo} >= to={hi}")
        hi_inclusive = hi - 1
        _check_from_to(lo, hi_inclusive, d)
    arr = _discrete(default_rng(generator), lo, hi_inclusive, self._data.shape,
                    self._data.dtype)
    return _fill(self, arr, name)


def _continuous_only(self, what):
    if not (self.dtype.is_floating_point or self.dtype.is_complex):
        raise RuntimeError(f"{what} distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{_legacy(self.dtype)}")


def _exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate ``lambd`` (density ``lambd * exp(-lambd x)``)."""
    lambd = _py_number(lambd, "exponential_", "lambd")
    _continuous_only(self, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_g(lambd)}")
    npd = self._data.dtype
    e = np.asarray(default_rng(generator).standard_exponential(self._data.shape))
    return _fill(self, (e / lambd).astype(npd), "ExponentialBackward0")


def _geometric_(self, p, *, generator=None):
    """Fill with geometric samples: the number of Bernoulli(p) trials up to the first
    success (1, 2, ...)."""
    p = _py_number(p, "geometric_", "p")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_g(p)}")
    npd = self._data.dtype
    g = np.asarray(default_rng(generator).geometric(p, size=self._data.shape))
    with np.errstate(all="ignore"):
        return _fill(self, g.astype(npd), "GeometricBackward0")


def _log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with ``exp(N(mean, std))`` samples."""
    mean, std = _py_number(mean, "log_normal_", "mean"), _py_number(std, "log_normal_", "std")
    _require_float(self.dtype, "log_normal_cpu", allow_complex=False)
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_g(std)}")
    npd = self._data.dtype
    z = np.asarray(default_rng(generator).standard_normal(self._data.shape))
    with np.errstate(all="ignore"):
        return _fill(self, np.exp(mean + std * z).astype(npd), "LogNormalBackward0")


def _cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples (location ``median``, scale ``sigma``)."""
    median = _py_number(median, "cauchy_", "median")
    sigma = _py_number(sigma, "cauchy_", "sigma")
    _continuous_only(self, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={_g(sigma)}")
    npd = self._data.dtype
    c = np.asarray(default_rng(generator).standard_cauchy(self._data.shape))
    with np.errstate(all="ignore"):
        return _fill(self, (median + sigma * c).astype(npd), "CauchyBackward0")


def _bernoulli_method(self, p=None, *, generator=None):
    """``bernoulli(self)`` (probabilities) or ``bernoulli(self, p)``."""
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


for _name, _fn in (("uniform_", _uniform_), ("normal_", _normal_), ("bernoulli_", _bernoulli_),
                   ("random_", _random_), ("exponential_", _exponential_),
                   ("geometric_", _geometric_), ("log_normal_", _log_normal_),
                   ("cauchy_", _cauchy_), ("bernoulli", _bernoulli_method),
                   ("multinomial", _multinomial_method)):
    _fn.__name__ = _name
    setattr(Tensor, _name, _fn)
del _name, _fn
