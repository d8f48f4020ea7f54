"""ember.save / ember.load: round trips through both readers (ember's JSON tree and the
restricted unpickler), whole modules, refusal of malicious pickles (nothing runs), atomic
writes (a save killed with SIGKILL leaves the old file), corrupted files, map_location,
weights_only, and PyTorch interop in both directions."""
import collections
import io
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember
from ember import _torch_zip as tz
from ember import nn, serialization

ALL_DTYPES = [ember.bool, ember.uint8, ember.int8, ember.int16, ember.int32, ember.int64,
              ember.float16, ember.float32, ember.float64, ember.complex64, ember.complex128]
if ember.bfloat16.np is not None:               # needs the optional ml_dtypes
    ALL_DTYPES.append(ember.bfloat16)

Point = collections.namedtuple("Point", ["x", "y"])


class Net(nn.Module):
    """A user-defined model (module-level, so it can be found by name when loading)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 5), nn.Tanh())
        self.head = nn.Linear(5, 2)
        self.register_buffer("scale", ember.tensor([2.0, 0.5]))
        self.name = "net"

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


class Outer:
    class Inner(nn.Module):                     # a nested class: saved by its dotted name
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x)


class Trap(nn.Module):
    """Calling this class would create a file: a pickle must not be able to call it."""

    def __init__(self, path=None):
        super().__init__()
        if path is not None:
            open(path, "w").close()


class Config:
    """A plain user class: refused unless allowlisted."""

    def __init__(self, lr=0.1):
        self.lr = lr


@pytest.fixture(params=["tree", "pickle"])
def reader(request, monkeypatch):
    """Which reader ember.load uses for ember's own files: the JSON tree (no unpickling) or,
    with the tree record hidden, data.pkl through the restricted unpickler."""
    if request.param == "pickle":
        monkeypatch.setattr(serialization, "TREE_RECORD", ".ember/absent.json")
    return request.param


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return ember.load(buf, **load_kwargs)


def assert_same_tensor(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.requires_grad == b.requires_grad
    an, bn = a.detach().numpy(), b.detach().numpy()
    if a.dtype is ember.bfloat16:
        an, bn = an.astype(np.float32), bn.astype(np.float32)
    np.testing.assert_array_equal(an, bn)


def values(dt, shape=(2, 3)):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 5
    if dt is ember.bool:
        return ember.tensor(x > 0)
    if dt.is_complex:
        return ember.tensor(x + 1j * (x + 1), dtype=dt)
    return ember.tensor(x, dtype=ember.float64).to(dt)


# ---------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", [(2, 3), (), (0,), (0, 3)], ids=str)
def test_tensor_roundtrip_every_dtype(reader, dt, shape):
    t = values(dt, shape)
    assert_same_tensor(roundtrip(t), t)


@pytest.mark.parametrize("make", [
    lambda x: x.t(), lambda x: x[:, ::2], lambda x: x[1:, 1:], lambda x: x.flip(0),
    lambda x: x[0].unsqueeze(0).expand(3, 4), lambda x: x.view(ember.int32)[1],
], ids=["transpose", "step", "offset", "flip", "expand", "dtype_view"])
def test_non_contiguous_views(reader, make):
    v = make(ember.arange(12.0).reshape(3, 4))
    out = roundtrip(v)
    assert_same_tensor(out, v)


def test_views_share_storage_after_loading(reader):
    x = ember.arange(12.0).reshape(3, 4)
    out = roundtrip({"x": x, "rows": x[1:], "t": x.t(), "again": x})
    assert out["again"] is out["x"]                 # the same object saved twice
    out["x"][1, 2] = 100.0                          # views see writes to their base
    assert out["rows"][0, 2].item() == 100.0
    assert out["t"][2, 1].item() == 100.0
    assert out["t"].stride() == (1, 4) and out["rows"].storage_offset() == 4


def test_requires_grad_and_parameters(reader):
    p = nn.Parameter(ember.ones(2, 2))
    frozen = nn.Parameter(ember.zeros(3), requires_grad=False)
    leaf = ember.tensor([1.0, 2.0], requires_grad=True)
    nonleaf = leaf * 2
    ints = nn.Parameter(ember.arange(3), requires_grad=False)
    out = roundtrip([p, frozen, leaf, nonleaf, ember.ones(1), ints])
    for a, b in zip(out, [p, frozen, leaf, nonleaf, ember.ones(1), ints]):
        assert type(a) is type(b) and a.requires_grad == b.requires_grad
        assert a.is_leaf
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert isinstance(out[0], nn.Parameter) and not isinstance(out[2], nn.Parameter)


def test_nested_structures(reader):
    obj = {
        "epoch": 7, "loss": 0.25, "best": float("inf"), "nan": math.nan, "big": 2 ** 80,
        "neg": -3, "flag": True, "none": None, "name": "run-1 ✓", "c": 1 - 2j,
        "bytes": b"\x00\xffab", "tuple": (1, (2.5, "x"), []), "list": [[], [[1]], {}],
        3: "int key", (1, 2): "tuple key", "set": {3, 1, 2}, "fs": frozenset({"a"}),
        "dtype": ember.float16, "device": ember.device("cpu"), "size": ember.Size([2, 3]),
        "point": Point(1, ember.ones(2)),
    }
    # the tree reader rebuilds namedtuples itself; the unpickler needs the class allowlisted
    with serialization.safe_globals([Point] if reader == "pickle" else []):
        out = roundtrip(obj)
    assert list(out) == list(obj)
    for k, v in obj.items():
        if k in ("nan", "point"):
            continue
        assert out[k] == v and type(out[k]) is type(v), k
    assert math.isnan(out["nan"])
    assert type(out["point"]) is Point and out["point"].x == 1
    assert_same_tensor(out["point"].y, ember.ones(2))
    assert out["dtype"] is ember.float16


def test_ordered_dict_order_and_metadata(reader):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = model.state_dict()
    od = collections.OrderedDict((k, v) for k, v in reversed(sd.items()))
    od._metadata = sd._metadata
    out = roundtrip(od)
    assert type(out) is collections.OrderedDict
    assert list(out) == list(od)
    assert out._metadata == sd._metadata
    for k in od:
        assert_same_tensor(out[k], od[k])


def test_shared_containers_keep_identity(reader):
    inner = [ember.ones(1)]
    out = roundtrip({"a": inner, "b": inner, "c": (inner, inner)})
    assert out["a"] is out["b"] is out["c"][0] is out["c"][1]


def test_numpy_values(reader):
    obj = {"acc": np.float64(0.75), "n": np.int64(3), "arr": np.arange(6.0).reshape(2, 3).T,
           "b": np.array([True, False]), "u16": np.array([1, 2], dtype=np.uint16)}
    out = roundtrip(obj)
    for k, v in obj.items():
        assert type(out[k]) is type(v) and out[k].dtype == v.dtype
        np.testing.assert_array_equal(out[k], v)


def test_checkpoint_with_optimizer_state(reader):
    ember.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = ember.optim.Adam(model.parameters(), lr=0.1)
    x = ember.randn(4, 3)
    model(x).pow(2).sum().backward()
    opt.step()
    ckpt = {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "loss": 1.5}
    out = roundtrip(ckpt)
    model2 = nn.Linear(3, 2)
    model2.load_state_dict(out["model"])
    opt2 = ember.optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(out["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.1 and out["epoch"] == 3
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_tree_path_never_unpickles(monkeypatch):
    def refuse(self):
        raise AssertionError("the tree reader must not unpickle")
    monkeypatch.setattr(tz.RestrictedUnpickler, "load", refuse)
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    out = roundtrip({"sd": model.state_dict(), "step": 4})
    assert list(out["sd"]) == ["0.weight", "0.bias"] and out["step"] == 4


def test_namedtuple_of_unknown_class_comes_back_as_lookalike():
    mod = type(sys)("ember_test_tmp_mod")
    mod.Pair = collections.namedtuple("Pair", ["a", "b"])
    mod.Pair.__module__ = "ember_test_tmp_mod"
    sys.modules["ember_test_tmp_mod"] = mod
    try:
        buf = io.BytesIO()
        ember.save({"p": mod.Pair(1, 2)}, buf)
    finally:
        del sys.modules["ember_test_tmp_mod"]
    out = ember.load(io.BytesIO(buf.getvalue()))["p"]
    assert out == (1, 2) and out.a == 1 and out._fields == ("a", "b")
    assert type(out).__name__ == "Pair" and type(out) is not mod.Pair


def test_save_to_file_objects(tmp_path):
    path = tmp_path / "x.pt"
    with open(path, "wb") as fh:
        ember.save({"w": ember.ones(3)}, fh)
    with open(path, "rb") as fh:
        assert_same_tensor(ember.load(fh)["w"], ember.ones(3))

    class ReadOnly:                              # not seekable: read whole, then parse
        def __init__(self, data):
            self._b = io.BytesIO(data)

        def read(self, n=-1):
            return self._b.read(n)

    assert_same_tensor(ember.load(ReadOnly(path.read_bytes()))["w"], ember.ones(3))
    assert_same_tensor(ember.load(str(path))["w"], ember.ones(3))


# ---------------------------------------------------------------------------------------
# whole modules


def _outputs_equal(a, b, x):
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)),
    Net,
    Outer.Inner,
    lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.2),
                          nn.Linear(4, 2)),
], ids=["sequential", "user_module", "nested_class", "batchnorm_dropout"])
def test_whole_model_roundtrip(tmp_path, make):
    ember.manual_seed(0)
    model = make()
    x = ember.randn(4, 3) if not isinstance(model, Outer.Inner) else ember.randn(4, 2)
    path = tmp_path / "model.pt"
    ember.save(model, path)
    loaded = ember.load(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    for (k1, v1), (k2, v2) in zip(model.state_dict(keep_vars=True).items(),
                                  loaded.state_dict(keep_vars=True).items()):
        assert k1 == k2 and type(v1) is type(v2)
    _outputs_equal(model, loaded, x)
    assert type(ember.load(path, weights_only=False)) is type(model)


def test_uninitialized_lazy_module_roundtrip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.LazyLinear(2))
    ember.save(model, tmp_path / "lazy.pt")
    loaded = ember.load(tmp_path / "lazy.pt")
    assert type(loaded[1]) is nn.LazyLinear and loaded[1].has_uninitialized_params()
    out = loaded(ember.randn(5, 3))                     # the re-bound hooks initialise it
    assert out.shape == (5, 2) and type(loaded[1]) is nn.Linear
    assert type(model[1]) is nn.LazyLinear             # the original is untouched


def test_whole_model_keeps_attributes_and_training_flag(tmp_path):
    model = Net().eval()
    ember.save(model, tmp_path / "m.pt")
    loaded = ember.load(tmp_path / "m.pt")
    assert loaded.name == "net" and loaded.training is False
    assert isinstance(loaded.head.weight, nn.Parameter) and loaded.head.weight.requires_grad
    assert_same_tensor(loaded.scale, model.scale)


def test_transformer_layer_roundtrip(tmp_path):
    # keeps a function of ember.nn.functional as an attribute (loaded as a reference)
    ember.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    ember.save(layer, tmp_path / "t.pt")
    loaded = ember.load(tmp_path / "t.pt")
    assert loaded.activation is layer.activation
    _outputs_equal(layer, loaded, ember.randn(2, 3, 8))


def test_weights_only_refuses_whole_modules(tmp_path):
    ember.save(Net(), tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"Unsupported global: GLOBAL "
                       r"\S*test_serialization\.Net.*weights_only=True") as info:
        ember.load(tmp_path / "m.pt", weights_only=True)
    assert str(tmp_path / "m.pt") in str(info.value)
    sd = ember.load(_saved(tmp_path, Net().state_dict()), weights_only=True)
    assert "head.weight" in sd


def _saved(tmp_path, obj, name="x.pt"):
    path = tmp_path / name
    ember.save(obj, path)
    return path


def test_user_classes_need_allowlisting(tmp_path):
    path = _saved(tmp_path, {"cfg": Config(0.5), "w": ember.ones(2)})
    with pytest.raises(pickle.UnpicklingError, match=r"Unsupported global: GLOBAL "
                       r"\S*test_serialization\.Config"):
        ember.load(path)
    assert any(name.endswith("test_serialization.Config")
               for name in serialization.get_unsafe_globals_in_checkpoint(path))
    with serialization.safe_globals([Config]):
        out = ember.load(path, weights_only=True)
    assert type(out["cfg"]) is Config and out["cfg"].lr == 0.5
    assert Config not in serialization.get_safe_globals()
    serialization.add_safe_globals([Config])
    try:
        assert ember.load(path)["cfg"].lr == 0.5
    finally:
        serialization.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        ember.load(path)


# ---------------------------------------------------------------------------------------
# malicious pickles: refused, and nothing runs


def crafted(module, name, args):
    """A pickle calling ``module.name(*args)`` on load (REDUCE of a GLOBAL)."""
    body = pickle.dumps(tuple(args), protocol=2)[2:-1]       # the opcodes pushing the args
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + body + b"R."


def as_checkpoint(data_pkl):
    buf = io.BytesIO()
    tz.write_archive(buf, [("data.pkl", data_pkl), ("version", b"3\n")])
    return buf.getvalue()


ATTACKS = [
    ("os", "system", lambda m: (f"touch {m}",)),
    ("posix", "system", lambda m: (f"touch {m}",)),
    ("builtins", "eval", lambda m: (f"open({str(m)!r}, 'w').close()",)),
    ("builtins", "exec", lambda m: (f"open({str(m)!r}, 'w').close()",)),
    ("subprocess", "Popen", lambda m: (["touch", str(m)],)),
    ("functools", "partial", lambda m: (str(m),)),
    ("numpy", "savetxt", lambda m: (str(m), [1.0])),
    ("ember.serialization", "save", lambda m: ({}, str(m))),
    ("torch.serialization", "load", lambda m: (str(m),)),
    ("builtins", "getattr", lambda m: ("os", "system")),
]


@pytest.mark.parametrize("container", ["zip", "legacy"])
@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("module,name,args", ATTACKS, ids=lambda a: a if isinstance(a, str)
                         else "")
def test_malicious_pickles_are_refused(tmp_path, container, weights_only, module, name, args):
    marker = tmp_path / "pwned"
    data = crafted(module, name, args(marker))
    path = tmp_path / "evil.pt"
    path.write_bytes(as_checkpoint(data) if container == "zip" else data)
    with pytest.raises(pickle.UnpicklingError,
                       match=rf"Unsupported global: GLOBAL {module}\.{name}") as info:
        ember.load(path, weights_only=weights_only)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_crafted_payloads_are_real(tmp_path):
    # the same bytes DO run code under plain pickle: the refusals above are not vacuous
    marker = tmp_path / "pwned"
    for module, name, args in ATTACKS[:4]:
        pickle.loads(crafted(module, name, args(marker)))
        assert marker.exists()
        marker.unlink()


def test_calling_a_module_class_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    data = crafted(Trap.__module__, "Trap", (str(marker),))
    with pytest.raises(pickle.UnpicklingError, match="Calling .*Trap is not allowed"):
        ember.load(io.BytesIO(as_checkpoint(data)))
    assert not marker.exists()


def test_modules_named_by_a_file_are_not_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "ember_evil_mod.py").write_text(textwrap.dedent(f"""
        open({str(marker)!r}, "w").close()
        import ember.nn
        class Net(ember.nn.Module):
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    data = b"\x80\x02cember_evil_mod\nNet\n)\x81."                  # NEWOBJ Net()
    with pytest.raises(pickle.UnpicklingError, match="Module 'ember_evil_mod' is not imported"):
        ember.load(io.BytesIO(as_checkpoint(data)))
    assert not marker.exists() and "ember_evil_mod" not in sys.modules


@pytest.mark.parametrize("data,match", [
    (b"(S'touch x'\nios\nsystem\n.", "unsupported or invalid pickle opcode b'i'"),
    (b"\x80\x02c__builtin__\nlist\n)R.", r"GLOBAL builtins\.list"),
    (b"\x80\x02ccopyreg\n_reconstructor\n.", r"GLOBAL copyreg\._reconstructor"),
    (b"\x80\x02ccollections\nOrderedDict\n)R}b.", None),                 # allowed: no error
    (b"\x80\x02}K\x03a.", "APPEND to a dict is not allowed"),
    (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(K\x00K\x00))tR.", "expected a storage"),
], ids=["INST", "list_call", "reconstructor", "odict_build", "append_to_dict", "no_storage"])
def test_malformed_and_forbidden_opcodes(data, match):
    buf = io.BytesIO(as_checkpoint(data))
    if match is None:
        assert ember.load(buf) == collections.OrderedDict()
        return
    with pytest.raises(pickle.UnpicklingError, match=match):
        ember.load(buf)


def test_storage_bounds_are_checked(tmp_path):
    # a tensor claiming more elements than its storage holds must not read past it
    path = _saved(tmp_path, {"w": ember.ones(4)})
    with zipfile.ZipFile(path) as z:
        records = [(i.filename.split("/", 1)[1], z.read(i.filename)) for i in z.infolist()
                   if not i.filename.endswith(".json")]
    records = [(n, d.replace(b"K\x04\x85", b"K\x09\x85") if n == "data.pkl" else d)
               for n, d in records]
    buf = io.BytesIO()
    tz.write_archive(buf, records)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="needs 9 elements but its storage has 4"):
        ember.load(buf)


# ---------------------------------------------------------------------------------------
# atomic writes


CHILD = textwrap.dedent("""
    import sys, time
    import ember
    from ember import _torch_zip as tz
    original = tz._write_data

    def slow(stream, data):
        mv = memoryview(data).cast("B")
        if len(mv) > 1_000_000:                      # the big storage: stall half-way
            stream.write(mv[:len(mv) // 2])
            stream.flush()
            print("WRITING", flush=True)
            time.sleep(120)
        original(stream, data)

    tz._write_data = slow
    ember.save({"w": ember.ones(1_000_000)}, sys.argv[1])
""")


def test_save_killed_midway_leaves_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save({"w": ember.zeros(3)}, path)
    before = path.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        assert line.strip() == b"WRITING", proc.stderr.read().decode()
        partial = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
        assert len(partial) == 1 and (tmp_path / partial[0]).stat().st_size > 1_000_000
        assert path.read_bytes() == before               # the target is untouched
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert_same_tensor(ember.load(path)["w"], ember.zeros(3))


def test_failed_save_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"w": ember.zeros(2)}, "c.pt")
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        ember.save({"f": lambda x: x}, path)             # unpicklable: fails before writing

    def broken(stream, data):
        raise OSError("disk full")
    monkeypatch.setattr(tz, "_write_data", broken)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"w": ember.ones(2)}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]      # no temporary file left behind


def test_save_permissions_and_symlinks(tmp_path):
    path = _saved(tmp_path, ember.ones(1), "new.pt")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    ember.save(ember.zeros(1), path)
    assert path.stat().st_mode & 0o777 == 0o640           # an existing file keeps its mode
    link = tmp_path / "link.pt"
    link.symlink_to(path)
    ember.save(ember.full((1,), 7.0), link)
    assert link.is_symlink() and ember.load(path).item() == 7.0
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        ember.save(ember.ones(1), tmp_path / "missing" / "x.pt")


# ---------------------------------------------------------------------------------------
# corrupted files


@pytest.mark.parametrize("damage,exc,match", [
    (lambda b: b[:len(b) // 2], RuntimeError, "failed finding central directory"),
    (lambda b: b[:100], RuntimeError, "failed finding central directory"),
    (lambda b: b"", RuntimeError, "is empty"),
    (lambda b: b"garbage!" * 10, pickle.UnpicklingError, "invalid load key"),
    (lambda b: _flip(b, b"\x00\x00\x80?" * 4), RuntimeError, "CRC-32 mismatch"),
    (lambda b: _flip(b, b'"format":"ember.tree"'), RuntimeError, "failed reading record"),
], ids=["half", "header_only", "empty", "garbage", "storage_bytes", "tree_bytes"])
def test_corrupted_files_name_the_path(tmp_path, damage, exc, match):
    path = _saved(tmp_path, {"w": ember.ones(1000)})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(exc, match=match) as info:
        ember.load(path)
    assert str(path) in str(info.value)


def _flip(data, needle):
    i = data.index(needle) + 2
    return data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:]


def test_corrupted_module_pickle_names_the_path(tmp_path):
    path = _saved(tmp_path, nn.Linear(2, 2))
    data = path.read_bytes()
    path.write_bytes(_flip(data, b"ember.nn.modules.linear"))
    with pytest.raises(RuntimeError, match="failed reading record 'archive/data.pkl'") as info:
        ember.load(path)
    assert str(path) in str(info.value)


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(RuntimeError, match="not a checkpoint.*data.pkl"):
        ember.load(path)


# ---------------------------------------------------------------------------------------
# map_location, weights_only, mmap, arguments


@pytest.fixture
def cuda_file(tmp_path, monkeypatch):
    """A checkpoint whose storages say they were saved on 'cuda:0' (as a GPU run's are)."""
    original = tz.TorchPickler.persistent_id

    def on_cuda(self, obj):
        pid = original(self, obj)
        return pid[:3] + ("cuda:0",) + pid[4:] if pid else pid
    with monkeypatch.context() as m:
        m.setattr(tz.TorchPickler, "persistent_id", on_cuda)
        m.setattr(serialization, "encode_tree", lambda *a, **k: None)
        return _saved(tmp_path, {"w": ember.arange(3.0)})


@pytest.mark.parametrize("map_location", [
    "cpu", ember.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage,
    lambda storage, loc: storage.cpu(),
], ids=["str", "device", "dict", "callable", "callable_cpu"])
def test_map_location_forms(cuda_file, map_location):
    out = ember.load(cuda_file, map_location=map_location)
    assert_same_tensor(out["w"], ember.arange(3.0))


def test_map_location_errors(cuda_file, tmp_path):
    with pytest.raises(RuntimeError, match="CUDA device but ember.cuda.is_available"):
        ember.load(cuda_file)
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.load(cuda_file, map_location=lambda s, loc: None)     # None: default restore
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.load(_saved(tmp_path, ember.ones(1), "cpu.pt"), map_location="cuda")
    with pytest.raises(TypeError, match="map_location should be"):
        ember.load(cuda_file, map_location=5)
    with pytest.raises(ValueError, match="boom"):
        ember.load(cuda_file, map_location=lambda s, loc: (_ for _ in ()).throw(
            ValueError("boom")))
    seen = []
    ember.load(cuda_file, map_location=lambda s, loc: seen.append((loc, s.nbytes())) or s)
    assert seen == [("cuda:0", 12)]


def test_mmap(tmp_path):
    path = _saved(tmp_path, {"w": ember.arange(6.0).reshape(2, 3), "b": ember.ones(2)})
    out = ember.load(path, mmap=True)
    assert_same_tensor(out["w"], ember.arange(6.0).reshape(2, 3))
    assert isinstance(tz._root_array(out["w"]._data), np.memmap)
    out["w"][0, 0] = 42.0                                # copy-on-write: file unchanged
    assert ember.load(path)["w"][0, 0].item() == 0.0
    with pytest.raises(ValueError, match="f must be a file path"):
        ember.load(io.BytesIO(path.read_bytes()), mmap=True)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="pickle_module"):
        ember.save(ember.ones(1), io.BytesIO(), pickle_module=object())
    with pytest.raises(ValueError, match="zip format"):
        ember.save(ember.ones(1), io.BytesIO(), _use_new_zipfile_serialization=False)
    with pytest.raises(TypeError, match="path or a writable"):
        ember.save(ember.ones(1), 42)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        ember.load(io.BytesIO(), bogus=1)
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "nope.pt")
    for protocol in (2, 3, 4, 5):                        # any protocol reads back
        buf = io.BytesIO()
        ember.save(Net(), buf, pickle_protocol=protocol)
        buf.seek(0)
        assert type(ember.load(buf)) is Net


def test_save_torch_compatible_refuses_what_torch_cannot_read(tmp_path):
    for bad in (Net(), {"a": np.float64(1.0)}, Point(1, 2), {"s": frozenset()}):
        with pytest.raises(TypeError, match="save_torch_compatible"):
            serialization.save_torch_compatible(bad, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


# ---------------------------------------------------------------------------------------
# PyTorch interop (skipped without torch)


def _torch_pair():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    em = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return tm, em


@requires_torch
def test_torch_state_dict_loads_into_ember_model(tmp_path):
    tm, em = _torch_pair()
    torch.save(tm.state_dict(), tmp_path / "t.pt")
    sd = ember.load(tmp_path / "t.pt", weights_only=True)
    assert type(sd) is collections.OrderedDict and sd._metadata["0"] == {"version": 1}
    em.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    assert_close(em(ember.tensor(x)), tm(torch.from_numpy(x)))


@requires_torch
@pytest.mark.parametrize("writer", ["save", "save_torch_compatible"])
def test_ember_state_dict_loads_into_torch_model(tmp_path, writer):
    tm, em = _torch_pair()
    getattr(serialization, writer)(em.state_dict(), tmp_path / "e.pt")
    tm.load_state_dict(torch.load(tmp_path / "e.pt", weights_only=True))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    assert_close(em(ember.tensor(x)), tm(torch.from_numpy(x)))
    mapped = torch.load(tmp_path / "e.pt", weights_only=True, mmap=True)   # 64-byte aligned
    assert torch.equal(mapped["0.weight"], tm[0].weight.detach())


@requires_torch
def test_ember_objects_read_by_torch(tmp_path):
    x = ember.arange(12.0).reshape(3, 4)
    obj = {"x": x, "v": x[1:, 1:], "t": x.t(), "p": nn.Parameter(ember.ones(2)),
           "i": ember.tensor([1, -2], dtype=ember.int8), "dt": ember.float16,
           "dev": ember.device("cpu"), "size": ember.Size([2]), "set": {1}, "b": b"xy",
           "c": 1j, 5: [None, (1.5, "s")]}
    ember.save(obj, tmp_path / "e.pt")
    out = torch.load(tmp_path / "e.pt", weights_only=True)
    assert out["v"].untyped_storage().data_ptr() == out["x"].untyped_storage().data_ptr()
    assert out["v"].storage_offset() == 5 and out["t"].stride() == (1, 4)
    assert isinstance(out["p"], torch.nn.Parameter) and out["p"].requires_grad
    assert out["dt"] is torch.float16 and out["dev"] == torch.device("cpu")
    assert out["size"] == torch.Size([2]) and out[5] == [None, (1.5, "s")]
    assert (out["set"], out["b"], out["c"]) == ({1}, b"xy", 1j)
    assert_close(ember.tensor(out["i"].numpy()), out["i"])


TORCH_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                "float64", "complex64", "complex128"]


@requires_torch
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_tensors_of_every_dtype_and_layout(tmp_path, legacy):
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6) - 7.5
    obj = {name: base.to(getattr(torch, name)) for name in TORCH_DTYPES}
    x = torch.arange(12.0).reshape(3, 4)
    obj.update(x=x, view=x[1:, 1:], t=x.t(), step=x[:, ::2], expand=x[0].expand(2, 4),
               zero_d=torch.tensor(3.5), empty=torch.zeros(0, 2), size=torch.Size([3]),
               dtype=torch.int32, param=torch.nn.Parameter(torch.ones(2)))
    torch.save(obj, tmp_path / "t.pt", _use_new_zipfile_serialization=not legacy)
    out = ember.load(tmp_path / "t.pt", weights_only=True)
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            assert_close(out[k], v.detach(), rtol=0, atol=0, msg=k)
            assert out[k].stride() == v.stride() or v.numel() == 0, k
    assert isinstance(out["param"], nn.Parameter) and out["param"].requires_grad
    assert out["size"] == ember.Size([3]) and out["dtype"] is ember.int32
    out["x"][1, 1] = 99.0                                # views share memory, as saved
    assert out["view"][0, 0].item() == 99.0 and out["t"][1, 1].item() == 99.0


@requires_torch
def test_torch_bfloat16(tmp_path):
    t = torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16)
    torch.save({"h": t}, tmp_path / "b.pt")
    if ember.bfloat16.np is None:
        with pytest.warns(UserWarning, match="bfloat16 .* loaded as float32"):
            out = ember.load(tmp_path / "b.pt")
        assert out["h"].dtype is ember.float32
    else:
        out = ember.load(tmp_path / "b.pt")
        assert out["h"].dtype is ember.bfloat16
    np.testing.assert_array_equal(out["h"].float().numpy(), t.float().numpy())


@requires_torch
def test_torch_files_ember_cannot_represent(tmp_path):
    torch.save({"u": torch.zeros(2, dtype=torch.uint16)}, tmp_path / "u.pt")
    with pytest.raises(RuntimeError, match="ember has no uint16 dtype"):
        ember.load(tmp_path / "u.pt")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL torch\.nn\.modules\.linear\."
                       r"Linear.*state_dict"):
        ember.load(tmp_path / "m.pt", weights_only=False)


@requires_torch
def test_torch_checkpoint_with_numpy_and_optimizer(tmp_path):
    tm, _ = _torch_pair()
    opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    tm(torch.ones(1, 4)).sum().backward()
    opt.step()
    torch.save({"opt": opt.state_dict(), "acc": np.float64(0.5), "arr": np.arange(3)},
               tmp_path / "c.pt")
    out = ember.load(tmp_path / "c.pt")
    assert out["acc"] == 0.5 and type(out["acc"]) is np.float64
    np.testing.assert_array_equal(out["arr"], np.arange(3))
    state = out["opt"]["state"][0]["momentum_buffer"]
    assert_close(state, opt.state_dict()["state"][0]["momentum_buffer"])
    assert out["opt"]["param_groups"][0]["lr"] == 0.1
