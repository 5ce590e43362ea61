#!/usr/bin/env bash
# One entry point for a fresh machine (needs only python3 with venv and pip):
#   bash scripts/dev.sh demo [ARGS...]   trace a small mock litellm app (no API key, no server)
#   bash scripts/dev.sh test [PYTEST ARGS...]   run the test suite (no ARGS: the whole matrix)
#   bash scripts/dev.sh test-column VERSION [PYTEST ARGS...]   the litellm-calling tests on the
#                                        litellm VERSION column (constraints/litellm-VERSION.txt)
#   bash scripts/dev.sh newest-column    move the newest column to the newest litellm on the
#                                        index (a new constraints file) and run it
#   bash scripts/dev.sh freeze-column VERSION [oldest|newest]   (re)write
#                                        constraints/litellm-VERSION.txt from a fresh resolve
#   bash scripts/dev.sh lint             ruff
#   bash scripts/dev.sh test-phoenix [PYTEST ARGS...]   the Arize Phoenix integration test
# Everything is installed into .venv from the pinned constraints.txt, once. The version
# matrix (docs/development.md): each constraints/litellm-X.txt is another litellm column,
# installed exactly as frozen into its own .venv-litellm-X, once; `test` runs the whole suite
# on the pinned column and the tests marked litellm_matrix (but not slow) on the others. Phoenix cannot
# share that venv (it needs openai>=3, litellm openai<3): test-phoenix installs it into its
# own .venv-phoenix (about 150 packages, a few minutes the first time) and runs `phoenix
# serve` from there as a separate process.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PHOENIX_VENV="${PHOENIX_VENV:-.venv-phoenix}"
PHOENIX_VERSION="20.26.1"  # runs on Python 3.11 here; 20.3.0 crashes at start
export LITELLM_LOCAL_MODEL_COST_MAP=True
export PIP_DISABLE_PIP_VERSION_CHECK=1

ensure_venv() {
  local stamp="$VENV/.installed"
  local want
  want="$(cat pyproject.toml constraints.txt | cksum)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  echo "==> installing into $VENV (first run takes a minute or two)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[test]"
  echo "$want" > "$stamp"
}

# The other litellm columns: constraints/litellm-X.txt, oldest first.
columns() {
  local file
  for file in constraints/litellm-*.txt; do
    [[ -e "$file" ]] || continue
    file="${file#constraints/litellm-}"
    echo "${file%.txt}"
  done | sort -V
}

# A column's venv holds exactly its frozen constraints file (no resolution: CI installs the
# same set every time) plus this checkout, editable.
ensure_column() {
  local version="$1" venv=".venv-litellm-$1" file="constraints/litellm-$1.txt" want
  [[ -f "$file" ]] || { echo "no $file (bash scripts/dev.sh freeze-column $version)" >&2; exit 2; }
  want="$(cat pyproject.toml "$file" | cksum)"
  if [[ -f "$venv/.installed" && "$(cat "$venv/.installed")" == "$want" ]]; then
    return
  fi
  echo "==> installing the litellm $version column into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet --no-deps -r "$file"
  "$venv/bin/python" -m pip install --quiet --no-deps -e .
  echo "$want" > "$venv/.installed"
}

# The tests that call litellm (SDK, Router, Proxy) on one other column.
test_column() {
  local version="$1"
  shift
  ensure_column "$version"
  if [ "$#" -gt 0 ]; then
    ".venv-litellm-$version/bin/python" -m pytest "$@"
  else
    ".venv-litellm-$version/bin/python" -m pytest -m "litellm_matrix and not slow"
  fi
}

# Resolve a column afresh (this package's test extras, litellm VERSION and its proxy extra's
# requirements, OTel oldest or newest: scripts/column.py) and freeze it.
freeze_column() {
  local version="$1" otel="${2:-newest}" tmp file="constraints/litellm-$1.txt"
  tmp="$(mktemp -d)"
  echo "==> resolving the litellm $version column (OpenTelemetry $otel) in $tmp" >&2
  python3 scripts/column.py requirements "$version" --otel "$otel" > "$tmp/requirements.txt"
  python3 -m venv "$tmp/venv"
  "$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
  "$tmp/venv/bin/python" -m pip install --quiet -r "$tmp/requirements.txt"
  mkdir -p constraints
  {
    echo "# The litellm $version column of the CI version matrix (docs/development.md), OpenTelemetry $otel."
    echo "# Frozen by: bash scripts/dev.sh freeze-column $version $otel; installed as is (--no-deps)."
    "$tmp/venv/bin/python" -m pip freeze --exclude-editable
  } > "$file"
  rm -rf "$tmp"
  echo "==> wrote $file" >&2
}

ensure_phoenix() {
  local stamp="$PHOENIX_VENV/.installed"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$PHOENIX_VERSION" ]]; then
    return
  fi
  echo "==> installing arize-phoenix $PHOENIX_VERSION into $PHOENIX_VENV (a few minutes)" >&2
  python3 -m venv "$PHOENIX_VENV"
  "$PHOENIX_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$PHOENIX_VENV/bin/python" -m pip install --quiet "arize-phoenix==$PHOENIX_VERSION"
  echo "$PHOENIX_VERSION" > "$stamp"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  demo)
    ensure_venv
    # examples/demo is not part of the installed package: run it from the checkout.
    PYTHONPATH="$PWD/examples${PYTHONPATH:+:$PYTHONPATH}" exec "$VENV/bin/python" -m demo "$@"
    ;;
  test)
    ensure_venv
    if [ "$#" -gt 0 ]; then
      exec "$VENV/bin/python" -m pytest "$@"
    fi
    # Two steps: the suite, then the long reliability runs (marker "slow": every fault
    # injected, concurrency, memory) on their own, so a failure says which part it is.
    # The pinned column (constraints.txt): the suite, then the long reliability runs (marker
    # "slow": every fault injected, concurrency, memory) on their own, so a failure says which
    # part it is. Then each other litellm column: the tests that call litellm.
    mapfile -t others < <(columns)
    steps=$((2 + ${#others[@]}))
    echo "== step 1 of $steps: the suite without the long reliability runs (-m 'not slow')"
    "$VENV/bin/python" -m pytest -m "not slow"
    echo "== step 2 of $steps: the long reliability runs (-m slow)"
    "$VENV/bin/python" -m pytest -m slow
    step=2
    for version in "${others[@]}"; do
      step=$((step + 1))
      echo "== step $step of $steps: litellm $version column, the tests that call litellm (-m 'litellm_matrix and not slow')"
      test_column "$version"
    done
    ;;
  test-column)
    [ "$#" -gt 0 ] || { echo "usage: bash scripts/dev.sh test-column VERSION [PYTEST ARGS...]" >&2; exit 2; }
    test_column "$@"
    ;;
  freeze-column)
    [ "$#" -gt 0 ] || { echo "usage: bash scripts/dev.sh freeze-column VERSION [oldest|newest]" >&2; exit 2; }
    freeze_column "$@"
    ;;
  newest-column)
    # The newest column is the newest constraints/litellm-X.txt; the oldest one stays.
    newest="$(python3 scripts/column.py newest-litellm)"
    current="$(columns | tail -n 1)"
    if [[ "$newest" != "$current" ]]; then
      freeze_column "$newest" newest
      if [[ -n "$current" && "$current" != "$(columns | head -n 1)" ]]; then
        git rm --quiet "constraints/litellm-$current.txt" 2>/dev/null \
          || rm -f "constraints/litellm-$current.txt"
      fi
      echo "==> the newest column is now litellm $newest (was ${current:-none}): update README.md's" \
           "supported range and CHANGELOG.md (tests/test_matrix.py checks the README)" >&2
    fi
    test_column "$newest"
    ;;
  test-phoenix)
    ensure_venv
    ensure_phoenix
    PHOENIX_EXECUTABLE="$PWD/$PHOENIX_VENV/bin/phoenix" \
      exec "$VENV/bin/python" -m pytest tests/test_phoenix.py "$@"
    ;;
  lint)
    ensure_venv
    "$VENV/bin/ruff" check src tests benchmarks examples
    exec "$VENV/bin/ruff" format --check src tests benchmarks examples
    ;;
  *)
    echo "usage: bash scripts/dev.sh {demo|test|test-column|newest-column|freeze-column|test-phoenix|lint} [args...]" >&2
    exit 2
    ;;
esac
