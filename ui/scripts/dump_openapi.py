"""Write the control plane's OpenAPI document to ui/openapi.json (input of `npm run gen:api`).

Run from the repository root: `uv run --frozen python ui/scripts/dump_openapi.py`. It builds the
app on a throwaway data directory; nothing is started.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from shipyard.api.app import create_app
from shipyard.server import build_services
from shipyard.settings import ServerSettings


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        services = build_services(ServerSettings(home=Path(home)))
        document = create_app(services, run_controller=False).openapi()
        services.store.close()
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "openapi.json"
    out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
