package ctl

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"

	"gosupervisor/internal/testenv"
)

// Help is prose, and ours is our own: the golden tests compare its shape
// (which topics exist, their syntax lines, where help is printed and the
// exit codes) rather than its words. helpShapes maps every help text one
// client prints to a marker naming the topic and its syntax lines; the
// golden comparison swaps each side's texts for the markers first.
type helpShapes struct {
	texts   []string // longest first, so no text is replaced inside another
	markers map[string]string
}

func (h *helpShapes) add(text, marker string) {
	h.texts = append(h.texts, text)
	h.markers[text] = marker
}

func (h *helpShapes) finish() *helpShapes {
	sort.Slice(h.texts, func(i, j int) bool { return len(h.texts[i]) > len(h.texts[j]) })
	return h
}

// replace swaps every known help text in s for its marker.
func (h *helpShapes) replace(s string) string {
	for _, text := range h.texts {
		s = strings.ReplaceAll(s, text, h.markers[text])
	}
	return s
}

func helpMarker(topic string, syntaxes []string) string {
	return "<help " + topic + ": " + strings.Join(syntaxes, " | ") + ">\n"
}

func usageMarker(forms []string) string {
	return "<usage: " + strings.Join(forms, " | ") + ">\n"
}

// helpTopicNames are the topics "help <topic>" answers, plus "help".
func helpTopicNames() []string {
	return append(listedCommands(), "help")
}

// ourHelpShapes maps our help texts to their markers, taken from the
// topic table, and our -h text to the Usage line and option forms of
// usageText (argv0 is the program name the golden runs use).
func ourHelpShapes(argv0 string) *helpShapes {
	h := &helpShapes{markers: map[string]string{}}
	for name, t := range helpTopics {
		h.add(t.render(), helpMarker(name, t.syntaxes()))
	}
	h.add(helpOnHelp.render(), helpMarker("help", helpOnHelp.syntaxes()))
	usage := strings.ReplaceAll(usageText, "%s", argv0)
	h.add(usage, usageMarker(usageForms(usage)))
	return h.finish()
}

// referenceSyntaxes picks the syntax lines out of one of the reference's
// help texts: the lines that begin with the command's name, up to the
// first tab (the explanation follows it).
func referenceSyntaxes(topic, text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 0 || f[0] != topic {
			continue
		}
		syntax, _, _ := strings.Cut(line, "\t")
		out = append(out, strings.TrimRight(syntax, " "))
	}
	return out
}

// usageForms picks the Usage line and the option forms (each option
// line's text before " -- ") out of a -h text.
func usageForms(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "Usage: "):
			out = append(out, line)
		case strings.HasPrefix(line, "-"):
			form, _, _ := strings.Cut(line, " -- ")
			out = append(out, form)
		}
	}
	return out
}

// referenceUsageFix corrects the one option form where the reference's
// -h text and its option parser disagree: the parser takes
// --history_file with an argument, the text says --history-file. Ours
// prints what the parser accepts.
var referenceUsageFix = strings.NewReplacer("-r/--history-file", "-r/--history_file FILENAME")

var (
	referenceHelpOnce   sync.Once
	referenceHelpShapes *helpShapes
	referenceHelpErr    error
)

// referenceHelp asks the stock supervisorctl for every help topic (one
// piped session; no daemon is needed) and for its -h text, and maps each
// text to its marker. The reference's texts are read at run time, never
// stored here.
func referenceHelp(t *testing.T) *helpShapes {
	t.Helper()
	testenv.RequireReference(t)
	referenceHelpOnce.Do(func() {
		referenceHelpShapes, referenceHelpErr = loadReferenceHelp()
	})
	if referenceHelpErr != nil {
		t.Fatal(referenceHelpErr)
	}
	return referenceHelpShapes
}

func loadReferenceHelp() (*helpShapes, error) {
	const prompt = "supervisor> "
	topics := helpTopicNames()
	var stdin strings.Builder
	for _, name := range topics {
		stdin.WriteString("help " + name + "\n")
	}
	cmd := exec.Command(testenv.PythonSupervisorctl, "-s", "unix:///nonexistent/sock")
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin.String())
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("reference supervisorctl, help session: %v\n%s", err, out)
	}
	// Before the first prompt: the failed connection's message; after the
	// last: the newline printed at end of input.
	parts := strings.Split(string(out), prompt)
	if len(parts) != len(topics)+2 {
		return nil, fmt.Errorf("reference supervisorctl, help session: want %d prompts:\n%s", len(topics)+1, out)
	}
	h := &helpShapes{markers: map[string]string{}}
	for i, name := range topics {
		text := parts[i+1]
		syntaxes := referenceSyntaxes(name, text)
		if len(syntaxes) == 0 {
			return nil, fmt.Errorf("reference supervisorctl, help %s: no syntax lines in %q", name, text)
		}
		h.add(text, helpMarker(name, syntaxes))
	}
	cmd = exec.Command(testenv.PythonSupervisorctl, "-h")
	cmd.Dir = "/"
	usage, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("reference supervisorctl -h: %v\n%s", err, usage)
	}
	h.add(string(usage), usageMarker(usageForms(referenceUsageFix.Replace(string(usage)))))
	return h.finish(), nil
}

// TestHelpShapeMatchesReference pins the structure of every help topic
// and of -h against the stock client: the same topics, in each the same
// syntax lines in the same order.
func TestHelpShapeMatchesReference(t *testing.T) {
	ref := referenceHelp(t)
	ours := ourHelpShapes(testenv.PythonSupervisorctl)
	want := map[string]bool{}
	for _, m := range ref.markers {
		want[m] = true
	}
	got := map[string]bool{}
	for _, m := range ours.markers {
		got[m] = true
	}
	for m := range want {
		if !got[m] {
			t.Errorf("reference has %q; ours lacks it", m)
		}
	}
	for m := range got {
		if !want[m] {
			t.Errorf("ours has %q; the reference lacks it", m)
		}
	}
}

// TestHelpIsOurOwn fails if an explanation of ours shares a run of six
// words with the reference's help texts: the syntax lines are shared on
// purpose, the prose must not be.
func TestHelpIsOurOwn(t *testing.T) {
	ref := referenceHelp(t)
	const n = 6
	shingles := map[string]bool{}
	for _, text := range ref.texts {
		w := proseWords(text)
		for i := 0; i+n <= len(w); i++ {
			shingles[strings.Join(w[i:i+n], " ")] = true
		}
	}
	var prose []string
	all := map[string]topic{"help": helpOnHelp}
	for name, t := range helpTopics {
		all[name] = t
	}
	for _, t := range all {
		for _, u := range t.usages {
			prose = append(prose, u.what)
		}
		prose = append(prose, t.remarks...)
	}
	for _, line := range strings.Split(usageText, "\n") {
		if _, what, ok := strings.Cut(line, " -- "); ok {
			prose = append(prose, what)
		} else if !strings.HasPrefix(line, "Usage: ") {
			prose = append(prose, line)
		}
	}
	for _, p := range prose {
		w := proseWords(p)
		for i := 0; i+n <= len(w); i++ {
			if s := strings.Join(w[i:i+n], " "); shingles[s] {
				t.Errorf("%q repeats the reference's words %q", p, s)
			}
		}
	}
}

// proseWords splits text into lower-case words, punctuation dropped.
func proseWords(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// TestUsageNamesEveryOption checks that -h shows each option the parser
// accepts, short and long form together, as the parser spells them.
func TestUsageNamesEveryOption(t *testing.T) {
	forms := strings.Join(usageForms(usageText), "\n")
	for short, spec := range shortOpts {
		if short == '?' {
			continue // an alias of -h, as in the reference
		}
		want := "-" + string(short) + "/--" + spec.name
		if !strings.Contains(forms, want) {
			t.Errorf("usage lacks %q:\n%s", want, forms)
		}
	}
	if len(longOpts) != len(shortOpts)-1 {
		t.Errorf("%d long options, %d short ones (less -?): every option should have both", len(longOpts), len(shortOpts))
	}
}

// TestHelpLayout checks that every rendered help line fits 79 columns
// unless it is a single unbreakable syntax, and that each usage keeps its
// syntax at the start of a line.
func TestHelpLayout(t *testing.T) {
	all := map[string]topic{"help": helpOnHelp}
	for name, tp := range helpTopics {
		all[name] = tp
	}
	for name, tp := range all {
		text := tp.render()
		for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if len(line) > helpWidth && !isSyntaxOf(tp, line) {
				t.Errorf("help %s: line of %d columns: %q", name, len(line), line)
			}
		}
		for _, u := range tp.usages {
			if !strings.HasPrefix(text, u.syntax) && !strings.Contains(text, "\n"+u.syntax) {
				t.Errorf("help %s: syntax %q does not start a line:\n%s", name, u.syntax, text)
			}
		}
	}
}

func isSyntaxOf(tp topic, line string) bool {
	for _, u := range tp.usages {
		if line == u.syntax {
			return true
		}
	}
	return false
}
