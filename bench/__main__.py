"""``python -m bench [--quick] [--only NAME ...]``: run the suite (``bench/run.sh`` calls this).

A full run writes ``bench/RESULTS.md`` and ``bench/results.json``; ``--quick`` (short
durations, for development) writes ``bench/_work/RESULTS-quick.md`` and its JSON instead.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from types import FrameType

from bench import runner
from bench.settings import RunSettings


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds every context manager: all started processes are stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bash bench/run.sh", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short durations (development)")
    parser.add_argument(
        "--only",
        action="append",
        choices=RunSettings(quick=False).targets,
        help="measure only this target (repeatable; development)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = RunSettings.create(quick=args.quick, targets=tuple(args.only or ()))
    command = shlex.join(["bash", "bench/run.sh", *(sys.argv[1:] if argv is None else argv)])
    try:
        res = runner.run(settings, command)
    except KeyboardInterrupt:
        print("interrupted: every process the bench started has been stopped", file=sys.stderr)
        return 130
    path = runner.write(res)
    print(f"== wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
