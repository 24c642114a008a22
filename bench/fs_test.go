package bench

import (
	"testing"
)

func TestMountOf(t *testing.T) {
	const info = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:21 / /dev rw,nosuid shared:2 - devtmpfs udev rw
26 25 0:23 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
30 22 0:30 / /mnt/my\040disk rw - xfs /dev/vdb1 rw
31 22 0:31 / /var/tmp rw - tmpfs tmpfs rw
32 22 0:32 / /var/tmp rw - ext4 /dev/vdc rw
garbage line
`
	tests := []struct {
		path                string
		wantPoint, wantType string
		wantMem             bool
	}{
		{"/", "/", "ext4", false},
		{"/home/x", "/", "ext4", false},
		{"/dev/shm", "/dev/shm", "tmpfs", true},
		{"/dev/shm/bench-1", "/dev/shm", "tmpfs", true},
		{"/dev/shmx", "/dev", "devtmpfs", false},
		{"/mnt/my disk/logs", "/mnt/my disk", "xfs", false},
		// The later of two mounts on one point hides the earlier.
		{"/var/tmp/x", "/var/tmp", "ext4", false},
	}
	for _, tt := range tests {
		m, err := mountOf(tt.path, info)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if m.Point != tt.wantPoint || m.Type != tt.wantType || m.InMemory() != tt.wantMem {
			t.Errorf("%s: %+v (in memory %v), want %s %s %v", tt.path, m, m.InMemory(), tt.wantPoint, tt.wantType, tt.wantMem)
		}
	}
	if _, err := mountOf("/x", "garbage\n"); err == nil {
		t.Error("no mounts: no error")
	}
	// The running machine: /proc is procfs wherever the bench runs.
	m, err := MountOf("/proc/self")
	if err != nil || m.Type != "proc" {
		t.Errorf("MountOf(/proc/self) = %+v, %v", m, err)
	}
}
