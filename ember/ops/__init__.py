"""Every primitive operation, grouped by family; each file holds forward and backward of its
ops side by side (see ``_op.py`` for the pattern)."""
from . import creation, elementwise, index, indexing, linalg, reduce, shape
from .creation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .inplace import inplace_update  # noqa: F401

# Only the families' public functions (not the submodule names: `ember.linalg` is the
# namespace in ember/linalg.py, not this package's ops/linalg.py).
__all__ = [name for mod in (creation, elementwise, reduce, shape, index, indexing, linalg)
           for name in mod.__all__]
