#!/usr/bin/env bash
# Installs the Debian packages roi's tests need (Chromium for the browser tests, WeasyPrint's
# libraries, poppler-utils for pdftotext), when run as root and any is missing.
set -eu
packages="chromium libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils fonts-dejavu-core"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "system-packages: missing$missing; install them (as root: apt-get install$missing)" >&2
  exit 0
fi
echo "system-packages: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q $missing >/dev/null
