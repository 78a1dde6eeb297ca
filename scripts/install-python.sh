#!/usr/bin/env bash
# Create the virtual environment $1 and install cropkit (editable) with its test tools.
# torch is taken from a local CPU wheel when one is available (pip's find-links), which
# avoids several GB of CUDA wheels; the version range in pyproject.toml admits it.
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
find_links=()
[ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)

"${pip[@]}" install -q --upgrade pip setuptools wheel
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  "${pip[@]}" install -q "${find_links[@]}" "torch==2.13.0" 2>/dev/null \
    || "${pip[@]}" install -q "${find_links[@]}" "torch>=2.2,<2.14"
fi
"${pip[@]}" install -q "${find_links[@]}" -e ".[dev,lab,explain]"
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cropkit)" >/dev/null
