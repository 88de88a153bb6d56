#!/usr/bin/env bash
# Build (or reuse) a virtualenv with one pinned Airflow 3 release, this package (editable) and its dev extras,
# pinned by constraints/airflow-<version>.txt: a freeze of an environment where the test suites passed.
# Airflow's own constraint files are not reachable here; without pins an older release resolves against
# today's libraries and does not run (see README, "Airflow versions"). Wheels come from pip's cache after
# the first build, so a rebuild takes about a minute.
#
#   scripts/compat_env.sh [VERSION] [VENV]      defaults: 3.1.8 .venv-<VERSION>
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${1:-3.1.8}"
VENV="${2:-.venv-$VERSION}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
CONSTRAINTS="constraints/airflow-${VERSION}.txt"

if [[ ! -f "$CONSTRAINTS" ]]; then
  echo "no $CONSTRAINTS: Airflow $VERSION is not a tested version" >&2
  exit 2
fi

# Reinstall only when the version, pyproject.toml or the constraints change.
KEY="$(cat pyproject.toml "$CONSTRAINTS" | sha256sum | cut -c1-16)"
STAMP="$VENV/.installed-$VERSION-$KEY"
if [[ -f "$STAMP" ]]; then
  exit 0
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24"
"$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" "apache-airflow==$VERSION" -e ".[dev]"
"$VENV/bin/python" -m pip check
got="$("$VENV/bin/python" -c 'import airflow; print(airflow.__version__)')"
if [[ "$got" != "$VERSION" ]]; then
  echo "expected Airflow $VERSION in $VENV, got $got" >&2
  exit 1
fi
touch "$STAMP"
echo "$VENV: Airflow $VERSION"
