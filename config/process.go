package config

import "gosupervisor/internal/protocol"

// Log is the logging settings of one of the process's output channels.
func (p *Process) Log(ch protocol.Channel) LogConfig {
	if ch == protocol.Stderr {
		return p.Stderr
	}
	return p.Stdout
}

// ProcessEnvironment is the environment c configures for p: c's
// [supervisord] environment= overlaid with p's own, each key once, in the
// order keys first appear, with the value set last. c may be nil (p's
// own only).
func (c *Config) ProcessEnvironment(p *Process) []EnvVar {
	var out []EnvVar
	index := map[string]int{}
	set := func(kv EnvVar) {
		if i, ok := index[kv.Key]; ok {
			out[i].Value = kv.Value
			return
		}
		index[kv.Key] = len(out)
		out = append(out, kv)
	}
	if c != nil {
		for _, kv := range c.Supervisord.Environment {
			set(kv)
		}
	}
	for _, kv := range p.Environment {
		set(kv)
	}
	return out
}
