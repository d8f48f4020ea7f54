"""Samplers: iterables of dataset indices (or of lists of indices, for batch samplers).

Every random sampler draws from an :class:`ember.Generator`: the one passed as
``generator=``, or else ember's global generator, so ``ember.manual_seed`` makes shuffling
reproducible.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sized
from typing import Generic, TypeVar

from ... import _random
from ..._dtype import float64

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

T_co = TypeVar("T_co", covariant=True)


def _draw_seed(generator=None) -> int:
    """A fresh 63-bit seed drawn from ``generator`` (or the global generator); the DataLoader
    draws its workers' base seed the same way."""
    return int(_random.default_rng(generator).integers(0, 1 << 63))


class Sampler(Generic[T_co]):
    """Base class: subclasses implement ``__iter__`` (yielding indices, or lists of indices
    for a batch sampler) and, if the length is known, ``__len__`` (which ``len(loader)``
    uses)."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Indices in random order.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices independently (with repeats) instead of
            permuting.
        num_samples: how many indices to yield (default ``len(data_source)``); without
            replacement, a larger count chains several permutations.
        generator: the :class:`ember.Generator` to draw from. Without one, each pass over the
            sampler seeds a private generator from ember's global generator.
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        n = self.num_samples
        if not isinstance(n, int) or n <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={n}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        g = self.generator
        if g is None:
            # one draw from the global generator per pass: manual_seed fixes the order, and
            # the pass is unaffected by other draws made while it is being consumed
            g = _random.Generator().manual_seed(_draw_seed())
        if self.replacement:
            # drawn in chunks, so a huge num_samples is not materialised at once
            for _ in range(self.num_samples // 32):
                yield from _random.randint(high=n, size=(32,), generator=g).tolist()
            yield from _random.randint(high=n, size=(self.num_samples % 32,),
                                       generator=g).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from _random.randperm(n, generator=g).tolist()
            yield from _random.randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices, in random order (without replacement)."""

    def __init__(self, indices, generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _random.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities proportional
    to ``weights`` (with or without replacement).

    Args:
        weights: a 1-D sequence of non-negative weights (need not sum to 1).
        num_samples: how many indices to draw.
        replacement: allow an index to be drawn more than once.
        generator: the :class:`ember.Generator` to draw from (default: the global one).
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or \
                num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        from ...ops.creation import as_tensor
        w = as_tensor(weights, dtype=float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        drawn = _random.multinomial(self.weights, self.num_samples, self.replacement,
                                    generator=self.generator)
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: a sampler or any iterable of indices.
        batch_size: the size of each list.
        drop_last: drop the final list if it is shorter than ``batch_size``.

    ``len()`` is ``len(sampler) // batch_size`` with ``drop_last``, else the ceiling.
    """

    def __init__(self, sampler: Sampler | Iterable, batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size

