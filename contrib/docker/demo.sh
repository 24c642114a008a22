#!/bin/sh
# Stand-ins for a real image's programs: a migration that exits 0, a
# service and a worker that run until they are told to stop.
set -eu
DB_PASSWORD=${DB_PASSWORD:-}
case "${1:-}" in
migrate)
	echo "migrate: schema up to date"
	;;
serve)
	echo "serve: listening on ${APP_PORT} as $(id -un) (HOME=${HOME}, secret of ${#DB_PASSWORD} bytes)"
	trap 'echo "serve: stopping"; exit 0' TERM
	while :; do sleep 1; done
	;;
work)
	echo "work: started"
	trap 'echo "work: stopping"; exit 0' TERM
	while :; do sleep 1; done
	;;
*)
	echo "usage: demo migrate|serve|work" >&2
	exit 2
	;;
esac
