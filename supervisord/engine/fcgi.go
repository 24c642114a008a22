package engine

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/safefs"
)

// openFCGISocket binds and listens on an [fcgi-program:x] socket with the
// configured backlog (and owner/mode for unix sockets). The returned file
// is close-on-exec; spawns hand it to children as fd 0.
func openFCGISocket(s *config.FCGISocket) (*os.File, error) {
	backlog := s.Backlog
	if backlog <= 0 {
		backlog = syscall.SOMAXCONN
	}
	var (
		fd  int
		err error
	)
	switch s.Network {
	case "tcp":
		addr, rerr := net.ResolveTCPAddr("tcp4", s.Address)
		if rerr != nil {
			return nil, fmt.Errorf("resolve %s: %w", s.Address, rerr)
		}
		fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socket: %w", err)
		}
		sa := &syscall.SockaddrInet4{Port: addr.Port}
		if ip4 := addr.IP.To4(); ip4 != nil {
			copy(sa.Addr[:], ip4)
		}
		if err = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err == nil {
			err = syscall.Bind(fd, sa)
		}
	case "unix":
		if _, serr := os.Lstat(s.Address); serr == nil {
			os.Remove(s.Address)
		}
		fd, err = syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socket: %w", err)
		}
		err = syscall.Bind(fd, &syscall.SockaddrUnix{Name: s.Address})
		// Never through a link another user swapped in after the bind.
		if err == nil {
			err = safefs.ChmodSocket(s.Address, uint32(s.Mode))
		}
		if err == nil && (s.OwnerUID >= 0 || s.OwnerGID >= 0) {
			err = safefs.ChownSocket(s.Address, s.OwnerUID, s.OwnerGID)
		}
	default:
		return nil, fmt.Errorf("unsupported socket network %q", s.Network)
	}
	if err == nil {
		err = syscall.Listen(fd, backlog)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", s.URL, err)
	}
	return os.NewFile(uintptr(fd), s.URL), nil
}

// isFCGI reports whether the group's children get its socket as stdin.
func (g *group) isFCGI() bool { return g.cfg.Kind == config.KindFCGI && g.cfg.Socket != nil }

// acquireSocket opens the group's socket unless a child already holds it:
// like the reference, the socket exists only while some child runs.
func (e *Engine) acquireSocket(g *group) (*os.File, error) {
	if g.socket == nil {
		e.log.Logf(protocol.LevelInfo, "Creating socket %s", g.cfg.Socket.URL)
		f, err := openFCGISocket(g.cfg.Socket)
		if err != nil {
			return nil, err
		}
		g.socket = f
	}
	return g.socket, nil
}

// releaseSocket closes the group's socket once none of its children runs.
func (e *Engine) releaseSocket(g *group) {
	if g.socket == nil {
		return
	}
	for _, p := range g.procs {
		if p.pid != 0 {
			return
		}
	}
	e.log.Logf(protocol.LevelInfo, "Closing socket %s", g.cfg.Socket.URL)
	g.socket.Close()
	g.socket = nil
}
