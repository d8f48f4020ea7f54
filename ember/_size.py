"""``ember.Size``: the type of ``Tensor.shape``, a tuple of ints."""
from __future__ import annotations


class Size(tuple):
    """A tuple subclass holding a tensor's shape; prints as ``ember.Size([2, 3])``."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        return tuple.__new__(cls, sizes)

    def __repr__(self):
        return f"ember.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))
