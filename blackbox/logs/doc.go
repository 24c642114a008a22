// Package logs holds black-box tests of what supervisord writes to disk:
// child output logs (rotation, AUTO names, NONE, redirect_stderr,
// strip_ansi, debug copies into the main log, SIGUSR2 reopen, faults such
// as a vanished directory or a full disk) and the main log itself
// (rotation, line format, maintail/readLog).
//
// Where the Python reference (Supervisor 4.2.5) can run the same scenario,
// both daemons run it, each in its own directory, and the results are
// compared; the fault scenarios, where the reference is known to lose
// output, run against our daemon only. The supervised children are the
// test binary itself; this file's helpers build the byte streams they
// write.
package logs
