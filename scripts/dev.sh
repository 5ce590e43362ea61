#!/usr/bin/env bash
# One entry point for a fresh machine (needs only python3 with venv and pip):
#   bash scripts/dev.sh demo [ARGS...]   trace a small mock litellm app (no API key, no server)
#   bash scripts/dev.sh test [PYTEST ARGS...]   run the test suite
#   bash scripts/dev.sh lint             ruff
#   bash scripts/dev.sh test-phoenix [PYTEST ARGS...]   the Arize Phoenix integration test
# Everything is installed into .venv from the pinned constraints.txt, once. Phoenix cannot
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
    echo "== step 1 of 2: the suite without the long reliability runs (-m 'not slow')"
    "$VENV/bin/python" -m pytest -m "not slow"
    echo "== step 2 of 2: the long reliability runs (-m slow)"
    exec "$VENV/bin/python" -m pytest -m slow
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
    echo "usage: bash scripts/dev.sh {demo|test|test-phoenix|lint} [args...]" >&2
    exit 2
    ;;
esac
