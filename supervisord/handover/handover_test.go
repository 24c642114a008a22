package handover

import (
	"errors"
	"strings"
	"testing"
)

// TestFeatures: a document names a feature only when it carries its
// state; a reader that does not know the feature (or knows an older
// version) refuses such a document, naming it, and reads one without.
func TestFeatures(t *testing.T) {
	withReadiness := func() *Document {
		d := New(Build{Version: "test"})
		d.Engine.Groups = []Group{{Name: "a", Processes: []Process{{Name: "a", Readiness: &Readiness{Ready: true}}}}}
		return d
	}
	withService := func() *Document {
		d := New(Build{Version: "test"})
		d.Daemon.Service = &Service{Socket: "/run/systemd/notify"}
		return d
	}
	old := Reader{MinVersion: MinVersion, Version: Version, Features: map[string]int{}}
	for _, tc := range []struct {
		name   string
		doc    *Document
		reader Reader
		want   string // "" = read
	}{
		{"plain, old reader", New(Build{}), old, ""},
		{"readiness, this binary", withReadiness(), ThisBinary(), ""},
		{"readiness, old reader", withReadiness(), old, `state of feature "readiness" (version 1) is not supported`},
		{"readiness, older version", withReadiness(), Reader{MinVersion: MinVersion, Version: Version, Features: map[string]int{FeatureReadiness: 0}},
			`state of feature "readiness" version 1 is not supported (this binary reads up to version 0)`},
		{"service, this binary", withService(), ThisBinary(), ""},
		{"service, old reader", withService(), old, `state of feature "service_manager" (version 1) is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.doc.NeedFeatures()
			data, err := tc.doc.Encode()
			if err != nil {
				t.Fatal(err)
			}
			_, err = tc.reader.Decode(data)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Decode: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Decode: %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
	d := New(Build{})
	if d.NeedFeatures(); d.Features != nil {
		t.Errorf("a document without such state names %v", d.Features)
	}
}
