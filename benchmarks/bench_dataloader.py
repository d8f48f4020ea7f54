"""DataLoader transfer benchmark (ember only): batches of float32 samples come back from 2
worker processes and the main process sums each batch; pickling through the result queue
is compared with shared memory, by batch size.

This is the measurement behind ``ember.utils.data._utils.transfer.SHM_THRESHOLD``: below
the batch size where shared memory starts to win, batches are pickled.

Usage::

    python benchmarks/bench_dataloader.py              # sizes from 16 KiB to 64 MiB
    python benchmarks/bench_dataloader.py 65536 1048576   # batch sizes in bytes
    python benchmarks/bench_dataloader.py --quick      # three sizes, one run each
"""
from __future__ import annotations

import argparse
import sys
import time

import _timing  # noqa: F401  (puts the repository root on sys.path)

import ember  # noqa: E402
from ember.utils.data import DataLoader, Dataset  # noqa: E402
from ember.utils.data._utils import transfer  # noqa: E402

SIZES = [16 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
QUICK_SIZES = [16 << 10, 1 << 20, 16 << 20]


class DS(Dataset):
    """``n`` samples, all the same ``numel``-element float32 tensor (no work per item)."""

    def __init__(self, n, numel):
        self.n, self.x = n, ember.ones(numel)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.x


def run(batch_bytes, threshold, nw=2, bs=8):
    """Seconds per batch of ``batch_bytes`` bytes through ``nw`` workers, with
    ``SHM_THRESHOLD = threshold`` (None: always pickle; 1: always shared memory).  The
    number of batches shrinks with their size (about 1 GiB in all, 20 to 400 batches); the
    first batch, which includes the workers' start-up, is not timed."""
    numel = batch_bytes // 4 // bs
    n_batches = int(max(20, min(400, (1 << 30) // max(batch_bytes, 1) // 4)))
    transfer.SHM_THRESHOLD = threshold
    dl = DataLoader(DS(n_batches * bs, numel), batch_size=bs, num_workers=nw)
    it = iter(dl)
    next(it)
    t = time.perf_counter()
    k = 0
    for b in it:
        b.sum()
        k += 1
    return (time.perf_counter() - t) / k


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int,
                        help="batch sizes in bytes (default: 16 KiB to 64 MiB)")
    parser.add_argument("--quick", action="store_true",
                        help="three sizes (unless given), one run each instead of the best of 2")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    runs = 1 if args.quick else 2
    print(f"{'batch':>10} {'pickle ms':>10} {'shm ms':>10} {'speedup':>8}")
    for s in sizes:
        p = min(run(s, None) for _ in range(runs))
        m = min(run(s, 1) for _ in range(runs))
        print(f"{s/1024:8.0f}Ki {p*1e3:10.3f} {m*1e3:10.3f} {p/m:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
