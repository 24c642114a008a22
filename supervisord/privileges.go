package supervisord

import (
	"fmt"
	"os"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// rootWarning is the reference's CRIT line when running as root without user=.
const rootWarning = "Supervisor is running as root.  Privileges were not dropped because no user is specified in the config file.  If you intend to run as root, you can set user=root in the config file to avoid this message."

// setUser drops privileges to the configured user as the reference's
// set_uid_or_exit does (a no-op when already that uid; non-root cannot
// switch), or notes the CRIT message when running as root without user=.
// Go applies setuid/setgid to every thread of the process.
func setUser(cfg *config.Config, msgs *startupMessages) error {
	s := cfg.Supervisord
	if s.User == "" {
		if os.Getuid() == 0 {
			msgs.add(protocol.LevelCritical, "%s", rootWarning)
		}
		return nil
	}
	if err := dropPrivileges(s.UID, s.GID); err != nil {
		return &usageError{msg: err.Error()}
	}
	msgs.add(protocol.LevelInfo, "Set uid to user %d succeeded", s.UID)
	return nil
}

// dropPrivileges switches to uid with gid as primary group and the user's
// supplementary groups (primary first), with the reference's error texts.
func dropPrivileges(uid, gid int) error {
	current := os.Getuid()
	if current == uid {
		return nil
	}
	if current != 0 {
		return fmt.Errorf("Can't drop privilege as nonroot user")
	}
	groups, err := engine.SupplementaryGroups(uid, gid)
	if err != nil {
		groups = []int{gid} // a uid the user database does not know
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("Could not set groups of effective user")
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("Could not set group id of effective user")
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("could not set user id %d: %w", uid, err)
	}
	return nil
}
