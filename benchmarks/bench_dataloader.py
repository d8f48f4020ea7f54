"""DataLoader transfer benchmark: batches of float32 samples through 2 workers, main sums
each batch. Compares pickling through the result queue with shared memory."""
import sys, time
import numpy as np
import ember
from ember.utils.data import DataLoader, Dataset
from ember.utils.data._utils import transfer

class DS(Dataset):
    def __init__(self, n, numel):
        self.n, self.x = n, ember.ones(numel)
    def __len__(self): return self.n
    def __getitem__(self, i): return self.x

def run(batch_bytes, threshold, nw=2, bs=8):
    numel = batch_bytes // 4 // bs
    n_batches = int(max(20, min(400, (1 << 30) // max(batch_bytes, 1) // 4)))
    transfer.SHM_THRESHOLD = threshold
    dl = DataLoader(DS(n_batches * bs, numel), batch_size=bs, num_workers=nw)
    it = iter(dl)
    next(it)  # exclude start-up
    t = time.perf_counter()
    k = 0
    for b in it:
        b.sum(); k += 1
    return (time.perf_counter() - t) / k

if __name__ == "__main__":
    sizes = [int(s) for s in sys.argv[1:]] or [16 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
    print(f"{'batch':>10} {'pickle ms':>10} {'shm ms':>10} {'speedup':>8}")
    for s in sizes:
        p = min(run(s, None) for _ in range(2))
        m = min(run(s, 1) for _ in range(2))
        print(f"{s/1024:8.0f}Ki {p*1e3:10.3f} {m*1e3:10.3f} {p/m:8.2f}", flush=True)
