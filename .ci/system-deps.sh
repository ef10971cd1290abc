#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing: fonts for PDFs, chromium for browser tests,
# a JDK and PHP for the webhook examples of the integration guide, and wrk, the benchmarks' load generator.
set -euo pipefail
need=()
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# the integration guide's Java and PHP webhook examples run in the tests
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)  # `java File.java` needs the compiler
command -v php >/dev/null 2>&1 || need+=(php-cli)
# the HTTP benchmarks' load generator (a C client that outruns the gateway; its Lua scripts are in bench/wrk/)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing ${need[*]}"
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
