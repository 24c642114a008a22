package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where a bench ran: the report's figures mean little
// without it, and other programs competing for the cores (the load
// average) change them most.
type Machine struct {
	Start    time.Time `json:"start"`
	CPUs     int       `json:"cpus"`
	CPUModel string    `json:"cpu_model,omitempty"`
	MemBytes int64     `json:"mem_bytes,omitempty"`
	Kernel   string    `json:"kernel,omitempty"`
	Go       string    `json:"go"` // the toolchain that built the bench (and, with make, ours)
	// Load averages (1, 5, 15 minutes) when the bench started and ended.
	LoadStart []float64 `json:"load_start,omitempty"`
	LoadEnd   []float64 `json:"load_end,omitempty"`
}

// ReadMachine describes this machine, with start as the bench's start.
// What cannot be read stays empty.
func ReadMachine(start time.Time) Machine {
	m := Machine{Start: start, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = memTotal(string(b))
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	m.LoadStart, _ = ReadLoad()
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo's text.
func cpuModel(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotal is MemTotal of /proc/meminfo's text, in bytes (0 if absent).
func memTotal(meminfo string) int64 {
	for line := range strings.Lines(meminfo) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kib, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kib << 10
			}
		}
	}
	return 0
}

// ReadLoad returns the 1, 5 and 15 minute load averages.
func ReadLoad() ([]float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil, fmt.Errorf("load average: %w", err)
	}
	return parseLoad(string(b))
}

// parseLoad reads the first three fields of /proc/loadavg's text.
func parseLoad(s string) ([]float64, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return nil, fmt.Errorf("load average: %q has no three fields", s)
	}
	load := make([]float64, 3)
	for i := range load {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, fmt.Errorf("load average: %w", err)
		}
		load[i] = v
	}
	return load, nil
}

// Describe is the machine in one sentence for the report's header.
func (m Machine) Describe() string {
	var parts []string
	cpus := fmt.Sprintf("%d cores", m.CPUs)
	if m.CPUModel != "" {
		cpus += " (" + m.CPUModel + ")"
	}
	parts = append(parts, cpus)
	if m.MemBytes > 0 {
		parts = append(parts, fmt.Sprintf("%.1f GiB RAM", float64(m.MemBytes)/(1<<30)))
	}
	if m.Kernel != "" {
		parts = append(parts, m.Kernel)
	}
	parts = append(parts, m.Go)
	return strings.Join(parts, ", ")
}

// formatLoad prints load averages as "1.20 / 0.80 / 0.50".
func formatLoad(load []float64) string {
	s := make([]string, len(load))
	for i, v := range load {
		s[i] = strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strings.Join(s, " / ")
}
