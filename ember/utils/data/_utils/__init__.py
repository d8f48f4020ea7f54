"""Helpers behind the DataLoader: collation (``collate``), fetching samples from a dataset
(``fetch``), the worker-process loop (``worker``) and moving batches from workers to the
main process (``transfer``)."""
from __future__ import annotations

import atexit
import pickle
import sys
import traceback

MP_STATUS_CHECK_INTERVAL = 0.5
"""Seconds between liveness checks: the main process checks its workers this often while it
waits for a batch, and each worker checks that the main process is still alive this often
while it waits for work. (PyTorch checks every 5 s; a shorter interval makes a dead worker
an error quickly, and costs nothing since the waits return as soon as data arrives.)"""

JOIN_TIMEOUT = 5.0
"""Seconds a shutting-down loader waits for a worker to exit before terminating it."""

python_exit_status = False
"""Set when the interpreter starts shutting down: loaders then skip their orderly shutdown
(modules may already be gone) and leave daemonic workers to multiprocessing's own exit
handler."""


def _set_python_exit_flag() -> None:
    global python_exit_status
    python_exit_status = True


atexit.register(_set_python_exit_flag)


class KeyErrorMessage(str):
    """A message that is its own repr: KeyError shows ``repr(arg)``, which would turn the
    traceback's newlines into ``\\n``."""

    __slots__ = ()

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process: its type and the
    formatted traceback (traceback objects cannot be pickled)."""

    def __init__(self, exc_info=None, where: str = "in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_name = exc_info[0].__name__
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def __getstate__(self):
        state = dict(self.__dict__)
        try:                                    # a class the main process cannot import
            pickle.dumps(self.exc_type)         # (e.g. defined inside a function) is
        except Exception:                       # re-raised as RuntimeError
            state["exc_type"] = None
        return state

    def reraise(self):
        """Raise the exception again, here: the same type when it can be built from a
        message, else RuntimeError; the message names where it happened and includes the
        original traceback."""
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        exc_type = self.exc_type
        if exc_type is None:
            raise RuntimeError(msg)
        if exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = exc_type(msg)
        except Exception:
            # e.g. an exception whose constructor needs more than one argument
            raise RuntimeError(msg) from None
        raise exc


from . import collate, fetch, transfer, worker  # noqa: F401
