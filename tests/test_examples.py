"""The scripts in examples/ run (with --quick) and do what they say."""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "examples")


def run_example(name, *args, cwd=None):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), "--quick", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd or REPO,
                          check=False)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_quickstart(tmp_path):
    pytest.importorskip("PIL")   # ToTensor on the dataset's PIL images
    out = run_example("quickstart.py", "--out", str(tmp_path))
    assert "Shape of X [N, C, H, W]: ember.Size([32, 1, 8, 8])" in out
    assert out.count("Test Error:") == 2 and "Done!" in out
    assert os.path.isfile(tmp_path / "model.pth")
    assert "onnxruntime agrees with ember: True" in out     # the test extra installs it
    assert os.path.isfile(tmp_path / "model.onnx")
    assert re.search(r'Predicted: "\d", Actual: "\d"', out)
    accuracy = float(re.search(r"final test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.85     # an MLP on the 8x8 digits after 2 epochs: about 0.93


def test_linear_regression():
    out = run_example("linear_regression.py")
    err = float(re.search(r"max \|w - w_true\| = ([0-9.]+)", out).group(1))
    test_loss = float(re.search(r"final test loss = ([0-9.]+)", out).group(1))
    assert err < 0.05            # the true weights are recovered
    assert test_loss < 0.02      # down to the noise level (variance 0.01)


def test_save_and_load(tmp_path):
    out = run_example("save_and_load.py", "--out", str(tmp_path))
    assert out.count("outputs identical to the original: True") == 3
    assert "training continues identically from the checkpoint: True" in out
    for name in ("model_weights.pth", "model.pth", "checkpoint.tar"):
        assert os.path.isfile(tmp_path / name), name


def test_onnx_inference(tmp_path):
    pytest.importorskip("onnxruntime")      # the test extra installs it (ember[onnx])
    pytest.importorskip("PIL")
    out = run_example("onnx_inference.py", "--out", str(tmp_path))
    assert os.path.isfile(tmp_path / "model.onnx")
    assert "input: input ['batch', 1, 8, 8], output: output ['batch', 10]" in out
    assert re.search(r'Predicted: "\d", Actual: "\d"', out)
    acc = re.search(r"onnxruntime test accuracy: ([0-9.]+), ember test accuracy: ([0-9.]+)", out)
    assert acc.group(1) == acc.group(2) and float(acc.group(1)) > 0.8
    assert float(re.search(r"over the test set: ([0-9.e+-]+)", out).group(1)) < 1e-4
    assert "outputs equal to the original model: True" in out
    assert "state_dict keys kept: True" in out
