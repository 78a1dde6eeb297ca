#!/usr/bin/env bash
# Headless Chromium and its driver for the browser tests (Debian's packages; nothing is
# downloaded at test time). Installed with apt-get when running as root on Debian/Ubuntu;
# otherwise the browser tests skip and say why. Never fails the build.
set -uo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "cropkit: installing chromium and chromium-driver with apt-get (browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
     || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
    exit 0
  fi
fi
echo "cropkit: no chromium/chromedriver (apt-get install chromium chromium-driver): the browser tests will skip" >&2
exit 0
