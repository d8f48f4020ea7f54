"""Saving and loading: ``ember.save(obj, f)`` and ``ember.load(f)``, PyTorch's API.

Loading never executes code from the file
-----------------------------------------
``ember.load`` has no unsafe mode. Whatever ``weights_only`` says, a checkpoint can only
produce tensors, Parameters, containers (dict, OrderedDict, list, tuple, set, namedtuple),
numbers, strings, bytes, None, ember dtypes/devices/Sizes, plain NumPy arrays and scalars,
and (with ``weights_only=False`` or the default ``None``) instances of ``ember.nn.Module``
subclasses whose defining module is **already imported** (ember never imports a module a
file names, since importing runs code; import your model's module, or define the class in
your script, before loading). Such modules are rebuilt the way pickle rebuilds any object
(``cls.__new__(cls)`` then ``__setstate__(saved __dict__)``) but the class is never called.
A file that names anything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``,
``functools.partial``, ``getattr``, NumPy functions, ...) is refused with
``pickle.UnpicklingError: Weights only load failed ... Unsupported global: GLOBAL os.system``
before anything runs. (The one use of ``getattr`` allowed, outside ``weights_only=True``, is
``getattr(module, "method")`` re-binding a method of a Module rebuilt from the same file,
which is how an uninitialised lazy module stores its hooks; nothing is called.) NumPy
arrays, scalars and dtypes of plain (non-object) dtypes are rebuilt through checked
stand-ins for NumPy's own reconstruction functions. Classes you trust can be allowed with
``add_safe_globals([...])`` or the ``safe_globals([...])`` context manager, as in PyTorch.

``weights_only=True`` additionally refuses pickled modules (whole models).

The file format (the default): PyTorch's zip format, plus an ember description
---------------------------------------------------------------------------------
``ember.save`` writes the zip archive ``torch.save`` writes, so ``torch.load(path,
weights_only=True)`` reads ember checkpoints of tensors, state dicts and optimizer states
directly, and ``ember.load`` reads PyTorch's::

    archive/data.pkl                 the object, pickled (protocol 2) with torch's globals:
                                     torch._utils._rebuild_tensor_v2, _rebuild_parameter,
                                     torch.FloatStorage..., torch.float32..., torch.Size,
                                     torch.device, collections.OrderedDict
    archive/.format_version          "1"
    archive/.storage_alignment       "64"
    archive/byteorder                "little"
    archive/data/<key>               raw little-endian bytes of one storage (the memory
                                     behind one tensor and all its views), 64-byte aligned
    archive/.ember/tree.json         ember's own description of the object (see below)
    archive/version                  "3"
    archive/.data/serialization_id   a random id

Records are stored uncompressed with 64-byte aligned data, so ``mmap=True`` maps storages
straight from the file.

``archive/.ember/tree.json`` is written whenever the object is plain data (everything in
the first list above except Modules). ``ember.load`` then rebuilds the object from it and
the storages **without unpickling at all**; ``data.pkl`` serves PyTorch and older readers.
Its layout (UTF-8 JSON)::

    {"format": "ember.tree", "version": 1,
     "storages": {"<key>": {"dtype": "float32", "numel": 6}, ...},
     "root": NODE}

(a storage's dtype is an ember dtype name, or a NumPy dtype string such as ``"<u2"`` for
arrays of dtypes ember lacks).

A NODE is a JSON ``null``/``true``/``false``/integer/string, a finite float (a JSON number
with a fraction or exponent), or an object whose ``"$"`` names its kind:

* ``{"$": "float", "value": "nan" | "inf" | "-inf"}``
* ``{"$": "complex", "real": x, "imag": y}``, ``{"$": "bytes", "base64": "..."}``
* ``{"$": "list" | "tuple" | "set" | "frozenset" | "size", "id": n, "items": [NODE...]}``
* ``{"$": "dict" | "odict", "id": n, "items": [[KEY, VALUE]...], "attrs": [[name, NODE]...]}``
  (keys are NODEs, so int keys survive; ``attrs`` holds attributes of an OrderedDict such
  as a state dict's ``_metadata``)
* ``{"$": "namedtuple", "id": n, "module": m, "qualname": q, "fields": [...], "items": [...]}``
  (loaded as that class when it is already imported and has those fields, else as a new
  ``collections.namedtuple`` with the same name and fields)
* ``{"$": "tensor", "id": n, "storage": key, "dtype": "float32", "shape": [...],
  "stride": [...], "offset": k, "requires_grad": b, "parameter": b}`` (elements, not bytes)
* ``{"$": "ndarray", "id": n, "storage": key, "dtype": "<f8", "shape": [...],
  "stride": [...], "offset": k}`` and ``{"$": "npscalar", "dtype": "<f8", "base64": ...}``
* ``{"$": "dtype", "name": "float32"}``, ``{"$": "device", "type": "cpu", "index": null}``
* ``{"$": "ref", "id": n}``: the object with that id again (ids count containers, tensors
  and arrays in depth-first order). The same tensor saved twice is one tensor after
  loading; tensors that viewed the same memory view the same storage again.

Why PyTorch's container is the default: the two frameworks then exchange checkpoints with
no conversion step, in both directions, and nothing is lost, since reading ``data.pkl``
with ember's restricted unpickler is itself safe. ``save_torch_compatible`` additionally
checks that the object is something ``torch.load(weights_only=True)`` accepts.

Writes to a path are atomic: the archive is written to a temporary file in the same
directory, flushed and fsync'ed, then renamed over the target with ``os.replace``, so a
process killed mid-save leaves the previous file intact (and, at worst, a stray
``.<name>.<random>.tmp`` file). File-like objects (``io.BytesIO``) are written directly.

Not supported: writing the legacy (pre-1.6, non-zip) format (reading it is), TorchScript
archives, torch tensor types ember lacks (uint16/32/64, float8, quantized), sparse tensors.
bfloat16 tensors load as bfloat16 when the optional ``ml_dtypes`` package is installed,
else as float32 with a warning.
"""
from __future__ import annotations

import base64
import collections
import io
import json
import math
import os
import pickle
import stat
import sys
import tempfile

import numpy as np

from . import _dtype
from . import _torch_zip as _tz
from ._device import device as _device_cls
from ._size import Size
from ._tensor import Tensor, _wrap
from ._torch_zip import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = [
    "DEFAULT_PROTOCOL",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "load",
    "safe_globals",
    "save",
    "save_torch_compatible",
]

DEFAULT_PROTOCOL = 2
TREE_RECORD = ".ember/tree.json"
TREE_FORMAT = "ember.tree"
TREE_VERSION = 1

# ---------------------------------------------------------------------------------------
# The ember tree: a JSON description of plain-data objects


class _NotATree(Exception):
    """The object holds something the tree cannot describe (a Module, a user class)."""


def _np_plain(dt: np.dtype) -> bool:
    return dt.kind in "biufc" or (dt.kind == "?")


class _TreeEncoder:
    def __init__(self, table, strict=False):
        self.table = table
        self.strict = strict               # refuse what torch.load(weights_only) cannot read
        self.ids = {}                      # id(obj) -> node id
        self.keep = []                     # keep encoded objects alive (ids stay unique)
        self.active = set()                # containers being encoded (cycle detection)
        self.storages = {}

    def _memo(self, obj):
        n = len(self.ids)
        self.ids[id(obj)] = n
        self.keep.append(obj)
        return n

    def encode(self, obj):
        t = type(obj)
        if obj is None or t is bool or t is str or t is int:
            return obj
        if t is float:
            if math.isfinite(obj):
                return obj
            return {"$": "float", "value": "nan" if math.isnan(obj) else
                    ("inf" if obj > 0 else "-inf")}
        ref = self.ids.get(id(obj))
        if ref is not None:
            if id(obj) in self.active:
                raise _NotATree("a self-referencing object")
            return {"$": "ref", "id": ref}
        if t is complex:
            return {"$": "complex", "real": self.encode(obj.real), "imag": self.encode(obj.imag)}
        if t is bytes:
            return {"$": "bytes", "base64": base64.b64encode(obj).decode("ascii")}
        if t is _dtype.dtype:
            return {"$": "dtype", "name": obj.name}
        if t is _device_cls:
            return {"$": "device", "type": obj.type, "index": obj.index}
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if isinstance(obj, (np.ndarray, np.generic)):
            return self._numpy(obj)
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset", Size: "size",
                dict: "dict", collections.OrderedDict: "odict"}.get(t)
        if kind is None and isinstance(obj, tuple) and hasattr(t, "_fields"):
            kind = "namedtuple"
        if kind is None:
            raise _NotATree(f"a {t.__module__}.{t.__qualname__}")
        node = {"$": kind, "id": self._memo(obj)}
        self.active.add(id(obj))
        try:
            if kind in ("dict", "odict"):
                node["items"] = [[self.encode(k), self.encode(v)] for k, v in obj.items()]
                attrs = getattr(obj, "__dict__", None)
                if attrs:
                    node["attrs"] = [[k, self.encode(v)] for k, v in attrs.items()]
            elif kind == "namedtuple" or (kind == "frozenset" and self.strict):
                if self.strict and kind == "frozenset":
                    raise _NotATree("a frozenset (torch.load(weights_only=True) refuses it)")
                if self.strict:
                    raise _NotATree("a namedtuple (torch.load(weights_only=True) refuses "
                                    "its class)")
                node.update(module=t.__module__, qualname=t.__qualname__,
                            fields=list(t._fields), items=[self.encode(v) for v in obj])
            else:
                items = obj
                if kind in ("set", "frozenset"):
                    items = sorted(obj, key=repr) if _sortable(obj) else list(obj)
                node["items"] = [self.encode(v) for v in items]
        finally:
            self.active.discard(id(obj))
        return node

    def _declare(self, ref):
        self.storages[ref.key] = {"dtype": ref.dtype_name or ref.flat.dtype.str,
                                  "numel": ref.numel}

    def _tensor(self, t):
        from .nn.parameter import Parameter, is_lazy
        if type(t) not in (Tensor, Parameter) or is_lazy(t):
            raise _NotATree(f"a {type(t).__name__}")
        n = self._memo(t)
        ref, offset, strides = self.table.locate(t._data)
        self._declare(ref)
        return {"$": "tensor", "id": n, "storage": ref.key, "dtype": t.dtype.name,
                "shape": list(t._data.shape), "stride": list(strides), "offset": offset,
                "requires_grad": bool(t._requires_grad), "parameter": type(t) is Parameter}

    def _numpy(self, a):
        if self.strict:
            raise _NotATree("a NumPy object (torch.load(weights_only=True) refuses NumPy's "
                            "globals; convert it with ember.from_numpy or .item())")
        if not _np_plain(a.dtype) or type(a) not in (np.ndarray,) and \
                not isinstance(a, np.generic):
            raise _NotATree(f"a NumPy {type(a).__name__} of dtype {a.dtype}")
        if isinstance(a, np.generic):
            return {"$": "npscalar", "dtype": a.dtype.str,
                    "base64": base64.b64encode(a.tobytes()).decode("ascii")}
        n = self._memo(a)
        ref, offset, strides = self.table.locate(a)
        self._declare(ref)
        return {"$": "ndarray", "id": n, "storage": ref.key, "dtype": a.dtype.str,
                "shape": list(a.shape), "stride": list(strides), "offset": offset}


def _sortable(items):
    # a deterministic order for sets of simple values; others keep iteration order
    return all(type(x) in (int, float, str, bool) for x in items)


def encode_tree(obj, table, strict=False):
    """The tree JSON (bytes) for ``obj``, or None when ``obj`` is not plain data."""
    enc = _TreeEncoder(table, strict)
    try:
        root = enc.encode(obj)
    except (_NotATree, RecursionError):
        if strict:
            raise
        return None
    doc = {"format": TREE_FORMAT, "version": TREE_VERSION, "storages": enc.storages,
           "root": root}
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode("utf-8")


class _TreeDecoder:
    def __init__(self, doc, storages):
        self.storages = storages           # _tz.StorageLoader
        self.objects = {}
        self.decl = doc.get("storages", {})
        if not isinstance(self.decl, dict):
            raise TypeError("'storages' must be an object")

    def _register(self, node, obj):
        n = node.get("id")
        if not isinstance(n, int) or isinstance(n, bool) or n in self.objects:
            raise ValueError(f"bad or repeated node id {n!r}")
        self.objects[n] = obj
        return obj

    def decode(self, node):
        if node is None or type(node) in (bool, int, str):
            return node
        if type(node) is float:
            return node
        if type(node) is not dict:
            raise ValueError(f"unexpected JSON value {type(node).__name__}")
        kind = node.get("$")
        if kind == "ref":
            try:
                return self.objects[node["id"]]
            except (KeyError, TypeError):
                raise ValueError(f"reference to unknown node {node.get('id')!r}") from None
        if kind == "float":
            value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(node.get("value"))
            if value is None:
                raise ValueError(f"bad float {node.get('value')!r}")
            return value
        if kind == "complex":
            re_, im = self.decode(node["real"]), self.decode(node["imag"])
            if not isinstance(re_, (int, float)) or not isinstance(im, (int, float)):
                raise ValueError("complex parts must be numbers")
            return complex(re_, im)
        if kind == "bytes":
            return base64.b64decode(node["base64"], validate=True)
        if kind == "dtype":
            return _dtype._BY_NAME[node["name"]]
        if kind == "device":
            index = node.get("index")
            if index is not None and (type(index) is not int):
                raise ValueError("device index must be an int")
            return _device_cls(str(node["type"]), index)
        if kind in ("list", "dict", "odict", "set"):
            obj = {"list": list, "dict": dict, "odict": collections.OrderedDict,
                   "set": set}[kind]()
            self._register(node, obj)
            if kind == "list":
                obj.extend(self.decode(v) for v in self._items(node))
            elif kind == "set":
                obj.update(self.decode(v) for v in self._items(node))
            else:
                for pair in self._items(node):
                    if not (isinstance(pair, list) and len(pair) == 2):
                        raise ValueError("dict items must be [key, value] pairs")
                    obj[self.decode(pair[0])] = self.decode(pair[1])
                for pair in node.get("attrs", ()):
                    if kind != "odict" or not (isinstance(pair, list) and len(pair) == 2 and
                                               isinstance(pair[0], str)):
                        raise ValueError("bad attrs")
                    obj.__dict__[pair[0]] = self.decode(pair[1])
            return obj
        if kind in ("tuple", "frozenset", "size"):
            items = [self.decode(v) for v in self._items(node)]
            obj = {"tuple": tuple, "frozenset": frozenset, "size": Size}[kind](items)
            return self._register(node, obj)
        if kind == "namedtuple":
            items = [self.decode(v) for v in self._items(node)]
            return self._register(node, _namedtuple(node, items))
        if kind == "tensor":
            return self._register(node, self._tensor(node))
        if kind == "ndarray":
            return self._register(node, self._ndarray(node))
        if kind == "npscalar":
            dt = _plain_np_dtype(node["dtype"])
            data = base64.b64decode(node["base64"], validate=True)
            if len(data) != dt.itemsize:
                raise ValueError("numpy scalar has the wrong number of bytes")
            return np.frombuffer(data, dtype=dt)[0]
        raise ValueError(f"unknown node kind {kind!r}")

    @staticmethod
    def _items(node):
        items = node.get("items")
        if not isinstance(items, list):
            raise TypeError(f"node {node.get('$')!r} needs an 'items' list")
        return items

    def _storage(self, node):
        key = node.get("storage")
        if not isinstance(key, str) or not isinstance(self.decl.get(key), dict):
            raise KeyError(f"storage {key!r} is not declared")
        return self.storages.get(key)

    def _tensor(self, node):
        from .nn.parameter import Parameter
        dt = _dtype._BY_NAME.get(node.get("dtype"))
        if dt is None:
            raise ValueError(f"unknown dtype {node.get('dtype')!r}")
        arr = _tz.strided_view(self._storage(node).typed(dt), node["offset"],
                               node["shape"], node["stride"])
        rg = node.get("requires_grad", False)
        if type(rg) is not bool:
            raise ValueError("requires_grad must be a bool")
        if node.get("parameter"):
            return Parameter(_wrap(arr), requires_grad=rg)
        t = _wrap(arr)
        if rg:
            t.requires_grad_(True)
        return t

    def _ndarray(self, node):
        dt = _plain_np_dtype(node.get("dtype"))
        raw = self._storage(node)._raw
        if raw.nbytes % dt.itemsize:
            raise ValueError("array storage size is not a multiple of its item size")
        flat = raw.view(dt.newbyteorder("<")) if dt.itemsize > 1 else raw.view(dt)
        arr = _tz.strided_view(flat, node["offset"], node["shape"], node["stride"])
        return arr.astype(dt.newbyteorder("="), copy=False) if dt.itemsize > 1 else arr


def _plain_np_dtype(spec):
    if not isinstance(spec, str) or len(spec) > 8:
        raise ValueError(f"bad numpy dtype {spec!r}")
    dt = np.dtype(spec)
    if not _np_plain(dt):
        raise ValueError(f"numpy dtype {spec!r} is not allowed")
    return dt


def _namedtuple(node, items):
    module, qualname, fields = node.get("module"), node.get("qualname"), node.get("fields")
    if not (isinstance(module, str) and isinstance(qualname, str) and isinstance(fields, list)
            and all(isinstance(f, str) for f in fields) and len(fields) == len(items)):
        raise ValueError("bad namedtuple node")
    cls = _existing_class(module, qualname)
    if not (issubclass(type(cls), type) and issubclass(cls, tuple) and
            tuple(getattr(cls, "_fields", ())) == tuple(fields)):
        cls = collections.namedtuple(qualname.rpartition(".")[2], fields)
    return tuple.__new__(cls, items)      # no user __new__/__init__ runs


def _existing_class(module, qualname):
    """The class ``module.qualname`` if its module is already imported (dict lookups only)."""
    mod = sys.modules.get(module)
    if not isinstance(mod, type(sys)):
        return None
    obj = _tz.lookup_static(mod, qualname)
    return None if obj is _tz._MISSING else obj


def decode_tree(data: bytes, storages):
    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != TREE_FORMAT:
        raise ValueError("not an ember tree")
    if doc.get("version") != TREE_VERSION:
        raise ValueError(f"unsupported ember tree version {doc.get('version')!r} (this ember "
                         f"reads version {TREE_VERSION})")
    return _TreeDecoder(doc, storages).decode(doc.get("root"))


# ---------------------------------------------------------------------------------------
# save


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


def _build_records(obj, protocol, strict=False, byteorder_record=True):
    table = _tz.StorageTable()
    if strict:
        try:
            encode_tree(obj, _tz.StorageTable(), strict=True)
        except _NotATree as e:
            raise TypeError(f"save_torch_compatible: the object holds {e}, which "
                            f"torch.load(weights_only=True) refuses; save tensors, state "
                            f"dicts and containers of numbers/strings only") from None
    pkl = _tz.dumps(obj, table, protocol)
    tree = encode_tree(obj, table)
    records = [("data.pkl", pkl), (".format_version", b"1"),
               (".storage_alignment", str(_tz.ALIGNMENT).encode())]
    if byteorder_record:
        records.append(("byteorder", b"little"))
    records += [(f"data/{ref.key}", ref.little_endian_bytes()) for ref in table.refs]
    if tree is not None:
        records.append((TREE_RECORD, tree))
    records += [("version", b"3\n"),
                (".data/serialization_id", str(int.from_bytes(os.urandom(16), "little"))
                 .zfill(40).encode())]
    return records


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Save ``obj`` (a tensor, a state dict, an optimizer state, any nesting of containers,
    or a whole ``nn.Module``) to ``f``, in PyTorch's zip checkpoint format.

    Args:
        obj: what to save.
        f: a path (str or ``os.PathLike``; written atomically) or a writable binary
            file-like object such as ``io.BytesIO``.
        pickle_module: only the standard ``pickle`` module (or None) is accepted.
        pickle_protocol (int): protocol of ``data.pkl``, 2 to 5. Default: 2, as PyTorch.

    See the module docstring for the format and its guarantees.
    """
    if pickle_module not in (None, pickle):
        raise ValueError("ember.save writes with its own pickler; pickle_module must be None "
                         "or the standard pickle module")
    if not _use_new_zipfile_serialization:
        raise ValueError("ember.save only writes the zip format "
                         "(_use_new_zipfile_serialization=True); ember.load reads both")
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= 5:
        raise ValueError(f"pickle_protocol must be an int from 2 to 5, got {pickle_protocol!r}")
    _save(obj, f, pickle_protocol, strict=False, byteorder=not _disable_byteorder_record)


def save_torch_compatible(obj, f, pickle_protocol=DEFAULT_PROTOCOL) -> None:
    """Save ``obj`` in PyTorch's zip format after checking that ``torch.load(f,
    weights_only=True)`` will accept it: tensors, Parameters, dtypes, devices, Sizes and
    dict/OrderedDict/list/tuple/set nestings of them with numbers, strings, bytes and None
    (no Modules, NumPy objects or namedtuples; TypeError otherwise). The file is the same
    as ``ember.save`` writes."""
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= 5:
        raise ValueError(f"pickle_protocol must be an int from 2 to 5, got {pickle_protocol!r}")
    _save(obj, f, pickle_protocol, strict=True, byteorder=True)


def _save(obj, f, protocol, strict, byteorder):
    # everything is pickled before the file is touched: an unpicklable object leaves the
    # target as it was
    records = _build_records(obj, protocol, strict, byteorder)
    if _is_path(f):
        _atomic_write(f, lambda fh: _tz.write_archive(fh, records))
    elif hasattr(f, "write"):
        _tz.write_archive(f, records)
        flush = getattr(f, "flush", None)
        if flush is not None:
            flush()
    else:
        raise TypeError(f"f must be a path or a writable file-like object, got "
                        f"{type(f).__name__}")


def _umask():
    try:
        with open("/proc/self/status") as st:
            for line in st:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)                 # no /proc: read it by setting it (and restoring)
    os.umask(mask)
    return mask


def _atomic_write(path, write):
    path = os.fsdecode(os.fspath(path))
    target = os.path.realpath(path)        # through symlinks: replace the file, not the link
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {os.path.dirname(path) or '.'} does not exist.")
    if os.path.isdir(target):
        raise IsADirectoryError(f"ember.save: {path!r} is a directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()       # what open() would have created
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:                                   # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ---------------------------------------------------------------------------------------
# load

_CORRUPT = (ValueError, TypeError, KeyError, IndexError, EOFError, OverflowError,
            RecursionError, UnicodeDecodeError, AttributeError, __import__("struct").error)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load an object saved with ``ember.save`` or ``torch.save``.

    Args:
        f: a path or a readable binary file-like object (``io.BytesIO``).
        map_location: where storages go: None (where they were saved; CUDA raises, ember has
            only the CPU), ``'cpu'``, an ``ember.device``, a dict mapping saved locations to
            new ones (``{'cuda:0': 'cpu'}``), or a callable ``(storage, location)`` returning
            a storage or None.
        pickle_module: only None or the standard ``pickle`` module (ember always reads with
            its own restricted unpickler).
        weights_only (bool, optional): True refuses pickled modules (whole models); False or
            None (the default) also rebuilds already-imported ``nn.Module`` subclasses.
            Neither runs code from the file.
        mmap (bool, optional): memory-map storages from the file (copy-on-write) instead of
            reading them; ``f`` must be a path to a zip checkpoint.
        **pickle_load_args: ``encoding`` and ``errors`` for Python 2 strings
            (``encoding='latin1'``).

    Raises:
        pickle.UnpicklingError: the file names a global that is not allowed, or its pickle
            is malformed (the message names the file).
        RuntimeError: the file is truncated or corrupted (CRC or structure), or is not a
            checkpoint; storages mapped to CUDA.
    """
    if pickle_module not in (None, pickle):
        raise ValueError("ember.load reads with its own restricted unpickler; pickle_module "
                         "must be None or the standard pickle module")
    encoding = pickle_load_args.pop("encoding", "ASCII")
    errors = pickle_load_args.pop("errors", "strict")
    pickle_load_args.pop("fix_imports", None)
    if pickle_load_args:
        raise TypeError(f"load() got an unexpected keyword argument "
                        f"'{next(iter(pickle_load_args))}'")
    restore = _tz.make_restore(map_location)
    if _is_path(f):
        path = os.fsdecode(os.fspath(f))
        source = repr(path)
        with open(path, "rb") as fh:
            return _load_file(fh, source, path if mmap else None, restore, weights_only, mmap,
                              encoding, errors)
    if not hasattr(f, "read"):
        raise TypeError(f"f must be a path or a readable file-like object, got "
                        f"{type(f).__name__}")
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    name = getattr(f, "name", None)
    source = repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"
    if not _seekable(f):
        f = io.BytesIO(f.read())
    return _load_file(f, source, None, restore, weights_only, mmap, encoding, errors)


def _seekable(f):
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _load_file(fh, source, mmap_path, restore, weights_only, mmap, encoding, errors):
    start = fh.tell()
    magic = fh.read(4)
    fh.seek(start)
    if not magic:
        raise RuntimeError(f"ember.load: {source} is empty (0 bytes), not a checkpoint")
    policy = _tz.LoadPolicy(bool(weights_only), source)
    try:
        if magic.startswith(b"PK"):
            return _load_zip(fh, source, mmap_path, restore, policy, encoding, errors)
        if mmap:
            raise RuntimeError("mmap can only be used with files saved with the zip format "
                               "(_use_new_zipfile_serialization=True)")
        if magic[0] == pickle.PROTO[0]:
            return _tz.load_legacy(fh, source, policy, restore, encoding, errors)
    except _tz.PassThrough as e:
        raise e.error from None
    except pickle.UnpicklingError as e:
        if source in str(e):
            raise
        raise pickle.UnpicklingError(f"ember.load: failed to read {source}: {e}") from e
    except _CORRUPT as e:
        raise pickle.UnpicklingError(f"ember.load: {source} is corrupted or not a valid "
                                     f"checkpoint: {type(e).__name__}: {e}") from e
    raise pickle.UnpicklingError(f"invalid load key, {magic[:1]!r}: {source} is neither a "
                                 f"zip checkpoint nor a legacy PyTorch file")


def _load_zip(fh, source, mmap_path, restore, policy, encoding, errors):
    reader = _tz.ZipReader(fh, source, mmap_path)
    byteorder = "little"
    if reader.has("byteorder"):
        byteorder = reader.read("byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise RuntimeError(f"{source}: unknown byteorder {byteorder!r}")
    storages = _tz.StorageLoader(reader, restore, byteorder)
    if reader.has(TREE_RECORD):
        return decode_tree(reader.read(TREE_RECORD), storages)
    unpickler = _tz.RestrictedUnpickler(io.BytesIO(reader.read("data.pkl")), policy,
                                        storages.persistent_load, encoding, errors)
    return unpickler.load()


def get_unsafe_globals_in_checkpoint(f) -> list:
    """The ``module.name`` globals in a checkpoint's pickle that ``ember.load`` would refuse
    (with ``weights_only=False``), found by scanning it without running anything."""
    if _is_path(f):
        with open(os.fspath(f), "rb") as fh:
            return get_unsafe_globals_in_checkpoint(fh)
    name = getattr(f, "name", None)
    source = repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"
    policy = _tz.LoadPolicy(False, source)
    start = f.tell()
    magic = f.read(4)
    f.seek(start)
    if magic.startswith(b"PK"):
        return _tz.unsafe_globals(io.BytesIO(_tz.ZipReader(f, source).read("data.pkl")),
                                  policy)
    # legacy: magic number, protocol, system info, the object, the storage keys
    return _tz.unsafe_globals(f, policy, count=5)
