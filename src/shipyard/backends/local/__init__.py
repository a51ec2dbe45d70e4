"""LOCAL serving tool: each replica is a child process running the Shipyard replica runtime.

Replicas run in their own session (so a crash of the server does not take them down) with
stdout and stderr appended to ``logs/<deployment>/<component>/<replica>.log``. A handle file in
``run/replicas/`` records pid, start time and port, so a restarted server adopts replicas that
still run (a reused pid is told apart by its start time) instead of starting duplicates.

With :class:`~shipyard.backends.zygotes.Zygotes`, a replica whose kind of process started before
is forked from a pre-imported parent instead (same session, environment, limits and log file);
its exit code then comes from the file the zygote writes when it reaps it.

With a ``replica_secret`` (the server's), each replica admits only requests carrying its
project's token (:mod:`shipyard.wire.replica_token`): written to ``run/replicas/<id>.token``
(0600) for the runtime to read and delete at start, and presented by this backend's health
checks as by the gateway. With :class:`~shipyard.backends.identity.Identities` (a root server),
each replica runs as its project's own uid, its files in ``replicas/p<uid>/``, and never from a
zygote (a zygote's forks would share its uid).

The package, by job: :mod:`~shipyard.backends.local.backend` starts, checks, adopts and stops
the processes (:class:`LocalBackend`, a ``ReplicaBackend`` of the backend registry);
:mod:`~shipyard.backends.local.endings` says how one ended (its exit code, from the process
or from its zygote's file; OOM kills and failed loads, in its status and its log);
:mod:`~shipyard.backends.local.readings` turns what a replica reports (its usage, its load
timings) into the backend protocol's types.
"""

from __future__ import annotations

from shipyard.backends.local.backend import LocalBackend

__all__ = ["LocalBackend"]
