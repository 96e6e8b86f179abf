#!/usr/bin/env bash
# The main job: set up (first run only) and solve every example instance under instances/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/allocopt solve instances/ --time-limit 5 "$@"
