"""The ``ember`` command: ``ember train`` / ``ember predict`` on tiny settings (ember.cli).

Most runs are in-process through ``ember.cli.main([...])``; one goes through
``python -m ember`` in a subprocess. The digits data is bundled, so nothing is downloaded;
MNIST's layouts are exercised with small IDX files written here.
"""
import gzip
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import cli
from ember.train import data as tdata
from ember.train import loop
from ember.train.models import build_model

pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OUTPUTS = ("best.pt", "last.pt", "metrics.json", "curves.png", "confusion.png")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the shared short run: CNN on 400 digits, 2 epochs, constant learning rate
BASE = ["train", "--epochs", "2", "--limit", "400", "--scheduler", "none", "--no-progress"]


def run(argv, capsys):
    """``ember.cli.main(argv)`` -> (exit status, stdout, stderr)."""
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cnn"))
    assert cli.main(BASE + ["--out", out]) == 0
    return out


def read_metrics(out):
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        return json.load(f)


def check_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG" and min(img.size) >= 100


# -- training outputs ----------------------------------------------------------------------

def test_outputs_exist_and_are_valid(trained):
    for name in OUTPUTS:
        assert os.path.getsize(os.path.join(trained, name)) > 0, name
    check_png(os.path.join(trained, "curves.png"))
    check_png(os.path.join(trained, "confusion.png"))


def test_metrics_json_structure(trained):
    m = read_metrics(trained)
    assert m["finished"] is True and m["epochs_completed"] == 2
    assert m["args"]["model"] == "cnn" and m["args"]["data"] == "digits"
    assert m["args"]["epochs"] == 2 and m["args"]["limit"] == 400
    assert m["train_samples"] == 400 and m["test_samples"] == 359
    assert m["model_config"]["size"] == 8 and m["model_config"]["channels"] == 1
    assert [h["epoch"] for h in m["history"]] == [1, 2]
    for h in m["history"]:
        for key in ("train_loss", "test_loss", "train_seconds", "test_seconds", "lr"):
            assert np.isfinite(h[key]) and h[key] >= 0, key
        for key in ("train_acc", "test_acc"):
            assert 0.0 <= h[key] <= 1.0, key
    best = max(m["history"], key=lambda h: h["test_acc"])
    assert m["best"]["test_acc"] == best["test_acc"]
    assert m["best"]["epoch"] == best["epoch"]
    cm = np.array(m["best"]["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 359
    assert np.trace(cm) / 359 == pytest.approx(m["best"]["test_acc"])
    assert m["total_seconds"] == pytest.approx(sum(h["seconds"] for h in m["history"]))


def test_accuracy_above_chance(trained):
    # 10 classes: chance is 10%; 2 epochs on 400 digits reach about 80%
    assert read_metrics(trained)["best"]["test_acc"] > 0.5


def test_best_checkpoint_loads_and_reproduces_its_accuracy(trained):
    ckpt = ember.load(os.path.join(trained, "best.pt"), weights_only=True)
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "epoch", "metrics", "args",
                         "model_config"}
    m = read_metrics(trained)
    assert ckpt["epoch"] == m["best"]["epoch"]
    assert ckpt["args"] == m["args"]
    cfg = ckpt["model_config"]
    model = build_model(cfg["model"], cfg["channels"], cfg["size"], cfg["num_classes"])
    model.load_state_dict(ckpt["model"])
    _, test, spec, _ = tdata.load_dataset("digits")
    result = loop.evaluate(model, tdata.make_loader(test, 100, shuffle=False),
                           ember.nn.CrossEntropyLoss(), spec.num_classes)
    assert result["acc"] == m["best"]["test_acc"]
    opt = ember.optim.Adam(model.parameters())
    opt.load_state_dict(ckpt["optimizer"])   # a well-formed optimizer state


def test_train_prints_where_everything_went(tmp_path, capsys):
    rc, out, _ = run(["train", "--model", "mlp", "--epochs", "1", "--limit", "100",
                      "--no-progress", "--out", str(tmp_path)], capsys)
    assert rc == 0
    for name in OUTPUTS:
        assert os.path.join(str(tmp_path), name) in out
    assert "epoch   1/1" in out and "best test accuracy" in out


@pytest.mark.parametrize("model", ["mlp", "lstm", "resnet"])
def test_each_model_trains_on_digits(model, tmp_path, capsys):
    epochs, limit = ("1", "200") if model == "resnet" else ("2", "300")
    rc, _, err = run(["train", "--model", model, "--epochs", epochs, "--limit", limit,
                        "--scheduler", "none", "--no-progress", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    m = read_metrics(str(tmp_path))
    assert m["model_config"]["model"] == model
    assert len(m["history"]) == int(epochs)
    assert m["best"]["test_acc"] > 0.2        # chance is 0.1
    ember.load(os.path.join(str(tmp_path), "best.pt"), weights_only=True)


def test_progress_bar_shows_running_loss_and_accuracy(tmp_path, capsys):
    rc, _, err = run(["train", "--model", "mlp", "--epochs", "1", "--limit", "100",
                        "--out", str(tmp_path)], capsys)
    assert rc == 0
    assert "epoch 1/1" in err and "loss=" in err and "acc=" in err and "batch" in err


def test_python_dash_m_ember(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ember", "train", "--model", "mlp", "--epochs",
                           "1", "--limit", "200", "--no-progress", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "best test accuracy" in proc.stdout
    for name in OUTPUTS:
        assert os.path.isfile(os.path.join(str(tmp_path), name)), name


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad",
                                       "adadelta"])
def test_optimizers(optimizer, tmp_path, capsys):
    rc, _, err = run(["train", "--model", "mlp", "--optimizer", optimizer, "--epochs", "2",
                      "--limit", "300", "--no-progress", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    m = read_metrics(str(tmp_path))
    assert m["args"]["optimizer"] == optimizer
    assert m["best"]["test_acc"] > 0.2


@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "onecycle", "plateau"])
def test_schedulers(scheduler, tmp_path, capsys):
    rc, _, err = run(["train", "--model", "mlp", "--scheduler", scheduler, "--epochs", "3",
                      "--limit", "100", "--lr", "0.01", "--no-progress", "--out",
                      str(tmp_path)], capsys)
    assert rc == 0, err
    lrs = [h["lr"] for h in read_metrics(str(tmp_path))["history"]]
    if scheduler == "none":
        assert lrs == [0.01] * 3
    elif scheduler == "step":           # x0.1 every epochs // 3 = 1 epoch
        assert lrs == pytest.approx([0.01, 0.001, 0.0001])
    elif scheduler in ("cosine", "onecycle"):
        assert len(set(lrs)) == 3       # changes within the run (per batch)
    assert all(lr <= 0.01 + 1e-12 for lr in lrs)


def test_workers_give_the_same_run(tmp_path, capsys):
    args = ["train", "--model", "mlp", "--epochs", "1", "--limit", "200", "--no-progress"]
    assert run(args + ["--out", str(tmp_path / "w0")], capsys)[0] == 0
    assert run(args + ["--workers", "2", "--out", str(tmp_path / "w2")], capsys)[0] == 0
    h0 = read_metrics(str(tmp_path / "w0"))["history"][0]
    h2 = read_metrics(str(tmp_path / "w2"))["history"][0]
    assert read_metrics(str(tmp_path / "w2"))["args"]["workers"] == 2
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert h0[key] == h2[key], key


# -- resume --------------------------------------------------------------------------------

def test_resume_after_interrupt_matches_uninterrupted_run(trained, tmp_path, capsys,
                                                          monkeypatch):
    out = str(tmp_path)
    real = loop.train_one_epoch
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", interrupted)
    rc, _, err = run(BASE + ["--out", out], capsys)
    assert rc == 130 and "--resume" in err
    assert ember.load(os.path.join(out, "last.pt"), weights_only=True)["epoch"] == 1
    assert read_metrics(out)["epochs_completed"] == 1
    monkeypatch.setattr(loop, "train_one_epoch", real)

    rc, stdout, err = run(["train", "--resume", os.path.join(out, "last.pt"), "--no-progress"],
                          capsys)
    assert rc == 0, err
    assert "resuming" in stdout and "epoch   2/2" in stdout and "epoch   1/2" not in stdout
    resumed, full = read_metrics(out), read_metrics(trained)
    assert resumed["args"] == full["args"]
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    # the randomness of each epoch depends only on (seed, epoch), and the model, optimizer
    # and scheduler states are restored, so the resumed run is the uninterrupted one
    for a, b in zip(resumed["history"], full["history"]):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert a[key] == b[key], key


def test_resume_extends_training(tmp_path, capsys):
    out = str(tmp_path)
    args = ["--model", "mlp", "--limit", "100", "--scheduler", "step", "--no-progress"]
    assert run(["train", "--epochs", "1", "--out", out] + args, capsys)[0] == 0
    rc, stdout, err = run(["train", "--resume", os.path.join(out, "last.pt"), "--epochs", "3",
                           "--no-progress"], capsys)
    assert rc == 0, err
    m = read_metrics(out)
    assert [h["epoch"] for h in m["history"]] == [1, 2, 3]
    assert m["args"]["model"] == "mlp" and m["args"]["epochs"] == 3
    ckpt = ember.load(os.path.join(out, "last.pt"), weights_only=True)
    assert ckpt["epoch"] == 3
    # resumed again with nothing left to do
    rc, stdout, _ = run(["train", "--resume", os.path.join(out, "last.pt"), "--no-progress"],
                        capsys)
    assert rc == 0 and "nothing to do" in stdout


def test_resume_refuses_a_changed_schedule_or_model(trained, tmp_path, capsys):
    out = str(tmp_path)
    assert run(["train", "--model", "mlp", "--epochs", "1", "--limit", "100", "--no-progress",
                "--out", out], capsys)[0] == 0   # onecycle over 1 epoch
    last = os.path.join(out, "last.pt")
    rc, _, err = run(["train", "--resume", last, "--epochs", "2", "--no-progress"], capsys)
    assert rc == 1 and "onecycle" in err and "--epochs" in err
    rc, _, err = run(["train", "--resume", last, "--model", "cnn", "--no-progress"], capsys)
    assert rc == 1 and "--model mlp" in err
    rc, _, err = run(["train", "--resume", os.path.join(out, "nope.pt")], capsys)
    assert rc == 1 and "does not exist" in err
    rc, _, err = run(["train", "--resume", os.path.join(out, "metrics.json")], capsys)
    assert rc == 1 and "cannot read checkpoint" in err


# -- predict -------------------------------------------------------------------------------

def test_predict_on_png_files(trained, tmp_path, capsys):
    _, test, _, _ = tdata.load_dataset("digits")
    ckpt = ember.load(os.path.join(trained, "best.pt"), weights_only=True)
    cfg = ckpt["model_config"]
    model = build_model(cfg["model"], cfg["channels"], cfg["size"], cfg["num_classes"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    idx = [0, 1, 2, 3]
    with ember.no_grad():
        x, _ = test[idx]
        probs = ember.softmax(model(x), dim=1).numpy()
    paths = []
    for i in idx:
        p = str(tmp_path / f"digit{i}.png")
        Image.fromarray(test.images[i, 0]).save(p)
        paths.append(p)
    # dark ink on white paper, 8 times larger: inverted and box-filtered back to 8x8 exactly
    big = str(tmp_path / "big.png")
    Image.fromarray(255 - test.images[0, 0]).resize((64, 64), Image.NEAREST).save(big)
    rc, out, err = run(["predict", os.path.join(trained, "best.pt")] + paths + [big], capsys)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 5
    for line, path, p in zip(lines, paths + [big], list(probs) + [probs[0]]):
        k = int(np.argmax(p))
        assert line == f"{path}: {cfg['classes'][k]} ({p[k]:.1%})"

    rc, out, _ = run(["predict", os.path.join(trained, "best.pt"), paths[0], "--top", "3"],
                     capsys)
    assert rc == 0 and out.count("%") == 3
    rc, out, _ = run(["predict", os.path.join(trained, "best.pt"), big, "--invert", "no"],
                     capsys)
    assert rc == 0 and out.startswith(big)


def test_predict_reports_unreadable_images(trained, tmp_path, capsys):
    good = str(tmp_path / "ok.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(good)
    bad = str(tmp_path / "not_an_image.png")
    with open(bad, "w") as f:
        f.write("hello")
    rc, out, err = run(["predict", os.path.join(trained, "best.pt"), good, bad,
                        str(tmp_path / "missing.png")], capsys)
    assert rc == 1
    assert out.startswith(good + ": ")
    assert "not_an_image.png" in err and "missing.png" in err


# -- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, text", [
    (["train", "--model", "transformer"], "invalid choice: 'transformer'"),
    (["train", "--data", "imagenet"], "invalid choice: 'imagenet'"),
    (["train", "--epochs", "0"], "expected a positive integer"),
    (["train", "--lr", "-1"], "expected a positive number"),
    (["predict"], "required"),
    ([], "required"),
])
def test_usage_errors(argv, text, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert text in capsys.readouterr().err


def test_missing_mnist_files(tmp_path, capsys):
    rc, _, err = run(["train", "--data", "mnist", "--root", str(tmp_path), "--no-progress",
                      "--out", str(tmp_path / "out")], capsys)
    assert rc == 1
    assert "MNIST files not found" in err and "train-images-idx3-ubyte" in err
    assert os.path.join(str(tmp_path), "MNIST", "raw") in err
    assert not os.path.exists(tmp_path / "out")
    rc, _, err = run(["train", "--data", "cifar10", "--root", str(tmp_path), "--no-progress"],
                     capsys)
    assert rc == 1 and "cifar-10-batches-py" in err


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def write_fake_mnist(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)


@pytest.mark.parametrize("layout, root", [("MNIST/raw", "."), ("mnist", "."),
                                          ("mnist", "mnist")])
def test_mnist_layouts(layout, root, tmp_path, capsys):
    write_fake_mnist(tmp_path / layout)
    rc, _, err = run(["train", "--data", "mnist", "--root", str(tmp_path / root), "--model",
                      "mlp", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "out")],
                     capsys)
    assert rc == 0, err
    m = read_metrics(str(tmp_path / "out"))
    assert m["train_samples"] == 64 and m["test_samples"] == 32
    assert m["model_config"]["size"] == 28


def test_fashion_mnist_never_reads_mnist_files(tmp_path, capsys):
    # the two datasets' files have the same names; a folder named mnist is not Fashion-MNIST
    write_fake_mnist(tmp_path / "mnist")
    rc, _, err = run(["train", "--data", "fashion-mnist", "--root", str(tmp_path / "mnist"),
                      "--no-progress", "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "Fashion-MNIST files not found" in err
    write_fake_mnist(tmp_path / "FashionMNIST" / "raw")
    rc, _, err = run(["train", "--data", "fashion-mnist", "--root", str(tmp_path), "--model",
                      "mlp", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "out")],
                     capsys)
    assert rc == 0, err
    assert read_metrics(str(tmp_path / "out"))["model_config"]["classes"][0] == "T-shirt/top"


@pytest.mark.skipif(not os.path.isdir("/work/shared/data/mnist"), reason="no MNIST files here")
def test_real_mnist_short_run(tmp_path, capsys):
    rc, _, err = run(["train", "--data", "mnist", "--root", "/work/shared/data", "--model",
                      "mlp", "--epochs", "1", "--limit", "2000", "--scheduler", "none",
                      "--no-progress", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    m = read_metrics(str(tmp_path))
    assert m["test_samples"] == 10000 and m["train_samples"] == 2000
    assert m["best"]["test_acc"] > 0.8


@pytest.mark.parametrize("missing", ["tqdm", "matplotlib.backends.backend_agg"])
def test_missing_optional_dependency(missing, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, missing, None)     # makes `import missing` fail
    rc, _, err = run(["train", "--epochs", "1", "--limit", "50", "--out", str(tmp_path)],
                     capsys)
    assert rc == 1 and 'pip install "ember[train]"' in err
    if missing == "tqdm":   # --no-progress needs no tqdm
        rc, _, err = run(["train", "--model", "mlp", "--epochs", "1", "--limit", "50",
                          "--no-progress", "--out", str(tmp_path)], capsys)
        assert rc == 0, err


def test_ember_imports_without_the_train_extras():
    code = ("import sys\n"
            "for name in ('tqdm', 'matplotlib', 'PIL', 'onnx', 'onnxruntime'):\n"
            "    sys.modules[name] = None\n"
            "import ember, ember.cli, ember.train, ember.__main__\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_blas_threads_are_restored(tmp_path, capsys):
    from ember.train.threads import get_blas_threads, set_blas_threads
    before = get_blas_threads()
    if before is None:
        pytest.skip("no OpenBLAS/MKL found to control")
    set_blas_threads(2)
    try:
        assert run(["train", "--model", "mlp", "--epochs", "1", "--limit", "50",
                    "--no-progress", "--out", str(tmp_path)], capsys)[0] == 0
        assert get_blas_threads() == 2
    finally:
        set_blas_threads(before)


def test_cifar10_layout(tmp_path, capsys):
    import pickle
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, 10)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    for root in (tmp_path, folder):    # the parent, or the folder itself
        rc, _, err = run(["train", "--data", "cifar10", "--root", str(root), "--model", "cnn",
                          "--epochs", "1", "--no-progress", "--out", str(tmp_path / "out")],
                         capsys)
        assert rc == 0, err
        m = read_metrics(str(tmp_path / "out"))
        assert m["train_samples"] == 50 and m["test_samples"] == 10
        assert m["model_config"]["channels"] == 3 and m["model_config"]["size"] == 32
        assert m["model_config"]["classes"][3] == "class3"
    # an RGB image of another size is resized to 32x32 for the 3-channel model
    img = str(tmp_path / "photo.jpg")
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(img)
    rc, out, err = run(["predict", str(tmp_path / "out" / "best.pt"), img], capsys)
    assert rc == 0, err
    assert re.fullmatch(re.escape(img) + r": class\d \(\d+\.\d%\)\n", out)


# -- ONNX export (--export-onnx, on by default when onnx and onnxruntime are installed) ------

def test_onnx_model_written_and_runs_at_any_batch_size(trained, capsys):
    ort = pytest.importorskip("onnxruntime")        # the test extra installs it
    path = os.path.join(trained, "model.onnx")
    session = ort.InferenceSession(path, None)
    assert session.get_inputs()[0].shape == ["batch", 1, 8, 8]
    ckpt = ember.load(os.path.join(trained, "best.pt"))
    cfg = ckpt["model_config"]
    model = build_model(cfg["model"], cfg["channels"], cfg["size"], cfg["num_classes"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    _, test_set, _, _ = tdata.load_dataset("digits", None)
    for n in (1, 5):
        x = ember.stack([test_set[i][0] for i in range(n)])
        (got,) = session.run(["logits"], {"input": x.numpy()})
        with ember.no_grad():
            np.testing.assert_allclose(got, model(x).numpy(), atol=1e-4)


@pytest.mark.parametrize("model", ["mlp", "lstm"])
def test_onnx_export_of_other_models(model, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    rc, out, err = run(["train", "--model", model, "--epochs", "1", "--limit", "100",
                        "--no-progress", "--export-onnx", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    assert "checked with onnxruntime" in out and os.path.isfile(tmp_path / "model.onnx")


def test_no_export_onnx(tmp_path, capsys):
    rc, out, err = run(["train", "--model", "mlp", "--epochs", "1", "--limit", "50",
                        "--no-progress", "--no-export-onnx", "--out", str(tmp_path)], capsys)
    assert rc == 0, err
    assert not os.path.exists(tmp_path / "model.onnx") and "onnx model" not in out


def test_export_onnx_without_onnx(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setattr(cli, "_importable", lambda name: name not in ("onnx", "onnxruntime"))
    rc, _, err = run(["train", "--model", "mlp", "--epochs", "1", "--limit", "50",
                      "--no-progress", "--export-onnx", "--out", str(tmp_path)], capsys)
    assert rc == 1 and "onnx" in err
    rc, out, err = run(["train", "--model", "mlp", "--epochs", "1", "--limit", "50",
                        "--no-progress", "--out", str(tmp_path)], capsys)
    assert rc == 0, err            # the default: no export when the packages are missing
    assert not os.path.exists(tmp_path / "model.onnx")
