"""The CI version matrix is what the project says it is: every test module that calls litellm
is run on every litellm column or named as pinned-only with a reason (matrix.py); each column's
constraints file pins one litellm; the oldest column is the oldest release pyproject.toml
claims, with the oldest OpenTelemetry it claims; README.md names exactly the tested releases."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from matrix import MATRIX, PINNED_ONLY

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
USES_LITELLM = ("litellm", "proxy_fixtures", "proxy_scenarios")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return pins


COLUMNS = sorted(
    (ROOT / "constraints").glob("litellm-*.txt"),
    key=lambda p: tuple(int(x) for x in p.stem.removeprefix("litellm-").split(".")),
)


def test_every_module_that_calls_litellm_runs_on_every_column_or_says_why_not():
    modules = {p.relative_to(TESTS).as_posix(): p for p in TESTS.rglob("test_*.py")}
    assert not MATRIX & PINNED_ONLY.keys()
    assert (MATRIX | PINNED_ONLY.keys()) <= modules.keys(), "matrix.py names a missing module"
    unlisted = sorted(
        name
        for name, path in modules.items()
        if _imports(path) & set(USES_LITELLM) and name not in MATRIX | PINNED_ONLY.keys()
    )
    assert unlisted == [], "add them to tests/matrix.py: MATRIX, or PINNED_ONLY with the reason"


def test_the_marker_selects_the_matrix_modules(request):
    marked = {
        item.path.relative_to(TESTS).as_posix()
        for item in request.session.items
        if item.get_closest_marker("litellm_matrix")
    }
    here = {item.path.relative_to(TESTS).as_posix() for item in request.session.items}
    assert marked == MATRIX & here


@pytest.mark.parametrize("path", [ROOT / "constraints.txt", *COLUMNS], ids=lambda p: p.name)
def test_each_column_pins_one_litellm_and_installs_as_frozen(path):
    text = path.read_text()
    assert not re.search(r"^-e |^otel-genai-litellm", text, re.M), "the checkout is not frozen"
    pins = _pins(path)
    assert pins.get("litellm") not in (None, "1.107.0")
    if path.parent.name == "constraints":
        assert pins["litellm"] == path.stem.removeprefix("litellm-")


def test_the_oldest_column_is_the_oldest_claimed_release_with_the_oldest_claimed_otel():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (claim,) = [r for r in project["optional-dependencies"]["instruments"] if "litellm" in r]
    lowest = re.search(r">=\s*([\d.]+)", claim).group(1)
    oldest = _pins(COLUMNS[0])
    assert oldest["litellm"] in (lowest, f"{lowest}.0")
    for requirement in project["dependencies"]:
        name = re.match(r"[\w.-]+", requirement).group(0)
        floor = re.search(r"(?:~=|>=)\s*([\w.]+)", requirement).group(1)
        if name.startswith("opentelemetry-"):
            assert oldest[name] in (floor, f"{floor}.0"), name


def test_readme_names_exactly_the_tested_releases_and_the_claimed_range():
    from opentelemetry_instrumentation_litellm.package import _instruments

    tested = sorted(
        {_pins(p)["litellm"] for p in [ROOT / "constraints.txt", *COLUMNS]},
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    readme = (ROOT / "README.md").read_text()
    sentence = re.search(r"CI tests litellm ([\d., and]+)", readme)
    assert sentence, "README.md: 'CI tests litellm X, Y and Z: ...'"
    named = re.findall(r"\d+\.\d+\.\d+", sentence.group(1))
    assert named == tested
    claimed = _instruments[0].removeprefix("litellm").strip()
    assert f"`{claimed}`" in readme
