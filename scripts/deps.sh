#!/bin/sh
# Install what the test suite needs when it is missing: the Python
# reference (Debian's supervisor 4.2.5), chromium for the web UI test, and
# systemd for the sd_notify senders (/usr/bin/systemd-notify and
# libsystemd.so.0, which the notify tests load through ctypes) and for its
# environment.d generator (the environment_file parser's oracle).
# "deps.sh bench" also wants a C compiler (make bench builds its C log
# reader).
set -e
need=""
[ "$1" = bench ] && ! command -v cc >/dev/null && need="$need gcc"
[ -x /usr/bin/supervisord ] && [ -x /usr/bin/supervisorctl ] || need="$need supervisor"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -x /usr/bin/chromedriver ] || need="$need chromium-driver"
{ [ -x /usr/bin/systemd-notify ] && /sbin/ldconfig -p | grep -q 'libsystemd\.so\.0 ' &&
	[ -x /usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator ]; } || need="$need systemd"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$need (run as root, or: sudo apt-get install -y$need)" >&2
	exit 1
fi
echo "deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $need >/dev/null
