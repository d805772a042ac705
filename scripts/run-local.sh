#!/usr/bin/env bash
# `make run`: the whole product on embedded defaults: the Microsoft 365 emulator
# (seeded with the demo mailbox), SQLite, in-process jobs, and the backend.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
EMU_PORT=${EMULATOR_PORT:-8443}
WEB_PORT=${PORT:-5000}
STATE=instance/emulator
mkdir -p "$STATE"

cleanup() { [ -n "${emu_pid:-}" ] && kill "$emu_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$PY -m emulator --port "$EMU_PORT" --state-dir "$STATE" --fixture "${EMULATOR_FIXTURE:-emulator/fixtures/demo.json}" \
  > instance/emulator.log 2>&1 &
emu_pid=$!
for _ in $(seq 1 100); do
  grep -q 'Emulator ready' instance/emulator.log 2>/dev/null && break
  kill -0 "$emu_pid" 2>/dev/null || { cat instance/emulator.log; exit 1; }
  sleep 0.1
done

export GRAPH_BASE_URL=${GRAPH_BASE_URL:-https://localhost:$EMU_PORT/v1.0}
export AUTHORITY_HOST=${AUTHORITY_HOST:-https://localhost:$EMU_PORT}
export CA_BUNDLE=${CA_BUNDLE:-$PWD/$STATE/ca.pem}
export AZURE_CLIENT_ID=${AZURE_CLIENT_ID:-6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13}
# The emulator's fixture holds this dev-only value; it is not a credential anywhere else.
export AZURE_CLIENT_SECRET=${AZURE_CLIENT_SECRET:-local-emulator-only}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://localhost:$WEB_PORT}
export OFFICE_JS_URL=${OFFICE_JS_URL:-https://localhost:$EMU_PORT/outlook/office.js}

$PY -m flask --app server db upgrade
if $PY -m flask --app server crm --help 2>/dev/null | grep -q ' import'; then
  [ -f instance/.demo-imported ] || {
    $PY -m flask --app server crm import --tenant 8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11 demo/contacts.csv && touch instance/.demo-imported; }
fi

cat <<MSG

  CRM Sync for Outlook is running.

  Outlook-like demo page : https://localhost:$EMU_PORT/outlook/?backend=$PUBLIC_BASE_URL
  CRM web pages          : $PUBLIC_BASE_URL/crm/
  API (OpenAPI)          : $PUBLIC_BASE_URL/api/v1/openapi.json
  Add-in manifest        : $PUBLIC_BASE_URL/addin/manifest.xml
  Emulator CA            : $CA_BUNDLE  (trust it in your browser, or accept the warning once)

  Stop with Ctrl+C.
MSG
exec $PY -m flask --app server run --port "$WEB_PORT" --with-threads
