"""DistributedSampler: each of ``num_replicas`` processes iterates its own share of a
dataset."""
from __future__ import annotations

import math
from collections.abc import Iterator

from ... import _random
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices for replica ``rank`` of ``num_replicas``: every ``num_replicas``-th index
    of a (shuffled) ordering, starting at ``rank``.

    Without ``drop_last`` the ordering is padded by repeating its start so that it divides
    evenly (every replica gets ``ceil(len / num_replicas)`` indices); with ``drop_last`` the
    tail is cut instead. With ``shuffle`` the ordering is a permutation seeded by
    ``seed + epoch``, the same in every replica; call :meth:`set_epoch` at the start of each
    epoch to get a new one.

    ember has no process group, so ``num_replicas`` and ``rank`` must be given.

    Args:
        dataset: the map-style dataset (only its length is used).
        num_replicas: the number of processes taking part.
        rank: this process's index in ``[0, num_replicas)``.
        shuffle: permute the indices.
        seed: the shuffling seed; must be the same in all replicas.
        drop_last: cut the tail instead of padding.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            missing = " and ".join(n for n, v in (("num_replicas", num_replicas),
                                                  ("rank", rank)) if v is None)
            raise ValueError(f"DistributedSampler: {missing} must be given: ember has no "
                             f"distributed process group to take the world size and rank "
                             f"from (PyTorch would read them from an initialised default "
                             f"process group)")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = _random.Generator().manual_seed(self.seed + self.epoch)
            indices = _random.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            pad = self.total_size - len(indices)
            # repeat the ordering from its start as often as needed (pad may exceed n when
            # there are more replicas than samples)
            indices += (indices * math.ceil(pad / len(indices)))[:pad] if pad else []
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which seeds the shuffle (``seed + epoch``): without it every epoch
        uses the same order."""
        self.epoch = epoch
