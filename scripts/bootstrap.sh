# Sourced by the other scripts: make sure .venv exists with Bothy and its extras installed.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-dev}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating a virtual environment in .venv" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
STAMP="$VENV/.bothy-installed-$EXTRAS"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    echo "Installing Bothy and its dependencies (first run takes a minute or two)" >&2
    # -qq: errors still show; setuptools' generic "editable installation" notice does not.
    "$VENV/bin/python" -m pip install -qq -e "$ROOT[$EXTRAS]"
    touch "$STAMP"
fi
