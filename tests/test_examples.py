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
