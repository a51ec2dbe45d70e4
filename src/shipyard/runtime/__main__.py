"""``python -m shipyard.runtime``: run one replica (see ``shipyard.runtime.server``)."""

from __future__ import annotations

if __name__ == "__main__":
    from shipyard.runtime.server import main

    raise SystemExit(main())
