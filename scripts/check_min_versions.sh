#!/usr/bin/env bash
# Install the declared MINIMUM versions of every dependency (the ">=" floors of pyproject.toml,
# core and the "all" extra) into a fresh virtualenv and run a smoke test: the demo county end to
# end, and the tests that exercise the optional packages (maps, OSM reading, the config model).
#
#   bash scripts/check_min_versions.sh            # uses python3; PYTHON=python3.11 to choose
#
# Not part of .ci/run (it downloads and may compile old wheels, which can take long); run it
# when a floor changes. Floors older than the Python in use may have no wheels: then pip says
# so, and that floor needs raising (or an older Python).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${VENV:-.min-venv}
rm -rf "$VENV"
$PY -m venv "$VENV"
. "$VENV/bin/activate"
python -m pip install --quiet --upgrade pip

# "pkg>=X" -> "pkg==X" for the core dependencies and the "all" extra
python - <<'EOF' > "$VENV/constraints.txt"
import re, tomllib
data = tomllib.load(open("pyproject.toml", "rb"))
reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["all"]
for req in reqs:
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9.]+)", req)
    if m:
        print(f"{m.group(1)}=={m.group(3)}")
EOF
echo "minimum versions:"; sed 's/^/  /' "$VENV/constraints.txt"
pip install --quiet -c "$VENV/constraints.txt" ".[all]" pytest hypothesis

out=$(mktemp -d)
ynps-geo -q demo --out "$out/demo"
test -s "$out/demo/map.html" && test -s "$out/demo/report.html" && test -s "$out/demo/coverage.csv"
python -m pytest -q -p no:cacheprovider tests/test_maps.py tests/test_osm.py \
  tests/test_bad_inputs.py -k "not fuzzed" -x
echo "minimum versions: the demo and the smoke tests pass"
