#!/usr/bin/env bash
# One entry point for a fresh machine (needs only python3 with venv and pip):
#   bash scripts/dev.sh demo [ARGS...]   trace a small mock litellm app (no API key, no server)
#   bash scripts/dev.sh test [PYTEST ARGS...]   run the test suite
#   bash scripts/dev.sh lint             ruff
# Everything is installed into .venv from the pinned constraints.txt, once.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
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
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  lint)
    ensure_venv
    "$VENV/bin/ruff" check src tests benchmarks examples
    exec "$VENV/bin/ruff" format --check src tests benchmarks examples
    ;;
  *)
    echo "usage: bash scripts/dev.sh {demo|test|lint} [args...]" >&2
    exit 2
    ;;
esac
