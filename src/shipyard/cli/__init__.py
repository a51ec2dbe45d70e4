"""The ``shipyard`` command line: thin Typer commands over the SDK (plus ``shipyard server``).

Entry point: ``shipyard.cli.main:run``. Commands parse arguments, call ``shipyard.sdk`` and print;
any ``ShipyardError`` becomes one red ``error: <message>`` line on stderr and exit code 1.
"""
