package ctl

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// upgradeWait bounds how long "upgrade" waits for the new binary to
// answer.
const upgradeWait = 60 * time.Second

// upgradeInfo is gosupervisor.getUpgradeInfo's answer.
type upgradeInfo struct {
	Build     string `xmlrpc:"build"`
	Serial    int    `xmlrpc:"serial"`
	LastFrom  string `xmlrpc:"last_from"`
	LastTo    string `xmlrpc:"last_to"`
	LastError string `xmlrpc:"last_error"`
}

// doUpgrade is "upgrade [path]", gosupervisor's own command: supervisord
// replaces its binary in place (gosupervisor.upgrade) without stopping a
// program; it waits until the new binary answers.
func (c *controller) doUpgrade(arg string) error {
	path := strings.TrimSpace(arg)
	if strings.ContainsAny(path, " \t") {
		c.output("Error: upgrade accepts at most one path")
		c.exitStatus = exitGeneric
		c.help("upgrade")
		return nil
	}
	msg, ok := Upgrade(c.call, path, c.output)
	if !ok {
		c.exitStatus = exitGeneric
	}
	if msg != "" {
		c.output(msg)
	}
	return nil
}

// Upgrade asks supervisord to upgrade in place to the binary at path (""
// = its own path) through call (supervisorctl's, or supervisord
// --upgrade's), reporting progress with say, and waits for the outcome:
// the final message and whether the upgrade succeeded.
func Upgrade(call func(method string, result any, args ...any) error, path string, say func(string)) (string, bool) {
	var before upgradeInfo
	if err := call("gosupervisor.getUpgradeInfo", &before); err != nil {
		return "ERROR: " + describeError(err), false
	}
	var res struct {
		From string `xmlrpc:"from"`
		To   string `xmlrpc:"to"`
	}
	if err := call("gosupervisor.upgrade", &res, path); err != nil {
		return "ERROR: " + describeError(err), false
	}
	say(fmt.Sprintf("Upgrading supervisord from %s to %s", res.From, res.To))
	deadline := time.Now().Add(upgradeWait)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		var info upgradeInfo
		if err := call("gosupervisor.getUpgradeInfo", &info); err != nil {
			continue // between the two binaries
		}
		if info.Serial == before.Serial {
			continue
		}
		if info.LastError != "" {
			return "ERROR: upgrade failed: " + info.LastError + " (supervisord runs on as " + info.Build + ")", false
		}
		return "Upgraded: supervisord now runs " + info.Build, true
	}
	return fmt.Sprintf("ERROR: no answer from the upgraded supervisord within %v", upgradeWait), false
}

// describeError is a fault's text, or the error's.
func describeError(err error) string {
	if f, ok := asFault(err); ok {
		return f.String
	}
	return err.Error()
}

// UpgradeDaemon is Upgrade over a new connection to serverURL with the
// given credentials (supervisord --upgrade).
func UpgradeDaemon(serverURL, username, password, path string, say func(string)) (string, bool) {
	cl, err := newRPCClient(serverURL, username, password)
	if err != nil {
		return "ERROR: " + err.Error(), false
	}
	defer cl.close()
	call := func(method string, result any, args ...any) error {
		return cl.call(context.Background(), method, result, args...)
	}
	return Upgrade(call, path, say)
}
