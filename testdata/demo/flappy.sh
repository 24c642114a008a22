#!/bin/sh
# flappy.sh SECONDS: work for SECONDS seconds, then fail with status 1.
echo "flappy: working for ${1:-5} seconds"
sleep "${1:-5}"
echo "flappy: something went wrong, exiting 1" >&2
exit 1
