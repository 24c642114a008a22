package ctl

import (
	"strings"
)

// helpTexts are the per-command help outputs of the reference, keyed by
// command name (each already ends with its newline).
var helpTexts = map[string]string{
	"add":   "add <name> [...]\tActivates any updates in config for process/group\n",
	"avail": "avail\t\t\tDisplay all configured processes\n",
	"clear": "clear <name>\t\tClear a process' log files.\n" +
		"clear <name> <name>\tClear multiple process' log files\n" +
		"clear all\t\tClear all process' log files\n",
	"exit": "exit\tExit the supervisor shell.\n",
	"fg": "fg <process>\tConnect to a process in foreground mode\n" +
		"\t\tCtrl-C to exit\n",
	"maintail": "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\n" +
		"maintail -100\tlast 100 *bytes* of supervisord main log file\n" +
		"maintail\tlast 1600 *bytes* of supervisor main log file\n\n",
	"open": "open <url>\tConnect to a remote supervisord process.\n" +
		"\t\t(for UNIX domain socket, use unix:///socket/path)\n",
	"pid": "pid\t\t\tGet the PID of supervisord.\n" +
		"pid <name>\t\tGet the PID of a single child process by name.\n" +
		"pid all\t\t\tGet the PID of every child process, one per line.\n",
	"quit":   "quit\tExit the supervisor shell.\n",
	"reload": "reload \t\tRestart the remote supervisord.\n",
	"remove": "remove <name> [...]\tRemoves process/group from active config\n",
	"reread": "reread \t\t\tReload the daemon's configuration files without add/remove\n",
	"restart": "restart <name>\t\tRestart a process\n" +
		"restart <gname>:*\tRestart all processes in a group\n" +
		"restart <name> <name>\tRestart multiple processes or groups\n" +
		"restart all\t\tRestart all processes\n" +
		"Note: restart does not reread config files. For that, see reread and update.\n",
	"shutdown": "shutdown \tShut the remote supervisord down.\n",
	"signal": "signal <signal name> <name>\t\tSignal a process\n" +
		"signal <signal name> <gname>:*\t\tSignal all processes in a group\n" +
		"signal <signal name> <name> <name>\tSignal multiple processes or groups\n" +
		"signal <signal name> all\t\tSignal all processes\n",
	"start": "start <name>\t\tStart a process\n" +
		"start <gname>:*\t\tStart all processes in a group\n" +
		"start <name> <name>\tStart multiple processes or groups\n" +
		"start all\t\tStart all processes\n",
	"status": "status <name>\t\tGet status for a single process\n" +
		"status <gname>:*\tGet status for all processes in a group\n" +
		"status <name> <name>\tGet status for multiple named processes\n" +
		"status\t\t\tGet all process status info\n",
	"stop": "stop <name>\t\tStop a process\n" +
		"stop <gname>:*\t\tStop all processes in a group\n" +
		"stop <name> <name>\tStop multiple processes or groups\n" +
		"stop all\t\tStop all processes\n",
	"tail": "tail [-f] <name> [stdout|stderr] (default stdout)\n" +
		"Ex:\n" +
		"tail -f <name>\t\tContinuous tail of named process stdout\n" +
		"\t\t\tCtrl-C to exit.\n" +
		"tail -100 <name>\tlast 100 *bytes* of process stdout\n" +
		"tail <name> stderr\tlast 1600 *bytes* of process stderr\n",
	"update": "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\n" +
		"update all\t\tReload config and add/remove as necessary, and will restart affected programs\n" +
		"update <gname> [...]\tUpdate specific groups\n",
	"version": "version\t\t\tShow the version of the remote supervisord process\n",
}

const helpHelp = "help\t\tPrint a list of available actions\n" +
	"help <action>\tPrint help for <action>\n"

const helpHeader = "default commands (type help <topic>):"

// topicList renders the "help" listing: a blank line, the header, its
// ruler, the commands in columns (79 wide, like Python's cmd module) and a
// blank line.
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
