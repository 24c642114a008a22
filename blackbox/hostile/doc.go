// Package hostile holds black-box tests of our supervisord, run as root,
// against a hostile local user: `nobody` planting symbolic links and files
// where the daemon writes its pidfile, main log and child logs (in a
// sticky world-writable directory and in a directory nobody owns), and
// programs or event listeners that try to make the daemon's memory grow
// without bound. Each attack is made for real (the attacker's files are
// created by processes running as nobody) and its effect is checked on
// disk or in /proc. The tests need root and fail when they do not have it.
package hostile
