#!/usr/bin/env bash
# `make run`: the whole product on embedded defaults: the Microsoft 365 emulator
# (seeded with the demo mailbox), SQLite, in-process jobs, and the backend under
# gunicorn (one process, so the in-process jobs and scheduler run once).
#
# Ctrl+C or a kill (TERM) stops everything this script started: both servers run in
# the background while the script waits on them, so its trap runs at once and stops
# them, and when either server dies the other is stopped too.
#
# Environment: EMULATOR_PORT (8443), PORT (5000), INSTANCE_DIR (instance/: the
# database, the emulator's keys and log), EMULATOR_FIXTURE, and any backend setting.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
EMU_PORT=${EMULATOR_PORT:-8443}
WEB_PORT=${PORT:-5000}
mkdir -p "${INSTANCE_DIR:-instance}"
INSTANCE_DIR=$(cd "${INSTANCE_DIR:-instance}" && pwd)
export INSTANCE_DIR
STATE=$INSTANCE_DIR/emulator
mkdir -p "$STATE"

pids=()
stop_all() {
  trap - INT TERM
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

export GRAPH_BASE_URL=${GRAPH_BASE_URL:-https://localhost:$EMU_PORT/v1.0}
export AUTHORITY_HOST=${AUTHORITY_HOST:-https://localhost:$EMU_PORT}
export CA_BUNDLE=${CA_BUNDLE:-$STATE/ca.pem}
export AZURE_CLIENT_ID=${AZURE_CLIENT_ID:-6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13}
# The emulator's fixture holds this dev-only value; it is not a credential anywhere else.
export AZURE_CLIENT_SECRET=${AZURE_CLIENT_SECRET:-local-emulator-only}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://localhost:$WEB_PORT}
export OFFICE_JS_URL=${OFFICE_JS_URL:-https://localhost:$EMU_PORT/outlook/office.js}
# The Outlook-like page loads the add-in from here, so its plain URL needs no parameter.
export ADDIN_ORIGIN=${ADDIN_ORIGIN:-$PUBLIC_BASE_URL}

EMU_LOG=$INSTANCE_DIR/emulator.log
$PY -m emulator --port "$EMU_PORT" --state-dir "$STATE" --fixture "${EMULATOR_FIXTURE:-emulator/fixtures/demo.json}" \
  > "$EMU_LOG" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  grep -q 'Emulator ready' "$EMU_LOG" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$EMU_LOG"; exit 1; }
  sleep 0.1
done

$PY -m flask --app server db upgrade
if $PY -m flask --app server crm --help 2>/dev/null | grep -q ' import'; then
  [ -f "$INSTANCE_DIR/.demo-imported" ] || {
    $PY -m flask --app server crm import --tenant 8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11 demo/contacts.csv &&
      touch "$INSTANCE_DIR/.demo-imported"; }
fi

# gunicorn.conf.py (the production settings: threads, timeout), with one worker process
# for the embedded setup; its own start-up lines stay quiet, its request log goes to stdout.
$PY -m gunicorn -c gunicorn.conf.py --workers 1 --bind "127.0.0.1:$WEB_PORT" --graceful-timeout 5 \
  --log-level warning --access-logfile - --access-logformat '%(h)s "%(r)s" %(s)s %(b)s %(M)sms' \
  "server:create_app()" &
pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null; do
  kill -0 "${pids[1]}" 2>/dev/null || { echo "The backend did not start (see above)." >&2; exit 1; }
  sleep 0.1
done

shown() { case "$1" in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac; }
cat <<MSG

  CRM Sync for Outlook is running.

  Outlook-like demo page : https://localhost:$EMU_PORT/outlook/
  CRM web pages          : $PUBLIC_BASE_URL/crm/
  API (OpenAPI)          : $PUBLIC_BASE_URL/api/v1/openapi.json
  Add-in manifest        : $PUBLIC_BASE_URL/addin/manifest.xml
  Emulator CA            : $(shown "$CA_BUNDLE")  (trust it in your browser, or accept the warning once)

  Stop with Ctrl+C.

MSG

# Until either server ends: then the EXIT trap stops the other.
set +e
wait -n "${pids[@]}"
status=$?
echo "A server stopped (exit status $status); stopping the rest." >&2
exit "$status"
