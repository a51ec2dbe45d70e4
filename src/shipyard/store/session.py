"""The base of ``Store``: its engine and one short session per method call.

Layer: ``shipyard.store``. Every public store method opens a session with ``_read`` or
``_write``, does its work in one transaction and closes it before returning, so no session
outlives a call and a ``Store`` may be shared by threads (FastAPI runs sync handlers in a
threadpool).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shipyard.store.engine import WRITE_OPTION


class StoreBase:
    """Holds the engine and opens sessions; the data methods live in the mixins."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A session whose transaction is rolled back at the end (it is meant to read only)."""
        with self._reader() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session committed at the end unless the block raises."""
        with self._writer.begin() as session:
            yield session

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self.engine.dispose()
