#!/bin/sh
# Make sure a Chromium the browser test can drive is installed: Debian's chromium (+ chromium-driver), via apt.
# A browser already present (CHROMIUM=/path, Debian's /usr/bin/chromium, or Google Chrome on CI images) is used as is.
set -e
for exe in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/google-chrome /usr/bin/google-chrome-stable; do
    if [ -n "$exe" ] && [ -x "$exe" ]; then
        echo "browser: $exe"
        exit 0
    fi
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing Debian's chromium and chromium-driver (apt)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
echo "browser: /usr/bin/chromium"
