// Package config turns a supervisord.conf into typed, validated structs,
// exactly as Supervisor 4.2.5 reads it. It has no side effects beyond
// reading files (the config, its includes, and the user database).
//
// Fidelity is checked by differential tests that run the reference's own
// Python code on the same inputs (testdata/config, generated configs, INI
// texts, value parsers, Diff pairs). Deliberate differences:
//   - A conversion without a %(name) (e.g. a bare "%s") makes the reference
//     print the repr of its whole expansions mapping into the value; Load
//     refuses such a value instead (same error text wherever the reference
//     errors too).
//   - childlogdir is made absolute (the reference keeps it as written).
//   - An empty *_logfile= is NONE here; the reference keeps the empty path,
//     which also means no log file but compares unequal to NONE in Diff.
//   - Integers beyond 64 bits are refused ("integer … is too large");
//     Python's int() has no limit below 4300 digits.
//   - numprocs is bounded (65536); config files must be regular files of at
//     most 16 MiB (the reference would read a device or FIFO forever).
//   - [rpcinterface:x] factories and result_handler= are not imported, so
//     an unresolvable Python entry point is accepted (the daemon decides).
//   - On reload the reference keeps ENV_ names that an earlier
//     [supervisord] environment= added; Load starts afresh every time.
package config

import (
	"syscall"

	"gosupervisor/internal/envfile"
	"gosupervisor/internal/protocol"
)

// Config is one fully parsed and validated configuration file (with its
// includes). All %(…)s expansions are done; all defaults applied.
type Config struct {
	// Path is the absolute path of the main configuration file.
	Path string
	// Here is the directory of Path (the value of %(here)s in the main file).
	Here string

	Supervisord     Supervisord
	UnixHTTPServers []UnixHTTPServer // every [unix_http_server*] section, in file order
	InetHTTPServers []InetHTTPServer // every [inet_http_server*] section, in file order
	// Supervisorctl is nil when the file has no [supervisorctl] section.
	Supervisorctl *Supervisorctl
	// Groups holds every process group (program, [group:x], fcgi-program,
	// eventlistener), sorted by (Priority, Name) as the reference sorts them.
	// Two groups may share a name, e.g. a [program:web] beside a
	// [group:web] without programs=: the daemon activates only the first
	// (an empty group there, so web never runs), as the reference does.
	Groups        []*Group
	RPCInterfaces []RPCInterface
	// ServerURL is what serverurl=AUTO means for children: "unix://<file>"
	// of the first unix server, else "http://host:port" of the first inet
	// server (empty host = localhost), else "" (no SUPERVISOR_SERVER_URL).
	ServerURL string
	// Messages are the lines the reference logs about parsing (included
	// files, unmatched include globs, deprecated keys) once the main log is
	// open, in the order they were produced (Layout.Warnings are ours).
	Messages []Message
	// Sources are what this configuration was parsed from (see Replay).
	Sources *Sources
	// Layout says where each section and key is written and which keys
	// the daemon reads.
	Layout *Layout
}

// Message is a log line produced while parsing, to be written to the main
// log once it exists.
type Message struct {
	Level protocol.Level
	Text  string
}

// Supervisord is the [supervisord] section.
type Supervisord struct {
	// Logfile is the absolute path of the main log; "" when LogfileSyslog.
	Logfile         string
	LogfileSyslog   bool
	LogfileMaxBytes int64
	LogfileBackups  int
	LogLevel        protocol.Level
	Pidfile         string // absolute path
	Umask           uint32 // default 0o022; applied only when daemonizing
	Nodaemon        bool
	Silent          bool
	MinFDs          int
	MinProcs        int
	NoCleanup       bool
	ChildLogDir     string // absolute directory
	User            string // as written ("" = none)
	UID, GID        int    // resolved from User; -1 when User is ""
	Directory       string // "" = none; "~" expanded, not made absolute
	StripANSI       bool
	Environment     []EnvVar // in file order
	Identifier      string
	// EnvironmentFiles is environment_file (an extension key): files
	// every program's environment is read from before each spawn.
	EnvironmentFiles []envfile.Entry
	// ExitWhenAllEnded is exit_when_all_ended (an extension key).
	ExitWhenAllEnded bool
	// Subreaper is subreaper (an extension key): PR_SET_CHILD_SUBREAPER.
	Subreaper bool
	// Orphans is orphans (an extension key).
	Orphans Orphans
	// NotifyDir is notify_dir (an extension key): where programs'
	// notification sockets live, absolute; "" = a private directory
	// under the temporary directory.
	NotifyDir string
	// Cgroups is cgroups (an extension key): whether programs with
	// cgroup_* keys get cgroups (auto, the default) or not (off).
	Cgroups CgroupsMode
	// Metrics is metrics (an extension key): serve Prometheus /metrics
	// on the HTTP servers, behind their authentication. Default false.
	Metrics bool
	// MetricsCompat is metrics_compat: extra metric names for existing
	// dashboards.
	MetricsCompat MetricsCompat
	// LogfileFormat is logfile_format: the main log as Supervisor's
	// lines (text, the default) or one JSON object per line (json).
	LogfileFormat LogFormat
}

// EnvVar is one KEY=VALUE pair of an environment= setting.
type EnvVar struct {
	Key, Value string
}

// UnixHTTPServer is a [unix_http_server] (or [unix_http_server:x]) section.
type UnixHTTPServer struct {
	Section  string // section name, e.g. "unix_http_server"
	File     string // absolute socket path
	Chmod    uint32 // default 0o700
	ChownUID int    // -1 = unchanged
	ChownGID int    // -1 = unchanged
	Username string // "" = no auth
	Password string // cleartext or "{SHA}<hex>"
}

// InetHTTPServer is an [inet_http_server] (or [inet_http_server:x]) section.
type InetHTTPServer struct {
	Section  string
	Host     string // lower-cased; "" = all interfaces
	Port     int
	Username string
	Password string
}

// Supervisorctl is the [supervisorctl] section.
type Supervisorctl struct {
	ServerURL   string // default "http://localhost:9001"
	Username    string
	Password    string
	Prompt      string // default "supervisor"
	HistoryFile string // "" = none
}

// GroupKind says which kind of section made a group.
type GroupKind int

// The kinds of process group.
const (
	KindProgram       GroupKind = iota // [program:x], one homogeneous group
	KindGroup                          // [group:x], heterogeneous
	KindFCGI                           // [fcgi-program:x]
	KindEventListener                  // [eventlistener:x] pool
)

// Group is a process group as Supervisor builds it.
type Group struct {
	Name     string
	Kind     GroupKind
	Priority int
	// Processes are sorted by (Priority, Name) within each program
	// section; a [group:x] lists its programs= in the order written (the
	// order the reference autostarts them in).
	Processes []*Process

	// Socket is set for KindFCGI only.
	Socket *FCGISocket

	// Event listener pool settings (KindEventListener only).
	Events        []string // upper-cased event type names as written
	BufferSize    int
	ResultHandler string
}

// FCGISocket is the socket an [fcgi-program:x] group shares.
type FCGISocket struct {
	URL     string // as written after expansion: tcp://host:port or unix:///path
	Network string // "tcp" or "unix"
	Address string // host:port or absolute path
	Backlog int    // default syscall.SOMAXCONN
	// BacklogSet reports that socket_backlog was given (else Backlog is
	// the default).
	BacklogSet bool
	OwnerUID   int // -1 = unchanged (unix only)
	OwnerGID   int
	Mode       uint32 // default 0o700 (unix only)
}

// Autorestart is the autorestart policy.
type Autorestart int

// The autorestart policies.
const (
	AutorestartFalse Autorestart = iota
	AutorestartUnexpected
	AutorestartTrue
)

// Process is the resolved config of one process (one per numprocs).
type Process struct {
	Name        string // process name after process_name expansion
	Group       string // owning group's name
	ProgramName string // the x of the [program:x] section
	ProcessNum  int
	NumProcs    int

	Command string   // the expanded command line
	Argv    []string // Command split as Python's shlex (POSIX mode)
	// ArgvErr is the shlex error when Command cannot be split (e.g. "No
	// closing quotation"); the reference reports it only at spawn time as
	// "can't parse command 'X': <ArgvErr>".
	ArgvErr   string
	Directory string // "" = inherit
	// DirectorySet reports that directory= was given, even empty (the
	// reference's getAllConfigInfo shows '' then, and 'none' without it).
	DirectorySet bool
	Umask        int // -1 = inherit

	Priority     int
	Autostart    bool
	Autorestart  Autorestart
	StartSecs    int
	StartRetries int
	ExitCodes    []int
	StopSignal   syscall.Signal
	StopWaitSecs int
	StopAsGroup  bool
	KillAsGroup  bool

	User     string // as written ("" = none)
	UID, GID int    // resolved; -1 when User is ""

	RedirectStderr bool
	Stdout         LogConfig
	Stderr         LogConfig

	// Environment is the program's own environment= (not merged with
	// [supervisord] environment), in file order.
	Environment []EnvVar
	// ServerURL is the value for SUPERVISOR_SERVER_URL: "AUTO" (use
	// Config.ServerURL), a URL, or "" (set none, as serverurl= does).
	ServerURL string

	// DependsOn is depends_on as written; Requires is what Load resolved
	// it to (every process it names, with its condition), in order.
	DependsOn []Dependency
	Requires  []Requirement
	// DependsOnTimeoutSecs is depends_on_timeout_secs (0 = wait forever).
	DependsOnTimeoutSecs int
	// EnvironmentFiles is environment_file: read before each spawn.
	EnvironmentFiles []envfile.Entry
	// ExitOnFatal and ExitOnEnd make the daemon shut down and exit when
	// the process goes FATAL or ends for good.
	ExitOnFatal bool
	ExitOnEnd   ExitOnEnd
	// BackoffMaxSecs is backoff_max_secs: with it, the delay before retry
	// n is 2^(n-1) seconds up to this cap; 0 keeps the reference's n
	// seconds.
	BackoffMaxSecs int

	// Notify is the sd_notify settings (notify, notify_access,
	// ready_timeout_secs, watchdog_secs, watchdog_signal).
	Notify Notify
	// Health is the health check (healthcheck_*).
	Health HealthCheck
	// Resources are the rlimit_*, rss_* and cgroup_* keys.
	Resources Resources

	// Extensions are the extension keys (ones Supervisor 4.2.5 ignores)
	// the section sets, by name, with their expanded values; nil for a
	// stock program, so what stock clients see can stay unchanged unless a
	// program opts in. Keys with typed fields are listed here too.
	Extensions map[string]string
}

// LogConfig is one output channel's logging settings.
type LogConfig struct {
	// File is the log path (expanded, "~" resolved, otherwise as written:
	// a relative path stays relative to the daemon's working directory).
	// When Auto is true it is "" in the parsed config; the daemon names the
	// file in childlogdir. "" with Auto false = NONE (or syslog only).
	File            string
	Auto            bool
	MaxBytes        int64
	Backups         int
	CaptureMaxBytes int64
	EventsEnabled   bool
	Syslog          bool
}

// RPCInterface is an [rpcinterface:x] section.
type RPCInterface struct {
	Name    string // x
	Factory string // supervisor.rpcinterface_factory
	// Extras are the section's other keys (factory keyword arguments).
	Extras map[string]string
}
