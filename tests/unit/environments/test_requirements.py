"""A model's requirements.txt: strict parsing, the merge over a base, the runtime's needs."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from shipyard.environments.requirements import merge, parse, runtime_requirements
from shipyard.errors import InvalidSpec

pytestmark = pytest.mark.unit

RUNTIME = [Requirement("starlette>=0.40"), Requirement("uvicorn>=0.30")]


def test_comments_blank_lines_continuations_and_markers_are_understood() -> None:
    text = (
        "# pinned for the 2023 model\n"
        "\n"
        "scikit-learn==1.3.2  # trained with it\n"
        "numpy>=1.24,\\\n"
        "  <2\n"
        'pandas[performance]>=2; python_version >= "3.10"\n'
    )
    parsed = parse(text)
    assert [(r.line, r.name) for r in parsed] == [(3, "scikit-learn"), (4, "numpy"), (6, "pandas")]
    assert str(parsed[1].requirement.specifier) == "<2,>=1.24"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("-e .\n", "line 1: '-e .' is not supported"),
        ("numpy\n-r other.txt\n", "line 2: '-r other.txt' is not supported"),
        ("--index-url https://example.org\n", "SHIPYARD_INDEX_URL"),
        ("scikit learn\n", "line 1: 'scikit learn' is not a valid requirement"),
        ("numpy==1.26\nNumPy<2\n", "line 2: numpy is already required on line 1"),
    ],
)
def test_bad_lines_are_refused_with_the_line_and_the_fix(text: str, needle: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse(text)
    assert needle in caught.value.message


def test_the_model_overrides_base_pins_by_canonical_name_and_the_runtime_comes_last() -> None:
    base = ["numpy==2.4.6", "scikit-learn==1.9.1", "pandas==3.1.1"]
    merged = merge(base, parse("Scikit_Learn==1.3.2\nnumpy<2\nsix\n"), RUNTIME)
    assert merged == [
        "pandas==3.1.1",
        "Scikit_Learn==1.3.2",
        "numpy<2",
        "six",
        "starlette>=0.40",
        "uvicorn>=0.30",
    ]


def test_a_pin_that_excludes_the_runtime_is_refused_naming_both_sides() -> None:
    with pytest.raises(InvalidSpec) as caught:
        merge([], parse("uvicorn==0.20.0\n"), RUNTIME)
    message = caught.value.message
    assert "'uvicorn==0.20.0' conflicts with the Shipyard replica runtime" in message
    assert "uvicorn>=0.30" in message
    # a compatible pin, a range or a pin for another platform is left to the resolver
    merge([], parse("uvicorn==0.31.0\nstarlette>=0.30\n"), RUNTIME)
    merge([], parse('uvicorn==0.20.0; sys_platform == "win32"\n'), RUNTIME)


def test_the_runtime_needs_nothing_installed_in_an_environment() -> None:
    # the `runtime` extra is empty: shipyard.runtime and shipyard.http1 are stdlib only
    assert runtime_requirements() == []


def test_naming_xgboost_replaces_the_bases_cpu_build_of_it() -> None:
    merged = merge(["xgboost-cpu==3.2.0", "numpy==2.4.6"], parse("xgboost==1.7.6\n"), [])
    assert merged == ["numpy==2.4.6", "xgboost==1.7.6"]
