"""A model's ``requirements.txt``: parsed strictly, merged over a base, checked against the runtime.

The merge rule: the model's requirements extend the base environment and replace its pin of
any package they name (names compared in canonical form, so ``Scikit_Learn`` is
``scikit-learn``). The runtime's own needs (the ``runtime`` extra of the ``shipyard`` package)
are added last; a model pin that excludes them is refused here, naming both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, requires

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipyard.errors import InvalidSpec

# distributions that install the same import package: naming one replaces the other's pin
_SAME_PACKAGE = {"xgboost-cpu": "xgboost"}
_OPTIONS_HELP = (
    "a model's requirements.txt lists packages only (name[extras] specifier, one per line); "
    "package indexes and wheel folders are set by the administrator "
    "(SHIPYARD_INDEX_URL, SHIPYARD_FIND_LINKS)"
)


@dataclass(frozen=True)
class ParsedRequirement:
    line: int
    text: str  # as written, without comments
    requirement: Requirement

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)


def parse(text: str, *, source: str = "requirements.txt") -> list[ParsedRequirement]:
    """The requirements of a file's text, in order.

    Raises:
        InvalidSpec: A line is not a requirement (or is an option such as ``-e`` or ``-r``);
            the message names the file, the line and the fix.
    """
    out: list[ParsedRequirement] = []
    seen: dict[str, int] = {}
    for number, line in _logical_lines(text):
        if line.startswith("-"):
            raise InvalidSpec(
                f"{source} line {number}: {line!r} is not supported: {_OPTIONS_HELP}",
                details={"errors": [{"field": source, "line": number, "value": line}]},
            )
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise InvalidSpec(
                f"{source} line {number}: {line!r} is not a valid requirement ({exc}); "
                "write e.g. 'scikit-learn==1.5.2' or 'pandas>=2,<3'",
                details={"errors": [{"field": source, "line": number, "value": line}]},
            ) from None
        parsed = ParsedRequirement(number, line, req)
        if parsed.name in seen:
            raise InvalidSpec(
                f"{source} line {number}: {parsed.name} is already required on line "
                f"{seen[parsed.name]}; keep one line per package",
                details={"errors": [{"field": source, "line": number, "value": line}]},
            )
        seen[parsed.name] = number
        out.append(parsed)
    return out


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if pending:
            line = pending + line
        else:
            start = number
        if line.endswith("\\"):
            pending = line[:-1].strip() + " "
            continue
        pending = ""
        if line:
            yield start, line
    if pending.strip():
        yield start, pending.strip()


def runtime_requirements() -> list[Requirement]:
    """What the replica runtime needs in every environment (the ``runtime`` extra).

    Empty today: the runtime and its HTTP server use the stdlib only, so a model may pin any
    version of any package. The merge still honours whatever the extra declares.
    """
    try:
        declared = requires("shipyard") or []
    except PackageNotFoundError:
        declared = []
    found = []
    for text in declared:
        req = Requirement(text)
        if req.marker is not None and req.marker.evaluate({"extra": "runtime"}):
            req.marker = None
            found.append(req)
    return found


def merge(
    base: Iterable[str], model: list[ParsedRequirement], runtime: list[Requirement]
) -> list[str]:
    """The input of the resolver: base pins not named by the model, the model's, the runtime's.

    Raises:
        InvalidSpec: A model pin leaves no version the runtime can use.
    """
    named = {r.name for r in model}
    named |= {_SAME_PACKAGE.get(name, name) for name in named}
    out = []
    for pin in base:
        name = canonicalize_name(Requirement(pin).name)
        if name not in named and _SAME_PACKAGE.get(name, name) not in named:
            out.append(pin)
    out += [r.text for r in model]
    by_name = {r.name: r for r in model}
    for need in runtime:
        mine = by_name.get(canonicalize_name(need.name))
        if mine is not None:
            _check_runtime_pin(mine, need)
        out.append(str(need))
    return out


def _check_runtime_pin(mine: ParsedRequirement, need: Requirement) -> None:
    pinned = [s.version for s in mine.requirement.specifier if s.operator in ("==", "===")]
    if mine.requirement.marker is not None and not mine.requirement.marker.evaluate():
        return
    for version in pinned:
        if "*" not in version and not need.specifier.contains(version, prereleases=True):
            raise InvalidSpec(
                f"requirements.txt line {mine.line}: {mine.text!r} conflicts with the Shipyard "
                f"replica runtime, which needs {need}; allow a version in {need.specifier} "
                f"or remove the pin",
                details={
                    "errors": [
                        {
                            "field": "requirements.txt",
                            "line": mine.line,
                            "value": mine.text,
                            "runtime_needs": str(need),
                        }
                    ]
                },
            )
