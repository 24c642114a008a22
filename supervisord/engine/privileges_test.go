package engine

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gosupervisor/config"
)

// TestRealUserSwitch runs cat /proc/self/status as nobody: as root the
// child gets nobody's uid, gid and groups; as anyone else the spawn fails
// with the reference's message.
func TestRealUserSwitch(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	dir := t.TempDir()
	cfg := testConfig(t, childProgram(t, dir, "status", 1, nil, func(c *config.Process) {
		c.Argv = []string{"cat", "/proc/self/status"}
		c.User, c.UID, c.GID = "nobody", uid, gid
		c.StartSecs, c.StartRetries = 0, 0
		c.Autorestart = config.AutorestartFalse
	}))
	e := startReal(t, cfg)
	if os.Getuid() != 0 {
		info := waitState(t, e, "status", "FATAL")
		if want := fmt.Sprintf("couldn't setuid to %d: Can't drop privilege as nonroot user", uid); info.SpawnErr != want {
			t.Fatalf("spawnerr %q, want %q", info.SpawnErr, want)
		}
		return
	}
	waitState(t, e, "status", "EXITED")
	out := waitFile(t, filepath.Join(dir, "status.out"), "Groups:")
	for _, want := range []string{
		fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d\n", uid, uid, uid, uid),
		fmt.Sprintf("Gid:\t%d\t%d\t%d\t%d\n", gid, gid, gid, gid),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	groups := regexp.MustCompile(`Groups:\s*([0-9 ]*)\n`).FindStringSubmatch(out)
	if groups == nil || !strings.Contains(" "+groups[1]+" ", " "+nobody.Gid+" ") || strings.Contains(" "+groups[1], " 0 ") {
		t.Errorf("supplementary groups %q, want nobody's (with %s) and not root's", groups, nobody.Gid)
	}
}

func TestOpenFCGISocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rows := []struct {
		name     string
		sock     *config.FCGISocket
		wantMode os.FileMode
	}{
		{"tcp", &config.FCGISocket{URL: "tcp://127.0.0.1:0", Network: "tcp", Address: "127.0.0.1:0", Backlog: 5}, 0},
		{"unix", &config.FCGISocket{URL: "unix://" + dir + "/a.sock", Network: "unix", Address: dir + "/a.sock",
			Mode: 0o640, OwnerUID: -1, OwnerGID: -1}, 0o640},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := openFCGISocket(tc.sock)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			l, err := net.FileListener(f)
			if err != nil {
				t.Fatalf("not a listener: %v", err)
			}
			defer l.Close()
			c, err := net.Dial(l.Addr().Network(), l.Addr().String())
			if err != nil {
				t.Fatalf("dial %v: %v", l.Addr(), err)
			}
			c.Close()
			if tc.wantMode != 0 {
				fi, err := os.Stat(tc.sock.Address)
				if err != nil || fi.Mode().Perm() != tc.wantMode {
					t.Fatalf("socket file %v %v, want mode %v", fi, err, tc.wantMode)
				}
			}
		})
	}
}

func TestSupplementaryGroups(t *testing.T) {
	t.Parallel()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(me.Uid)
	gid, _ := strconv.Atoi(me.Gid)
	ids, err := me.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	// Any gid works as the primary group; one the user is not in shows
	// that it comes first and is not repeated.
	for _, primary := range []int{gid, 4242} {
		got, err := SupplementaryGroups(uid, primary)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{primary}
		for _, id := range ids {
			if n, _ := strconv.Atoi(id); n != primary {
				want = append(want, n)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("SupplementaryGroups(%d, %d) = %v, want %v", uid, primary, got, want)
		}
	}
	if _, err := SupplementaryGroups(1<<30+7, 0); err == nil {
		t.Error("an unknown uid gave no error")
	}
}
