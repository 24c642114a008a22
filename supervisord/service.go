package supervisord

import (
	"fmt"
	"os"
	"time"

	"gosupervisor/internal/sdnotify"
	"gosupervisor/supervisord/handover"
)

// serviceManager is the service manager supervisord runs under when
// $NOTIFY_SOCKET names one (a systemd unit of Type=notify): the engine
// loop tells it when the daemon is ready, reloading or stopping, how many
// programs are in each state, and that the loop is alive.
type serviceManager struct {
	client *sdnotify.Client
	// watchdog is the keep-alive limit the manager set (WATCHDOG_USEC),
	// when meant for us; 0 = none.
	watchdog time.Duration
}

// takeServiceManager reads $NOTIFY_SOCKET, $WATCHDOG_USEC and
// $WATCHDOG_PID and removes them from the environment, so that no
// program supervisord starts can report in its name (a STOPPING=1 from a
// child would be taken as supervisord's). It returns nil when there is no
// service manager, and a warning for the main log when the values are
// unusable (supervisord then runs as if there were none).
func takeServiceManager() (*serviceManager, string) {
	addr := os.Getenv(sdnotify.EnvSocket)
	usec := os.Getenv(sdnotify.EnvWatchdogUSec)
	pid := os.Getenv(sdnotify.EnvWatchdogPID)
	for _, k := range []string{sdnotify.EnvSocket, sdnotify.EnvWatchdogUSec, sdnotify.EnvWatchdogPID} {
		_ = os.Unsetenv(k)
	}
	client, err := sdnotify.NewClient(addr)
	if err != nil {
		return nil, fmt.Sprintf("ignoring %s: %v", sdnotify.EnvSocket, err)
	}
	if client == nil {
		return nil, ""
	}
	sm := &serviceManager{client: client}
	warn := ""
	if sm.watchdog, err = sdnotify.WatchdogInterval(usec, pid, os.Getpid()); err != nil {
		warn = fmt.Sprintf("ignoring the service manager's watchdog: %v", err)
	}
	return sm, warn
}

// resumeServiceManager is the service manager a predecessor ran under
// (an upgrade in place): its address and watchdog limit as handed over.
func resumeServiceManager(s *handover.Service) (*serviceManager, error) {
	client, err := sdnotify.NewClient(s.Socket)
	if err != nil || client == nil {
		return nil, fmt.Errorf("service manager %q: %v", s.Socket, err)
	}
	return &serviceManager{client: client, watchdog: time.Duration(s.WatchdogUSec) * time.Microsecond}, nil
}

// handover describes the service manager for an upgrade in place.
func (s *serviceManager) handover() *handover.Service {
	return &handover.Service{Socket: s.client.Addr(), WatchdogUSec: s.watchdog.Microseconds()}
}

// Notify sends one notification.
func (s *serviceManager) Notify(state string) error { return s.client.Send(state) }

// Watchdog is the keep-alive limit; 0 when there is none.
func (s *serviceManager) Watchdog() time.Duration { return s.watchdog }

// Close releases the client's socket.
func (s *serviceManager) Close() { s.client.Close() }
