package ctl

import (
	"gosupervisor/config"
)

// findConfig returns the file of the reference's default search order
// that exists, or "" (supervisorctl then runs on defaults).
func findConfig(argv0, cwd string) string {
	path, err := config.Find(argv0, cwd)
	if err != nil {
		return ""
	}
	return path
}

// loadCtlConfig reads the [supervisorctl] section of path. Error texts
// are the reference's (printed after "Error: ").
func loadCtlConfig(path, cwd string, environ []string) (*config.Supervisorctl, error) {
	return config.LoadCtlWith(path, config.Options{Env: environ, Cwd: cwd})
}
