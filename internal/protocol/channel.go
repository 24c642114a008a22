package protocol

// Channel is one of a process's output streams. Config keys
// (stdout_logfile, stderr_logfile), log tail URLs (/logtail/x/stderr),
// event payloads (channel:stdout) and the log methods name them.
type Channel int

// The output channels; the zero value is stdout, the default everywhere
// a channel is optional.
const (
	Stdout Channel = iota
	Stderr
)

// Channels lists both channels, stdout first.
var Channels = [...]Channel{Stdout, Stderr}

// String is the channel's name: "stdout" or "stderr".
func (c Channel) String() string {
	if c == Stderr {
		return "stderr"
	}
	return "stdout"
}

// ParseChannel maps "stdout" or "stderr" to its Channel.
func ParseChannel(s string) (Channel, bool) {
	switch s {
	case "stdout":
		return Stdout, true
	case "stderr":
		return Stderr, true
	}
	return Stdout, false
}
