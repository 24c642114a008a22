// Package notify holds the black-box tests of issue 14: programs that
// report over sd_notify (Python's standard library, libsystemd through
// ctypes, systemd-notify as root and as nobody), the watchdog, health
// checks against real HTTP, TCP and exec targets, and supervisord itself
// under a test's NOTIFY_SOCKET. Everything runs the built binaries and
// real processes.
package notify
