"""Requests in flight per replica, shared by the gateway's worker processes through one file.

Each worker picks replicas on its own (:class:`~shipyard.gateway.picker.ReplicaPicker`); without
this, two workers would both see a replica as idle and send it requests at once, so a request
that kills its replica (a query of death) could take along one another worker had just sent
there. Each worker writes its own counts into its own row of a memory-mapped file
(``<run dir>/gateway-load``, emptied by the supervisor when it starts) and reads the others'
rows, so no two processes ever write the same bytes. A replica's URL is hashed to one of
:data:`SLOTS` columns; two replicas sharing a column only look a little busier. A worker
replaced after a crash clears its row when it starts.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from pathlib import Path

SLOTS = 4096
"""Columns per worker row (4 bytes each)."""
_COUNT = struct.Struct("<I")


class SharedLoad:
    """One worker's view of the shared counts (see the module docstring).

    Args:
        path: the file all workers map.
        worker: this worker's row (0 .. workers - 1).
        workers: how many workers share it.
    """

    def __init__(self, path: Path, worker: int, workers: int) -> None:
        size = workers * SLOTS * _COUNT.size
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        row = SLOTS * _COUNT.size
        self._own = worker * row
        self._others = [other * row for other in range(workers) if other != worker]
        self._map[self._own : self._own + row] = bytes(row)  # a replaced worker starts at zero
        self._columns: dict[str, int] = {}

    def _column(self, url: str) -> int:
        column = self._columns.get(url)
        if column is None:
            if len(self._columns) > 4 * SLOTS:  # replicas come and go
                self._columns.clear()
            column = self._columns[url] = (zlib.crc32(url.encode()) % SLOTS) * _COUNT.size
        return column

    def publish(self, url: str, count: int) -> None:
        """This worker now has ``count`` requests in flight to ``url``."""
        _COUNT.pack_into(self._map, self._own + self._column(url), max(0, count))

    def others(self, url: str) -> int:
        """Requests the other workers have in flight to ``url``."""
        column = self._column(url)
        return sum(_COUNT.unpack_from(self._map, row + column)[0] for row in self._others)

    def close(self) -> None:
        self._map.close()
