package ctl

import (
	"fmt"
	"strings"
)

// usage is one line of a command's help: what to type and what it does.
// The syntax strings are the reference's (users and scripts know commands
// by them); the explanations are written for this project.
type usage struct {
	syntax string
	what   string
}

// topic is the help of one command: its forms, then optional remarks.
type topic struct {
	usages  []usage
	remarks []string
}

// helpTopics holds the help of every listed command, keyed by its name.
// Each form of a command is its own usage row, so that the syntax lines
// can be checked against the reference's one by one.
var helpTopics = map[string]topic{
	"add": {usages: []usage{
		{"add <name> [...]", "Activate the named groups from the configuration the daemon read last (at start-up or by reread); their autostart programs start."},
	}},
	"avail": {usages: []usage{
		{"avail", "List every configured process: in use or only available, autostarted or manual, and its group and process priorities."},
	}},
	"clear": {usages: []usage{
		{"clear <name>", "Empty the stdout and stderr logs of one process."},
		{"clear <name> <name>", "Empty the logs of each process named."},
		{"clear all", "Empty the logs of every process."},
	}},
	"exit": {usages: []usage{
		{"exit", "Leave the interactive shell."},
	}},
	"fg": {usages: []usage{
		{"fg <process>", "Attach to a running process: its output appears as it is written and each line typed goes to its stdin. Ctrl-C detaches and leaves the process running."},
	}},
	"maintail": {usages: []usage{
		{"maintail -f", "Follow supervisord's own log as it grows, until Ctrl-C."},
		{"maintail -100", "Print the last 100 bytes of supervisord's own log (any count works)."},
		{"maintail", "Print the last 1600 bytes of supervisord's own log."},
	}},
	"open": {usages: []usage{
		{"open <url>", "Talk to another supervisord from now on: http://host:port for a TCP server, unix:///path/to/socket for a socket file."},
	}},
	"pid": {usages: []usage{
		{"pid", "Print the process id of supervisord itself."},
		{"pid <name>", "Print the process id of one process (0 while it is not running)."},
		{"pid all", "Print the process id of every process, one per line."},
	}},
	"quit": {usages: []usage{
		{"quit", "Leave the interactive shell."},
	}},
	"reload": {usages: []usage{
		{"reload", "Make supervisord restart in place: every process stops, the configuration is read again and the autostart programs start anew."},
	}},
	"remove": {usages: []usage{
		{"remove <name> [...]", "Deactivate the named groups; their processes must be stopped first. The configuration files are not touched."},
	}},
	"reread": {usages: []usage{
		{"reread", "Read the configuration files again and report which groups are new (available), changed or gone (disappeared). Nothing is started or stopped: update or add/remove apply the changes."},
	}},
	"restart": {
		usages: []usage{
			{"restart <name>", "Stop one process, then start it."},
			{"restart <gname>:*", "Stop every process of a group, then start them."},
			{"restart <name> <name>", "Stop and start each process or group named."},
			{"restart all", "Stop every process, then start them all."},
		},
		remarks: []string{"The processes come back with the settings the daemon already holds; to apply edits to the configuration files, use update."},
	},
	"shutdown": {usages: []usage{
		{"shutdown", "Stop every process and then supervisord itself."},
	}},
	"signal": {usages: []usage{
		{"signal <signal name> <name>", "Send a signal (a name such as HUP or USR1, or its number) to one process."},
		{"signal <signal name> <gname>:*", "Send it to every running process of a group."},
		{"signal <signal name> <name> <name>", "Send it to each process or group named."},
		{"signal <signal name> all", "Send it to every running process."},
	}},
	"start": {usages: []usage{
		{"start <name>", "Start one process."},
		{"start <gname>:*", "Start every process of a group."},
		{"start <name> <name>", "Start each process or group named."},
		{"start all", "Start every process that is not running, in priority order."},
	}},
	"status": {
		usages: []usage{
			{"status <name>", "Show the state of one process."},
			{"status <gname>:*", "Show the state of every process of a group."},
			{"status <name> <name>", "Show the state of each process named."},
			{"status", "Show the state of every process."},
		},
		remarks: []string{"Exit status: 3 if a process shown is STOPPED, EXITED, FATAL or UNKNOWN; otherwise 4 if a name matched nothing or supervisord did not answer; else 0."},
	},
	"stop": {usages: []usage{
		{"stop <name>", "Stop one process."},
		{"stop <gname>:*", "Stop every process of a group."},
		{"stop <name> <name>", "Stop each process or group named."},
		{"stop all", "Stop every running process, in reverse priority order."},
	}},
	"tail": {usages: []usage{
		{"tail [-f] <name> [stdout|stderr] (default stdout)", "Print the end of a process's log."},
		{"tail -f <name>", "Follow the stdout log as it grows, until Ctrl-C."},
		{"tail -100 <name>", "Print the last 100 bytes of the stdout log (any count works)."},
		{"tail <name> stderr", "Print the last 1600 bytes of the stderr log."},
	}},
	"update": {usages: []usage{
		{"update", "Read the configuration files again and apply them: add new groups, remove vanished ones, and stop and re-add the groups whose settings changed."},
		{"update all", "The same as update."},
		{"update <gname> [...]", "Apply the changes of the named groups only."},
	}},
	"version": {usages: []usage{
		{"version", "Print the Supervisor version supervisord reports."},
	}},
}

// helpOnHelp is the help of "help" itself (not listed as a topic, like
// the reference's).
var helpOnHelp = topic{usages: []usage{
	{"help", "List the commands."},
	{"help <action>", "Explain one command."},
}}

// Layout of a rendered topic: explanations start in one column (the
// widest syntax of the topic plus a gap, at most helpColumnMax) and wrap
// at helpWidth; a syntax wider than the column puts its explanation on
// the next line.
const (
	helpGap       = 2
	helpColumnMax = 40
	helpWidth     = 79
)

// render formats t for the terminal, one usage per line (wrapped), then
// its remarks.
func (t topic) render() string {
	col := 0
	for _, u := range t.usages {
		if w := len(u.syntax) + helpGap; w <= helpColumnMax {
			col = max(col, w)
		}
	}
	if col == 0 {
		col = helpColumnMax
	}
	var b strings.Builder
	for _, u := range t.usages {
		b.WriteString(u.syntax)
		lines := wrapWords(u.what, helpWidth-col)
		if len(u.syntax)+helpGap > col {
			b.WriteString("\n")
		} else {
			lines[0] = strings.Repeat(" ", col-len(u.syntax)) + lines[0]
			b.WriteString(lines[0] + "\n")
			lines = lines[1:]
		}
		for _, l := range lines {
			b.WriteString(strings.Repeat(" ", col) + l + "\n")
		}
	}
	for _, r := range t.remarks {
		for _, l := range wrapWords(r, helpWidth) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// syntaxes returns the topic's syntax lines in order.
func (t topic) syntaxes() []string {
	out := make([]string, len(t.usages))
	for i, u := range t.usages {
		out[i] = u.syntax
	}
	return out
}

// wrapWords breaks text into lines of at most width bytes at spaces (a
// longer word gets a line of its own). It returns at least one line.
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

const helpHeader = "default commands (type help <topic>):"

// topicList renders the "help" listing: a blank line, the header, its
// ruler, the commands in columns (79 wide, like Python's cmd module) and a
// blank line. Tools that scrape the command list read this block, so its
// shape is the reference's.
func topicList(names []string) string {
	var b strings.Builder
	b.WriteString("\n")
	b.WriteString(helpHeader + "\n")
	b.WriteString(strings.Repeat("=", len(helpHeader)) + "\n")
	b.WriteString(columnize(names, 79))
	b.WriteString("\n")
	return b.String()
}

// columnize lays words out in as few rows as fit displayWidth, column by
// column, two spaces apart, each column as wide as its longest word.
func columnize(words []string, displayWidth int) string {
	if len(words) == 0 {
		return "<empty>\n"
	}
	if len(words) == 1 {
		return words[0] + "\n"
	}
	size := len(words)
	nrows, widths := size, []int{0}
	for rows := 1; rows < size; rows++ {
		ncols := (size + rows - 1) / rows
		colWidths := make([]int, 0, ncols)
		total := -2
		for col := 0; col < ncols; col++ {
			w := 0
			for row := 0; row < rows; row++ {
				i := row + rows*col
				if i >= size {
					break
				}
				w = max(w, len(words[i]))
			}
			colWidths = append(colWidths, w)
			total += w + 2
			if total > displayWidth {
				break
			}
		}
		if total <= displayWidth {
			nrows, widths = rows, colWidths
			break
		}
	}
	var b strings.Builder
	for row := 0; row < nrows; row++ {
		var texts []string
		for col := range widths {
			i := row + nrows*col
			if i < size {
				texts = append(texts, words[i])
			} else {
				texts = append(texts, "")
			}
		}
		for len(texts) > 0 && texts[len(texts)-1] == "" {
			texts = texts[:len(texts)-1]
		}
		for i := range texts {
			texts[i] = ljust(texts[i], widths[i])
		}
		b.WriteString(strings.Join(texts, "  ") + "\n")
	}
	return b.String()
}

// help prints the help of command name.
func (c *controller) help(name string) {
	t, ok := helpTopics[name]
	if !ok {
		t = extensionTopics[name]
	}
	fmt.Fprint(c.out, t.render())
}

// extensionTopics is the help of gosupervisor's own commands. "help"
// does not list them, so its output stays the reference's; "help top"
// shows them.
var extensionTopics = map[string]topic{
	"top": {
		usages: []usage{
			{"top", "Show each process's CPU and memory (its whole process tree), refreshed every 2 seconds until Ctrl-C."},
			{"top <name> [...]", "Show only the processes named (name, group:name or group:*)."},
			{"top -n <count>", "Show the table count times, then stop (-n 1: once, without clearing the screen)."},
			{"top -d <seconds>", "Refresh every so many seconds."},
		},
		remarks: []string{"CPU% is over the interval since the daemon's previous sample; RSS sums the tree's processes; CGROUP is the memory charged to the program's cgroup (cgroup_* keys). A gosupervisor command: the reference's supervisord does not serve it."},
	},
	"upgrade": {usages: []usage{
		{"upgrade", "Replace supervisord by the binary now at its own path, in the same process: no program stops, the pid and the sockets stay (gosupervisor only)."},
		{"upgrade <path>", "Replace supervisord by the binary at path."},
	}},
}

// refuseArgs reports (and prints, with the command's help) that cmd,
// which takes no arguments, was given some.
func (c *controller) refuseArgs(cmd, arg string) bool {
	if arg == "" {
		return false
	}
	c.output("Error: " + cmd + " accepts no arguments")
	c.exitStatus = exitGeneric
	c.help(cmd)
	return true
}

// doHelp is "help": the command list, or one command's help.
func (c *controller) doHelp(arg string) error {
	switch {
	case arg == "help":
		fmt.Fprint(c.out, helpOnHelp.render())
	case arg == "":
		fmt.Fprint(c.out, topicList(listedCommands()))
	default:
		if t, ok := helpTopics[arg]; ok {
			fmt.Fprint(c.out, t.render())
		} else if t, ok := extensionTopics[arg]; ok {
			fmt.Fprint(c.out, t.render())
		} else {
			c.output("*** No help on " + arg)
		}
	}
	return nil
}
