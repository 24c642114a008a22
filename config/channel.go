package config

import "gosupervisor/internal/protocol"

// Log is the logging settings of one of the process's output channels.
func (p *Process) Log(ch protocol.Channel) LogConfig {
	if ch == protocol.Stderr {
		return p.Stderr
	}
	return p.Stdout
}
