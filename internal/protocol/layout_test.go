package protocol

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// packageMap is what each package of the daemon and its client may import
// of this module (direct imports of non-test files): the dependency
// direction of README's package map. Packages not listed (tests, bench,
// soak, the mains) may import anything but a main.
var packageMap = map[string][]string{
	"internal/protocol":       {},
	"internal/pyrepr":         {},
	"internal/safefs":         {},
	"internal/execshim":       {},
	"internal/envfile":        {},
	"internal/cgroup":         {"config", "internal/procfs"},
	"internal/procfs":         {},
	"internal/sdnotify":       {},
	"metrics":                 {"supervisord/engine", "internal/protocol"},
	"config":                  {"internal/protocol", "internal/pyrepr", "internal/envfile"},
	"logrot":                  {"internal/protocol", "internal/safefs"},
	"supervisord/events":      {"internal/pyrepr"},
	"supervisord/notify":      {"config", "internal/sdnotify"},
	"supervisord/health":      {"config"},
	"supervisord/handover":    {"config"},
	"supervisord/engine":      {"config", "logrot", "supervisord/events", "supervisord/notify", "supervisord/health", "supervisord/handover", "internal/protocol", "internal/pyrepr", "internal/safefs", "internal/sdnotify", "internal/execshim", "internal/cgroup", "internal/procfs", "internal/envfile"},
	"rpc":                     {"supervisord/engine", "config", "logrot", "internal/protocol", "internal/pyrepr"},
	"webui":                   {"supervisord/engine", "logrot", "internal/protocol"},
	"ctl":                     {"config", "internal/protocol", "internal/pyrepr"},
	"supervisord/configcheck": {"config", "rpc", "supervisord/engine"},
}

// TestPackageMap fails when a package imports more of this module than
// packageMap allows: the engine must not learn the wire (rpc), the web UI
// must not go through rpc, supervisorctl must not link the daemon.
func TestPackageMap(t *testing.T) {
	root := moduleRoot(t)
	imports := map[string]map[string]bool{} // package dir → module imports
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		dir = filepath.ToSlash(dir)
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			if rest, ok := strings.CutPrefix(p, "gosupervisor/"); ok {
				imports[dir][rest] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range packageMap {
		if imports[pkg] == nil {
			t.Errorf("package %s is in packageMap but not in the module", pkg)
		}
	}
	for pkg, imps := range imports {
		allowed, listed := packageMap[pkg]
		for imp := range imps {
			switch {
			case strings.HasPrefix(imp, "cmd/"):
				t.Errorf("%s imports %s: nothing imports a main", pkg, imp)
			case listed && !slices.Contains(allowed, imp):
				t.Errorf("%s imports %s; it may import only %v", pkg, imp, allowed)
			}
		}
	}
}
