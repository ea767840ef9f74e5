#!/usr/bin/env bash
# Install the test dependencies into .venv and run every test (and the linter).
# External referees (named-checkzone, dig, nsd, knot, exim) come from Debian:
#   apt-get install bind9-utils bind9-dnsutils nsd knot knot-dnsutils exim4-daemon-light iproute2 bind9
# and Postfix unpacked, not installed (it would remove exim): bash scripts/unpack-postfix.sh (root)
# Tests that need a missing one are skipped locally, and fail when ZONETOOL_REQUIRE_TOOLS=1 (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check zonetool tests examples benchmarks
exec .venv/bin/python -m pytest "$@"
