#!/usr/bin/env bash
# Runs the official @cloudbase/oauth JS client against the emulator.
# Assumes the emulator binary is already built (cargo build -p cloudbase-auth-emulator);
# override its path with EMULATOR_BIN.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node --test conformance.test.mjs
