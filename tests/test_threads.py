"""ember.set_num_threads / get_num_threads drive the thread count of NumPy's BLAS.

The count is read back independently: through ``ember._threads.get_blas_threads`` (the
library's own getter) and, in a fresh interpreter, through threadpoolctl when it is
installed. Errors are compared with PyTorch's.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember import _misc, _threads
from tests.oracle import requires_torch, torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _no_blas_reason():
    """Why the BLAS count cannot be tested here, or None when it can."""
    if not _threads._find_backend():
        return ("no BLAS thread setter found: neither an OpenBLAS/MKL library exporting "
                "*_set_num_threads in /proc/self/maps nor threadpoolctl")
    if _threads.get_blas_threads() is None:
        return "the loaded BLAS has a thread setter but no getter to read the count back"
    return None


@pytest.fixture
def restore_threads():
    """Put the BLAS count and ember's recorded value back as they were."""
    before, requested = _threads.get_blas_threads(), _misc._threads_requested[0]
    yield
    if before is not None:
        _threads.set_blas_threads(before)
    _misc._threads_requested[0] = requested


def test_set_num_threads_sets_blas(restore_threads):
    reason = _no_blas_reason()
    if reason:
        pytest.skip(reason)
    ember.set_num_threads(1)
    assert _threads.get_blas_threads() == 1
    assert ember.get_num_threads() == 1
    ember.set_num_threads(2)
    assert _threads.get_blas_threads() == 2
    assert ember.get_num_threads() == 2
    ember.set_num_threads(np.int64(1))        # NumPy integers are ints, as for torch
    assert _threads.get_blas_threads() == 1
    # and the work still runs (and agrees) at both counts
    a = np.random.default_rng(0).standard_normal((64, 64))
    one = (ember.from_numpy(a) @ ember.from_numpy(a)).numpy()
    ember.set_num_threads(2)
    np.testing.assert_allclose((ember.from_numpy(a) @ ember.from_numpy(a)).numpy(), one,
                               rtol=1e-12, atol=1e-12)


def test_get_num_threads_without_blas_returns_recorded(monkeypatch, restore_threads):
    # no reachable BLAS: the value is only recorded, and get_num_threads reports it
    monkeypatch.setattr(_threads, "_backend", {})
    assert _threads.set_blas_threads(3) is False
    assert _threads.get_blas_threads() is None
    ember.set_num_threads(3)
    assert ember.get_num_threads() == 3
    _misc._threads_requested[0] = None
    assert ember.get_num_threads() >= 1       # the CPUs this process may use


def test_threadpoolctl_backend(monkeypatch, restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = _threads._threadpool_controller()
    if controller is None:
        pytest.skip("threadpoolctl finds no BLAS in this process")
    monkeypatch.setattr(_threads, "_backend", {"threadpoolctl": controller})
    for n in (1, 2):
        ember.set_num_threads(n)
        assert ember.get_num_threads() == n
        blas = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]
        assert blas and all(c == n for c in blas)


BAD_VALUES = [0, -1, -7, 1.5, 2.0, "2", None, True, False, np.True_, 2 ** 31, -2 ** 31 - 1,
              2 ** 63, -2 ** 63 - 1, "tensor"]


@requires_torch
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_errors_match_torch(value, restore_threads):
    ours, theirs = (ember.tensor(2), torch.tensor(2)) if value == "tensor" else (value, value)
    before = ember.get_num_threads()
    with pytest.raises(Exception) as expected:
        torch.set_num_threads(theirs)
    with pytest.raises(expected.type) as got:
        ember.set_num_threads(ours)
    assert type(got.value) is expected.type
    assert str(got.value) == str(expected.value)
    assert ember.get_num_threads() == before   # a rejected value changes nothing


def test_errors_without_torch():
    with pytest.raises(RuntimeError, match="^set_num_threads expects a positive integer$"):
        ember.set_num_threads(0)
    with pytest.raises(RuntimeError, match="^set_num_threads expects an int, but got float$"):
        ember.set_num_threads(1.0)


# The child sets 2 then 1 and reports the BLAS count after each, read by threadpoolctl when
# it is installed (an independent reader), else by ember's getter. It also reports whether
# importing ember already scanned for the BLAS (it must not: that is done on first use).
CHILD = textwrap.dedent("""
    import json
    import sys
    import ember
    mod = sys.modules.get("ember._threads")
    scanned_at_import = mod is not None and mod._backend is not None
    from ember import _threads
    if not _threads._find_backend():
        print("NO-BLAS")
        sys.exit(0)
    try:
        from threadpoolctl import threadpool_info
        def read():
            return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        reader = "threadpoolctl"
    except ImportError:
        def read():
            return [_threads.get_blas_threads()]
        reader = "get_blas_threads"
    counts = []
    for n in (2, 1):
        ember.set_num_threads(n)
        counts.append(read())
    print(json.dumps({"reader": reader, "scanned": scanned_at_import, "counts": counts}))
""")


def test_set_num_threads_changes_blas_in_fresh_process():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    if out == "NO-BLAS":
        pytest.skip("no BLAS thread setter found in a fresh interpreter")
    report = json.loads(out)
    assert report["scanned"] is False, "import ember scanned for the BLAS library"
    reader, counts = report["reader"], report["counts"]
    if counts[0] == [None]:
        pytest.skip("the BLAS count cannot be read back (no getter, no threadpoolctl)")
    # every BLAS threadpoolctl sees follows the setting: 2, then 1
    assert all(c == 2 for c in counts[0]) and all(c == 1 for c in counts[1]), (reader, counts)
