#!/usr/bin/env bash
# Minimal process supervisor (no systemd here).
#   supervise.sh NAME RUNDIR LOGFILE -- COMMAND [ARGS...]
# Runs COMMAND with stdout/stderr appended to LOGFILE and restarts it (with back-off) when it
# exits. Writes RUNDIR/NAME.supervisor.pid (this process) and RUNDIR/NAME.pid (the child).
# SIGTERM stops the child (SIGTERM, then SIGKILL after 15s) and exits without restarting.
name=$1 rundir=$2 logfile=$3; shift 3
[ "${1:-}" = -- ] && shift
echo $$ >"$rundir/$name.supervisor.pid"
child=""
sleeper=""
stopping=0
stop() {
  stopping=1
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  if [ -z "$child" ]; then rm -f "$rundir/$name.pid" "$rundir/$name.supervisor.pid"; exit 0; fi
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
  wait "$child" 2>/dev/null
  rm -f "$rundir/$name.pid" "$rundir/$name.supervisor.pid"
  echo "$(date -Is) [supervise] $name stopped" >>"$logfile"
  exit 0
}
trap stop TERM INT HUP
backoff=1
while :; do
  echo "$(date -Is) [supervise] starting $name: $*" >>"$logfile"
  started=$SECONDS
  "$@" >>"$logfile" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$rundir/$name.pid"
  wait "$child"; rc=$?
  [ $stopping = 1 ] && stop
  child=""
  echo "$(date -Is) [supervise] $name exited with status $rc" >>"$logfile"
  if [ $((SECONDS - started)) -gt 30 ]; then backoff=1; else backoff=$((backoff < 16 ? backoff * 2 : 16)); fi
  sleep "$backoff" & sleeper=$!
  wait "$sleeper"; sleeper=""
done
