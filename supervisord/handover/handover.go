// Package handover is the state document a supervisord upgraded in place
// hands to its successor: the running daemon execs the new binary in the
// same process (same pid, same children, same listening sockets), and
// the new binary resumes from this document instead of starting afresh.
//
// The document is JSON on a memfd whose descriptor number the new binary
// finds in $GOSUPERVISOR_HANDOVER_FD. Descriptors it names (pipes,
// sockets) are the old daemon's, inherited through the exec: the old
// daemon clears close-on-exec on exactly those (Inherit) and the new one
// sets it again at once (Adopt), so no program spawned later inherits
// them, and closes any other descriptor that came through the exec
// (CloseStrays), so nothing leaks.
//
// # Versions and additions
//
// Version is the layout of the core (process records, pipes, listeners,
// events). It changes only when an existing field changes meaning or
// goes away; a binary reads the versions from MinVersion to Version and
// refuses others, naming them.
//
// A feature that hands state over (sd_notify sockets, watchdog
// deadlines, depends_on holds, cgroup leaves, ...) adds it as one small
// versioned addition, without touching Version:
//
//  1. a row in Features below: the feature's name and the version of its
//     fields this binary writes and reads (start at 1, raise it when the
//     fields change meaning);
//  2. its fields, in a struct of its own under one key with omitempty in
//     the record it extends (Process, Group, Engine or Daemon), for
//     example a field Notify *NotifyState tagged json:"notify,omitempty", and
//     deadlines of its own as names in Process.Deadlines;
//  3. a document names the feature in Document.Features (Need) only when
//     it carries such state, so a binary that does not know the feature
//     can still take over a daemon that does not use it, and refuses one
//     that does (the upgrade check answers no, naming the feature);
//  4. the reader treats the feature's absent fields as "no such state"
//     (a document from a binary that predates the feature).
//
// Decoding is strict: a field this binary does not know is an error, so
// state is never dropped silently.
package handover

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gosupervisor/config"
)

// Format names the document.
const Format = "gosupervisor-handover"

// Version is the core layout this binary writes; MinVersion the oldest
// it reads.
const (
	Version    = 1
	MinVersion = 1
)

// Features are the additions this binary knows, with the version of each
// it writes and reads (see the package comment). Read-only.
var Features = map[string]int{
	// FeatureReadiness: sd_notify sockets and what they said, watchdog
	// and health check state (Process.Readiness, Engine.NotifyDir, and
	// the deadlines "ready", "watchdog", "force" and "check").
	FeatureReadiness: 1,
	// FeatureService: supervisord's own service manager
	// (Daemon.Service, Engine.Service).
	FeatureService: 1,
}

// The features' names.
const (
	FeatureReadiness = "readiness"
	FeatureService   = "service_manager"
)

// EnvFD names the environment variable holding the document's
// descriptor in the new binary.
const EnvFD = "GOSUPERVISOR_HANDOVER_FD"

// Document is the whole state handed over.
type Document struct {
	Format   string         `json:"format"`
	Version  int            `json:"version"`
	Features map[string]int `json:"features,omitempty"`
	// From is the build that wrote the document.
	From Build `json:"from"`
	// FrozenMono is CLOCK_MONOTONIC (ns) when the state was taken: every
	// remaining duration counts from it, so the time the exec took is
	// subtracted. FrozenAt is the wall time, for the logs.
	FrozenMono int64     `json:"frozen_mono_ns"`
	FrozenAt   time.Time `json:"frozen_at"`
	Daemon     Daemon    `json:"daemon"`
	// Configs are the configurations the engine runs on (see
	// config.Sources), referred to by index.
	Configs []*config.Sources `json:"configs"`
	Engine  Engine            `json:"engine"`
	Servers []Server          `json:"servers"`
	// Conns are idle client connections of the servers, between two
	// requests: the new binary serves their next request.
	Conns []Conn `json:"conns,omitempty"`
}

// Build identifies a binary in the upgrade's log lines.
type Build struct {
	Version  string `json:"version"`            // Supervisor's (protocol.Version)
	Label    string `json:"label,omitempty"`    // set at link time, e.g. a release
	Commit   string `json:"commit,omitempty"`   // vcs.revision
	Modified bool   `json:"modified,omitempty"` // vcs.modified
	Go       string `json:"go,omitempty"`
}

// String is the build as the main log names it:
// "gosupervisor 4.2.5 rc2 (commit 1a2b3c4d5e6f+dirty, go1.26.1)".
func (b Build) String() string {
	s := "gosupervisor " + b.Version
	if b.Label != "" {
		s += " " + b.Label
	}
	var extra []string
	if b.Commit != "" {
		c := b.Commit[:min(12, len(b.Commit))]
		if b.Modified {
			c += "+dirty"
		}
		extra = append(extra, "commit "+c)
	}
	if b.Go != "" {
		extra = append(extra, b.Go)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// Daemon is supervisord's own state.
type Daemon struct {
	// Args is the command line (program name first); the new binary is
	// exec'd with it.
	Args []string `json:"args"`
	// Pidfile is the pidfile this daemon wrote, nil when none: the
	// successor removes it at exit if it is still the same file.
	Pidfile *File `json:"pidfile,omitempty"`
	// Upgrades counts the in-place upgrades since the daemon started.
	Upgrades int `json:"upgrades"`
	// Service is the service manager supervisord runs under (feature
	// service_manager); nil when none.
	Service *Service `json:"service,omitempty"`
}

// Service is the service manager's socket ($NOTIFY_SOCKET) and its
// watchdog limit (0: none), as supervisord took them from its
// environment at start.
type Service struct {
	Socket       string `json:"socket"`
	WatchdogUSec int64  `json:"watchdog_usec,omitempty"`
}

// ServiceState is what the engine has told the service manager
// (feature service_manager).
type ServiceState struct {
	// Ready: READY=1 was sent; the successor sends it again at once
	// (the predecessor sent RELOADING=1 before the exec).
	Ready bool `json:"ready,omitempty"`
}

// File identifies a file that must still be the same one.
type File struct {
	Path string `json:"path"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
}

// Engine is the process engine's state.
type Engine struct {
	// Config is the configuration read last (reread replaces it).
	Config int `json:"config"`
	// Groups are the active groups in the engine's order.
	Groups []Group `json:"groups"`
	Events Events  `json:"events"`
	// NotifyDir is where the notification sockets live (feature
	// readiness); nil when none was made.
	NotifyDir *NotifyDir `json:"notify_dir,omitempty"`
	// Service is the engine's side of the service manager (feature
	// service_manager).
	Service *ServiceState `json:"service,omitempty"`
}

// NotifyDir is the notification sockets' directory: its path, whether
// the daemon made it (and removes it at exit), and the last sequence
// number a socket's name took.
type NotifyDir struct {
	Path    string `json:"path"`
	Private bool   `json:"private,omitempty"`
	Seq     uint64 `json:"seq"`
}

// Group is an active process group.
type Group struct {
	Name string `json:"name"`
	// Config is the configuration the group was built from.
	Config int `json:"config"`
	// Socket is an fcgi group's listening socket while a child holds it.
	Socket *int `json:"socket_fd,omitempty"`
	// Processes are the group's processes in its order.
	Processes []Process `json:"processes"`
}

// Process is one process record.
type Process struct {
	Name  string `json:"name"`
	State string `json:"state"` // RUNNING, BACKOFF, ...
	PID   int    `json:"pid,omitempty"`
	// Serial counts spawns.
	Serial     uint64    `json:"serial"`
	Started    time.Time `json:"started"`
	Stopped    time.Time `json:"stopped"`
	LastReport time.Time `json:"last_report"`
	Backoff    int       `json:"backoff,omitempty"`
	Killing    bool      `json:"killing,omitempty"`
	SpawnErr   string    `json:"spawnerr,omitempty"`
	ExitStatus int       `json:"exitstatus"`
	// Deadlines are the armed deadlines by name ("running", "retry",
	// "kill", and those of features), as nanoseconds remaining at
	// FrozenMono (negative: overdue).
	Deadlines map[string]int64 `json:"deadlines,omitempty"`
	// Logs are the channels' log files ("" = none) and their sizes.
	Logs []Log `json:"logs"`
	// Stdin is the running instance's stdin pipe; Outputs its stdout and
	// stderr pipes (read ends).
	Stdin   *Stdin   `json:"stdin,omitempty"`
	Outputs []Output `json:"outputs,omitempty"`
	// Listener is an event listener instance's protocol state.
	Listener *Listener `json:"listener,omitempty"`
	// Readiness is the sd_notify and health check state (feature
	// readiness); nil for a program without those keys.
	Readiness *Readiness `json:"readiness,omitempty"`
}

// Readiness is a process's sd_notify, watchdog and health check state.
// Times are nanoseconds before the document's FrozenMono (0: never).
type Readiness struct {
	// Forced is why the engine itself ends (or ended) the instance
	// ("watchdog", "health", "ready-timeout"; "" when it does not).
	Forced string `json:"forced,omitempty"`
	// Socket is the running instance's notification socket.
	Socket *NotifySocket `json:"socket,omitempty"`
	// Child is the pid the engine spawned when MAINPID= moved PID away
	// from it and the child is not reaped yet (0: none); WatchMain says
	// the engine watches PID for its exit (the child was reaped).
	Child     int  `json:"child,omitempty"`
	WatchMain bool `json:"watch_main,omitempty"`
	// What the notifications said: READY=1 (not withdrawn), STATUS=,
	// ERRNO=, the watchdog limit (WATCHDOG_USEC), the last keep-alive,
	// and whether a refused sender was logged.
	Ready      bool   `json:"ready,omitempty"`
	Status     string `json:"status,omitempty"`
	Errno      int    `json:"errno,omitempty"`
	WatchdogNS int64  `json:"watchdog_ns,omitempty"`
	PingedAgo  int64  `json:"pinged_ago_ns,omitempty"`
	Refused    bool   `json:"refused,omitempty"`
	// Health is the health check's state, nil without a check.
	Health *Health `json:"health,omitempty"`
}

// NotifySocket is a notification socket: its descriptor and the address
// the program has in NOTIFY_SOCKET (a path, or @abstract).
type NotifySocket struct {
	FD   int    `json:"fd"`
	Addr string `json:"addr"`
}

// Health is a health check's state. A check in flight is not handed
// over: the successor runs it again (the deadline "check" is then 0).
type Health struct {
	State    string `json:"state"` // none, starting, healthy, unhealthy
	Failures int    `json:"failures,omitempty"`
	// LastCheckAgo is when the last check ended (0: none yet);
	// StartPeriodLeft the start period's remaining time (0: over).
	LastCheckAgo    int64  `json:"last_check_ago_ns,omitempty"`
	LastOK          bool   `json:"last_ok,omitempty"`
	LastReason      string `json:"last_reason,omitempty"`
	LastOutput      string `json:"last_output,omitempty"`
	StartPeriodLeft int64  `json:"start_period_left_ns,omitempty"`
	// Detail is what the description says of an unhealthy verdict.
	Detail string `json:"detail,omitempty"`
	// Reap are exec checks killed but not reaped yet (the one in flight
	// at the freeze, or one that timed out): the successor reaps them.
	Reap []int `json:"reap,omitempty"`
}

// Log is one channel's log file; Size is where the next write goes.
type Log struct {
	Channel string `json:"channel"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
}

// Stdin is a child's stdin pipe (write end) with what was queued for it
// and not yet written.
type Stdin struct {
	FD      int    `json:"fd"`
	Pending []byte `json:"pending,omitempty"`
}

// Output is a child's output pipe (read end).
type Output struct {
	Channel string   `json:"channel"`
	FD      int      `json:"fd"`
	Capture *Capture `json:"capture,omitempty"`
}

// Capture is a capture-mode channel's splitter state.
type Capture struct {
	Capturing bool   `json:"capturing,omitempty"`
	Pending   []byte `json:"pending,omitempty"`
	Captured  []byte `json:"captured,omitempty"`
}

// Listener is an event listener instance's protocol state and the event
// it is working on.
type Listener struct {
	State     int    `json:"state"` // READY=10, BUSY=20, ACKNOWLEDGED=30, UNKNOWN=40
	Buf       []byte `json:"buf,omitempty"`
	Result    []byte `json:"result,omitempty"`
	ResultLen int    `json:"result_len"`
	Got       int    `json:"got,omitempty"`
	Held      *Event `json:"held,omitempty"`
	StdinFull bool   `json:"stdin_full,omitempty"`
	Closed    bool   `json:"closed,omitempty"`
}

// Events is the event machinery's state.
type Events struct {
	// Serial is the next global event serial.
	Serial int64 `json:"serial"`
	// Ticks are the last TICK slice seen, by period in seconds.
	Ticks map[string]int64 `json:"ticks,omitempty"`
	Pools []Pool           `json:"pools,omitempty"`
}

// Pool is an event listener pool's buffer.
type Pool struct {
	Group string `json:"group"`
	// Next is the pool serial of the next event.
	Next   int64   `json:"next"`
	Buffer []Event `json:"buffer,omitempty"`
}

// Event is an event with its serials.
type Event struct {
	Type       string `json:"type"`
	Payload    string `json:"payload"`
	Serial     int64  `json:"serial"`
	PoolSerial int64  `json:"pool_serial"`
}

// Server is a listening socket of an HTTP server.
type Server struct {
	Kind    string `json:"kind"` // "unix" or "inet"
	Section string `json:"section"`
	FD      int    `json:"fd"`
	// Path and Inode are a unix socket's name and the inode it must
	// still have for the daemon to remove it at exit.
	Path  string `json:"path,omitempty"`
	Inode uint64 `json:"inode,omitempty"`
}

// Conn is an idle client connection of Servers[Server], with the bytes
// of its next request already read (a head not yet complete).
type Conn struct {
	Server   int    `json:"server"`
	FD       int    `json:"fd"`
	Buffered []byte `json:"buffered,omitempty"`
}

// New is an empty document of this binary's version.
func New(from Build) *Document {
	return &Document{Format: Format, Version: Version, From: from}
}

// Need records that the document carries state of feature, which must
// be a row of Features.
func (d *Document) Need(feature string) {
	v, ok := Features[feature]
	if !ok {
		panic("handover: unknown feature " + feature)
	}
	if d.Features == nil {
		d.Features = map[string]int{}
	}
	d.Features[feature] = v
}

// NeedFeatures names in the document every feature whose state it
// carries (see Need).
func (d *Document) NeedFeatures() {
	if d.Daemon.Service != nil || d.Engine.Service != nil {
		d.Need(FeatureService)
	}
	if d.Engine.NotifyDir != nil {
		d.Need(FeatureReadiness)
	}
	for _, g := range d.Engine.Groups {
		for _, p := range g.Processes {
			if p.Readiness != nil {
				d.Need(FeatureReadiness)
			}
		}
	}
}

// Reader says which documents a binary reads: versions MinVersion to
// Version and the features in Features (at most their version).
type Reader struct {
	MinVersion, Version int
	Features            map[string]int
}

// ThisBinary is what this binary reads.
func ThisBinary() Reader {
	return Reader{MinVersion: MinVersion, Version: Version, Features: maps.Clone(Features)}
}

// header is what Check reads before anything else.
type header struct {
	Format   string         `json:"format"`
	Version  int            `json:"version"`
	Features map[string]int `json:"features"`
}

// ErrRefused wraps every reason a reader refuses a document.
var ErrRefused = errors.New("state refused")

// Check reports whether r can resume from the document in data: nil, or
// an error (matching ErrRefused for version and feature refusals) that
// names what it cannot read.
func (r Reader) Check(data []byte) error {
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("state document: %w", err)
	}
	if h.Format != Format {
		return fmt.Errorf("%w: not a %s document (format %q)", ErrRefused, Format, h.Format)
	}
	if h.Version < r.MinVersion || h.Version > r.Version {
		return fmt.Errorf("%w: state version %d is not supported (this binary reads versions %d to %d)", ErrRefused, h.Version, r.MinVersion, r.Version)
	}
	for _, name := range slices.Sorted(maps.Keys(h.Features)) {
		v := h.Features[name]
		known, ok := r.Features[name]
		switch {
		case !ok:
			return fmt.Errorf("%w: state of feature %q (version %d) is not supported by this binary", ErrRefused, name, v)
		case v > known:
			return fmt.Errorf("%w: state of feature %q version %d is not supported (this binary reads up to version %d)", ErrRefused, name, v, known)
		}
	}
	return nil
}

// Decode checks data with r and decodes it strictly.
func (r Reader) Decode(data []byte) (*Document, error) {
	if err := r.Check(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("state document: %w", err)
	}
	return &d, nil
}

// Encode is the document's JSON.
func (d *Document) Encode() ([]byte, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("state document: %w", err)
	}
	return data, nil
}

// FDs lists every descriptor the document names.
func (d *Document) FDs() []int {
	var fds []int
	for _, g := range d.Engine.Groups {
		if g.Socket != nil {
			fds = append(fds, *g.Socket)
		}
		for _, p := range g.Processes {
			if p.Stdin != nil {
				fds = append(fds, p.Stdin.FD)
			}
			for _, o := range p.Outputs {
				fds = append(fds, o.FD)
			}
			if p.Readiness != nil && p.Readiness.Socket != nil {
				fds = append(fds, p.Readiness.Socket.FD)
			}
		}
	}
	for _, s := range d.Servers {
		fds = append(fds, s.FD)
	}
	for _, c := range d.Conns {
		fds = append(fds, c.FD)
	}
	return fds
}
