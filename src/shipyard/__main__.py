"""``python -m shipyard`` = the ``shipyard`` command."""

from shipyard.cli.main import run

run()
