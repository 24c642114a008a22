#!/bin/sh
# ticker.sh [NAME [SECONDS]]: print "NAME tick N" every SECONDS seconds.
name=${1:-ticker}
every=${2:-1}
i=0
while :; do
	i=$((i + 1))
	echo "$name tick $i"
	sleep "$every"
done
