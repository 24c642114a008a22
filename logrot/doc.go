// Package logrot writes, rotates and reads back Supervisor's log files.
//
// It covers the child-output side (a rotating [Writer] fed by [Pump] from a
// child's pipe, with an optional chunk filter such as [StripANSI]), the read
// side used by the XML-RPC and HTTP layers ([OpenLog] with [Log.ReadRange] and [Log.Tail], [FollowLog])
// and supervisord's own activity log ([MainLog], a logrus logger writing the
// reference's line format or JSON lines).
//
// The rules are those of Supervisor 4.2.5: rotation is checked after each
// whole chunk is written (so a file may exceed maxbytes by up to one chunk),
// "x.log" becomes "x.log.1" and older backups shift up to "x.log.N",
// backups=0 truncates, maxbytes=0 never rotates. Unlike the reference, a
// vanished log directory is recreated and the bytes kept, and write failures
// are counted ([Writer.Dropped]) and reported once instead of per chunk.
// Files are opened, created and rotated through internal/safefs, so that a
// link or file another user planted in a writable log directory is never
// written through or adopted.
//
// The package starts no goroutines of its own: Pump runs on its caller's
// goroutine and parks on the runtime netpoller while the pipe is empty.
// Pump moves bytes with splice(2) when nothing needs to see them, borrows a
// read buffer only while data is there, allocates nothing per chunk, and
// by default pauses briefly after small reads so a chatty child's lines
// are moved in batches (WithCoalesce). Its pipe, a [Source] made by [Pipe],
// is out of the runtime poller during those pauses, so a child's writes
// wake nobody until the pause ends, and a fast stream's pipe grows to
// 256 KiB. The package is Linux-only (splice, F_SETPIPE_SZ).
package logrot
