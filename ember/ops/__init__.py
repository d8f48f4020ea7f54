"""Every primitive operation, grouped by family; each file holds forward and backward of its
ops side by side (see ``_op.py`` for the pattern)."""
from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .inplace import inplace_update  # noqa: F401
