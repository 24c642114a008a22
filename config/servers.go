package config

import (
	"fmt"
	"strings"
)

// rpcInterfaces reads every [rpcinterface:x] section; the factory is
// not imported (see the package comment).
func (l *loader) rpcInterfaces() ([]RPCInterface, error) {
	const key = "supervisor.rpcinterface_factory"
	var out []RPCInterface
	for _, sec := range l.ini.order {
		if !strings.HasPrefix(sec, "rpcinterface:") {
			continue
		}
		_, name, _ := strings.Cut(sec, ":")
		factory, ok, err := l.get(sec, key, nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("section [%s] does not specify a %s", sec, key)
		}
		ri := RPCInterface{Name: name, Factory: factory}
		for _, k := range l.ini.options(sec) {
			if k == key {
				continue
			}
			v, _, err := l.get(sec, k, nil)
			if err != nil {
				return nil, err
			}
			if ri.Extras == nil {
				ri.Extras = map[string]string{}
			}
			ri.Extras[k] = v
		}
		out = append(out, ri)
	}
	return out, nil
}

// servers reads every [inet_http_server*] then [unix_http_server*]
// section, in file order within each kind.
func (l *loader) servers() ([]InetHTTPServer, []UnixHTTPServer, error) {
	var inet []InetHTTPServer
	var unix []UnixHTTPServer
	for _, sec := range l.ini.order {
		if !strings.HasPrefix(sec, "inet_http_server") {
			continue
		}
		user, pass, err := l.auth(sec)
		if err != nil {
			return nil, nil, err
		}
		port, ok, err := l.get(sec, "port", nil)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("section [%s] has no port value", sec)
		}
		host, p, err := InetAddress(port)
		if err != nil {
			return nil, nil, err
		}
		inet = append(inet, InetHTTPServer{Section: sec, Host: host, Port: p, Username: user, Password: pass})
	}
	for _, sec := range l.ini.order {
		if !strings.HasPrefix(sec, "unix_http_server") {
			continue
		}
		file, ok, err := l.get(sec, "file", expansions{"here": l.here})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("section [%s] has no file value", sec)
		}
		srv := UnixHTTPServer{Section: sec, File: l.r.paths.normalize(pyStrip(file)), ChownUID: -1, ChownGID: -1, Chmod: 0o700}
		if srv.Username, srv.Password, err = l.auth(sec); err != nil {
			return nil, nil, err
		}
		if chown, ok, err := l.get(sec, "chown", nil); err != nil {
			return nil, nil, err
		} else if ok {
			if srv.ChownUID, srv.ChownGID, err = l.users.userGroup(chown); err != nil {
				return nil, nil, fmt.Errorf("Invalid sockchown value %s", chown)
			}
		}
		if chmod, ok, err := l.get(sec, "chmod", nil); err != nil {
			return nil, nil, err
		} else if ok {
			n, err := ParseOctal(chmod)
			if err != nil {
				return nil, nil, fmt.Errorf("Invalid chmod value %s", chmod)
			}
			srv.Chmod = uint32(n)
		}
		unix = append(unix, srv)
	}
	return inet, unix, nil
}

// auth reads username and password, which must come together.
func (l *loader) auth(sec string) (string, string, error) {
	user, hasUser, err := l.get(sec, "username", nil)
	if err != nil {
		return "", "", err
	}
	pass, hasPass, err := l.get(sec, "password", nil)
	if err != nil {
		return "", "", err
	}
	if hasUser != hasPass {
		return "", "", fmt.Errorf("Section [%s] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified", sec)
	}
	return user, pass, nil
}
