# bench/peers/lib.sh — what the peer scripts share.  Sourced, not run.
#
# A peer script owns DIR: `start` makes it (it must not exist or be empty)
# and leaves a marker naming the peer, the server's pid file and whatever
# the server needs; `stop` stops the pid of the pid file and removes DIR,
# only if the marker names the same peer.
# shellcheck shell=bash

PY=/usr/bin/python3
MARKER=.bench-peer

say() { printf '%s: %s\n' "$PEER" "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
	printf 'usage: %s start DIR%s | stop DIR\n' "$0" "${PEER_START_OPTIONS:+ $PEER_START_OPTIONS}" >&2
	exit 2
}

# Install Debian packages when a command is missing (root only).
need_packages() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null && return 0
	[ "$(id -u)" -eq 0 ] || die "$cmd is missing: apt-get install $* (as root)"
	say "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 || {
		apt-get update >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
	}
	command -v "$cmd" >/dev/null || die "could not install $*"
}

# Make DIR (absolute) and mark it as this peer's.
claim_dir() {
	local dir=$1
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		die "$dir exists and is not empty"
	fi
	mkdir -p "$dir" || die "cannot make $dir"
	chmod 700 "$dir"
	printf '%s\n' "$PEER" >"$dir/$MARKER"
}

# Until start_done: should start fail or be interrupted, stop what it
# started and remove DIR, WHAT as for stop_dir.
GUARD_DIR=
GUARD_WHAT=
start_guard() {
	GUARD_DIR=$1
	GUARD_WHAT=$2
	trap 'stop_dir "$GUARD_DIR" "$GUARD_WHAT"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

start_done() {
	trap - EXIT INT TERM
}

# A random secret of 32 hex digits, safe in a URL, a form and JSON.
random_secret() {
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# Wait until a GET of URL answers 200; the server PID must stay alive.
wait_http_200() {
	local url=$1 pid=$2 code
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 1
		code=$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) || code=000
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# Does PID run the program whose path or name contains WHAT?  Guards against
# a pid file that outlived its process and a pid since reused.
pid_runs() {
	local pid=$1 what=$2
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$what"
}

# Stop the server of DIR and remove DIR.  WHAT is what its command line holds.
stop_dir() {
	local dir=$1 what=$2 pid
	[ -d "$dir" ] || return 0
	[ "$(cat "$dir/$MARKER" 2>/dev/null)" = "$PEER" ] ||
		die "$dir is not a $PEER directory: not touching it"
	pid=$(cat "$dir/pid" 2>/dev/null || true)
	if [ -n "$pid" ] && pid_runs "$pid" "$what"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

# Print one JSON object from NAME VALUE pairs.  A value "@null" is null,
# "@int:N" a number, "@true" and "@false" booleans; anything else a string.
json_object() {
	"$PY" -c '
import json, sys
args = sys.argv[1:]
out = {}
for key, value in zip(args[0::2], args[1::2]):
    if value == "@null":
        out[key] = None
    elif value in ("@true", "@false"):
        out[key] = value == "@true"
    elif value.startswith("@int:"):
        out[key] = int(value[5:])
    else:
        out[key] = value
print(json.dumps(out))' "$@"
}
