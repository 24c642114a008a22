package supervisord

import (
	"runtime/debug"
	"strconv"
	"strings"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/handover"
)

// Build is what a binary knows of itself beyond what Go records: values
// set at link time in package main (cmd/supervisord).
type Build struct {
	// Label names the build in the upgrade's log lines (a release name);
	// "" = none.
	Label string
	// StateVersions, when set ("1" or "1-2"), narrows the state
	// document versions this build reads: a build that stands for an
	// older release, in tests of a refused upgrade. "" = every version
	// this source reads.
	StateVersions string
	// ResumeFault, when set ("group:name"), makes this build unable to
	// read that process's record when it resumes from an upgrade (it
	// passes the check): a build that stands for one with a bug, in
	// tests of a resume that cannot take everything over. "" = none.
	ResumeFault string
}

// identity is the build as the upgrade names it.
func (b Build) identity() handover.Build {
	id := handover.Build{Version: protocol.Version, Label: b.Label}
	if info, ok := debug.ReadBuildInfo(); ok {
		id.Go = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				id.Commit = s.Value
			case "vcs.modified":
				id.Modified = s.Value == "true"
			}
		}
	}
	return id
}

// spoil applies ResumeFault to a document about to be resumed from: the
// process it names gets a state no binary knows.
func (b Build) spoil(doc *handover.Document) {
	group, name, ok := strings.Cut(b.ResumeFault, ":")
	if !ok {
		return
	}
	for i := range doc.Engine.Groups {
		g := &doc.Engine.Groups[i]
		for j := range g.Processes {
			if g.Name == group && g.Processes[j].Name == name {
				g.Processes[j].State = "SPOILED_BY_TEST_BUILD"
			}
		}
	}
}

// reader is what this build reads of the state document.
func (b Build) reader() handover.Reader {
	r := handover.ThisBinary()
	if b.StateVersions == "" {
		return r
	}
	lo, hi, _ := strings.Cut(b.StateVersions, "-")
	if hi == "" {
		hi = lo
	}
	if n, err := strconv.Atoi(lo); err == nil {
		r.MinVersion = n
	}
	if n, err := strconv.Atoi(hi); err == nil {
		r.Version = n
	}
	return r
}
