package config

import (
	"errors"
	"path/filepath"
	"strings"
)

// LoadCtl reads what supervisorctl takes from a configuration file: the
// [supervisorctl] section only, with defaults applied.
func LoadCtl(path string) (*Supervisorctl, error) {
	return LoadCtlWith(path, Options{})
}

// LoadCtlWith is LoadCtl with explicit environment and working directory.
func LoadCtlWith(path string, opts Options) (*Supervisorctl, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	here := filepath.Dir(r.paths.normalize(path))
	data, err := readMain(r, &recorder{src: &Sources{}}, path)
	if err != nil {
		return nil, err
	}
	ini := newIniFile()
	if err := ini.read(data, path); err != nil {
		return nil, err
	}
	if !ini.hasSection("supervisorctl") {
		return nil, errors.New(".ini file does not include supervisorctl section")
	}
	return ctlFromIni(ini, r, here, r.environExpansions())
}

func ctlFromIni(ini *iniFile, r resolved, here string, environ expansions) (*Supervisorctl, error) {
	const sec = "supervisorctl"
	get := func(key, def string, extra expansions) (string, bool, error) {
		v, ok := ini.get(sec, key)
		if !ok {
			return def, false, nil
		}
		if !strings.Contains(v, "%") {
			return v, true, nil
		}
		out, err := expand(v, environ.merge(extra), sec+"."+key)
		return out, true, err
	}
	ctl := &Supervisorctl{}
	var err error
	if ctl.ServerURL, _, err = get("serverurl", "http://localhost:9001", expansions{"here": here}); err != nil {
		return nil, err
	}
	if strings.HasPrefix(ctl.ServerURL, "unix://") {
		ctl.ServerURL = "unix://" + r.paths.normalize(ctl.ServerURL[7:])
	}
	if ctl.Prompt, _, err = get("prompt", "supervisor", nil); err != nil {
		return nil, err
	}
	if ctl.Username, _, err = get("username", "", nil); err != nil {
		return nil, err
	}
	if ctl.Password, _, err = get("password", "", nil); err != nil {
		return nil, err
	}
	hist, _, err := get("history_file", "", expansions{"here": here})
	if err != nil {
		return nil, err
	}
	if hist != "" {
		ctl.HistoryFile = r.paths.normalize(hist)
	}
	return ctl, nil
}
