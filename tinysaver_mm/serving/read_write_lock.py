"""A readers-writer lock (writers first): many requests predict at once; a MACs probe alone."""
import contextlib
import threading
from typing import Iterator

__all__ = ['ReadWriteLock']


class ReadWriteLock:
    """Shared holders run together; an exclusive holder runs alone.

    A waiting exclusive holder goes before new shared ones, so it is not
    starved by a steady stream of requests. A saver replica measures a new
    input shape's MACs (a traced forward, which hooks every submodule) under
    the exclusive lock, while predictions share it.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting_writers = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
