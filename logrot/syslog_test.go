package logrot

import (
	"fmt"
	"sync"
	"testing"
)

func TestSyslogSendLines(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		text   string
		want   []string
	}{
		{"child lines", "web ", "GET /\nPOST /x\n", []string{"web GET /", "web POST /x"}},
		{"trailing newlines trimmed", "web ", "one\n\n\n", []string{"web one"}},
		{"inner empty line kept", "p ", "a\n\nb", []string{"p a", "p ", "p b"}},
		{"no newline", "p ", "partial", []string{"p partial"}},
		{"invalid utf-8 as is", "p ", "\xff\n", []string{"p \xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			s := NewSyslog(func(line string) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, line)
				return nil
			})
			s.SendLines(tt.prefix, []byte(tt.text))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
		})
	}
}
