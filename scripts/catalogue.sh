#!/usr/bin/env bash
# Add newly marked strings to the Spanish catalogue (with an empty msgstr to translate) and drop
# the ones no longer marked. `make catalogue` runs it; BIN names the virtualenv's bin directory.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
# --ignore-dirs: hidden directories only; Babel would also skip templates/_macros
"$BIN/pybabel" -q extract -F babel.cfg -k N_ -k Message -k lazy_gettext --no-location \
  --ignore-dirs=".*" --sort-output -o "$pot" .
"$BIN/pybabel" -q update -i "$pot" -d roi/translations -l es --no-fuzzy-matching \
  --ignore-obsolete --no-wrap
"$BIN/python" scripts/translate.py
echo "new strings have an empty msgstr in roi/translations/es/LC_MESSAGES/messages.po"
