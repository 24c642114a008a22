// Package blackbox holds differential black-box tests: the same scripted
// client session runs against our supervisord and against the Python
// reference (Supervisor 4.2.5), each in its own directory with its own
// socket, and the normalised transcripts must be equal. The clients are
// the reference's own: Python's xmlrpc.client through supervisor's
// transport, and the stock /usr/bin/supervisorctl.
package blackbox
