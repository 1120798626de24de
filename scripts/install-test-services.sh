#!/bin/sh
# Install the Debian packages that some tests start or drive: a Mosquitto
# broker for the MQTT output and Chromium for the web preview. Tests that need
# a missing one skip with a reason, so this step is skipped without root.
set -e
PACKAGES="$(grep -v '^#' "$(dirname "$0")/test-services.txt" | tr '\n' ' ')"
missing=""
for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "Not root: skipping the install of$missing; the tests that need them will skip." >&2
    exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
