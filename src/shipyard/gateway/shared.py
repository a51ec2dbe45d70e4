"""Requests in flight and failed replicas, shared by the gateway's worker processes through one
file.

Each worker picks replicas on its own (:class:`~shipyard.gateway.picker.ReplicaPicker`); without
this, two workers would both see a replica as idle and send it requests at once, so a request
that kills its replica (a query of death) could take along one another worker had just sent
there. Each worker writes its own counts into its own row of a memory-mapped file
(``<run dir>/gateway-load``, emptied by the supervisor when it starts) and reads the others'
rows, so no two processes ever write the same count. A replica's URL is hashed to one of
:data:`SLOTS` columns; two replicas sharing a column only look a little busier. A worker
replaced after a crash clears its row when it starts.

Reading the others' counts, choosing and publishing the choice is one step under an exclusive
``flock`` of the file (:meth:`SharedLoad.lock` / :meth:`SharedLoad.unlock`, held for a few
microseconds per pick; the kernel drops it if its holder dies), so two workers picking in the same
instant never both take the replica they saw idle.

A last row holds, per column, until when a replica is ejected (``time.monotonic()``, one clock
for every process of the machine): a worker that saw a replica fail marks it there, under the
lock and before it stops counting its own request to it, so another worker never takes a replica
for idle in the moments it is still dying (its sockets are closed one after another, and the
worker holding the request that killed it may learn of it first). Both are issue 17's "a poison
request fails no other request" with more than one worker.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import zlib
from pathlib import Path

SLOTS = 4096
"""Columns per row (4 bytes each in a worker's row, 8 in the ejection row)."""
_COUNT = struct.Struct("<I")
_UNTIL = struct.Struct("<d")


class SharedLoad:
    """One worker's view of the shared counts (see the module docstring).

    Args:
        path: the file all workers map.
        worker: this worker's row (0 .. workers - 1).
        workers: how many workers share it.
    """

    def __init__(self, path: Path, worker: int, workers: int) -> None:
        row = SLOTS * _COUNT.size
        self._ejections = workers * row
        size = self._ejections + SLOTS * _UNTIL.size
        fd = self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            raise
        self._own = worker * row
        self._others = [other * row for other in range(workers) if other != worker]
        self._map[self._own : self._own + row] = bytes(row)  # a replaced worker starts at zero
        self._columns: dict[str, int] = {}

    def _column(self, url: str) -> int:
        column = self._columns.get(url)
        if column is None:
            if len(self._columns) > 4 * SLOTS:  # replicas come and go
                self._columns.clear()
            column = self._columns[url] = zlib.crc32(url.encode()) % SLOTS
        return column

    def lock(self) -> None:
        """Hold the pick lock: no other worker reads or claims counts until :meth:`unlock`."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def unlock(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def publish(self, url: str, count: int) -> None:
        """This worker now has ``count`` requests in flight to ``url``."""
        offset = self._own + self._column(url) * _COUNT.size
        _COUNT.pack_into(self._map, offset, max(0, count))

    def others(self, url: str) -> int:
        """Requests the other workers have in flight to ``url``."""
        column = self._column(url) * _COUNT.size
        return sum(_COUNT.unpack_from(self._map, row + column)[0] for row in self._others)

    def eject(self, url: str, until: float) -> None:
        """``url`` failed: every worker skips it until ``until`` (``time.monotonic()``).
        Call it holding the lock."""
        offset = self._ejections + self._column(url) * _UNTIL.size
        if _UNTIL.unpack_from(self._map, offset)[0] < until:
            _UNTIL.pack_into(self._map, offset, until)

    def ejected_until(self, url: str) -> float:
        """Until when some worker ejected ``url`` (0.0: never)."""
        offset = self._ejections + self._column(url) * _UNTIL.size
        value: float = _UNTIL.unpack_from(self._map, offset)[0]
        return value

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
