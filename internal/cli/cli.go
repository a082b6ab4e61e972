// Package cli is the command-line frame of dbctl and datactl: commands of
// one or two words, flags anywhere among the arguments, -h on everything,
// short usage and "did you mean" on mistakes, output scrubbed of secrets.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/leadmetrics/db/internal/dbconfig"
)

// Command is one command: its words, synopsis and runner. Setup registers
// the command's flags and returns the function that runs it with the
// positional arguments.
type Command struct {
	Path    string // "migrate status"
	Args    string // positional synopsis: "NAME", "[N]"
	NArgs   [2]int // minimum and maximum number of positional arguments
	Summary string
	Help    string // longer description for -h (optional)
	Setup   func(fs *flag.FlagSet) func(ctx context.Context, args []string, out io.Writer) error
}

// Moved is a command that lives in another program now; running it says
// where.
type Moved struct {
	Path, To string // "demo", "go run ./cmd/datactl demo"
}

// Program is a command-line tool.
type Program struct {
	Name        string // "dbctl"
	Title       string // one line under the name in the usage
	Commands    []*Command
	Moved       []Moved
	Environment string // what the environment variables mean, for -h
	Version     func(out io.Writer) error
}

// Main runs the program with os.Args and exits: 0, 1 on failure, 2 on a
// usage mistake, 130 on Ctrl-C. Nothing printed carries a password of a
// URL given in the environment or on the command line.
func (p *Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	secrets := append([]string{os.Getenv("DATABASE_URL"), os.Getenv("DATABASE_DEV_URL")}, os.Args[1:]...)
	err := p.Run(ctx, os.Args[1:], ScrubWriter{os.Stdout, secrets})
	if ctx.Err() != nil {
		// Interrupted: whatever was running saw the cancelled context and
		// stopped (transactions rolled back); exit as shells expect.
		fmt.Fprintf(os.Stderr, "%s: interrupted\n", p.Name)
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, dbconfig.Scrub(err.Error(), secrets...))
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// ScrubWriter removes the secrets of connection strings from output.
type ScrubWriter struct {
	W       io.Writer
	Secrets []string
}

func (s ScrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.W, dbconfig.Scrub(string(p), s.Secrets...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// UsageError is a mistake in the command line: exit 2, as flag does. Its
// text is the mistake, then a short usage (never the whole help).
type UsageError struct{ Msg, Usage string }

func (e UsageError) Error() string {
	if e.Usage == "" {
		return e.Msg
	}
	return e.Msg + "\n" + e.Usage
}

// ExitCode is 2, as for the flag package's errors.
func (UsageError) ExitCode() int { return 2 }

// ExitError fails with a given exit code (for example lint's findings).
type ExitError struct {
	Err  error
	Code int
}

func (e ExitError) Error() string { return e.Err.Error() }
func (e ExitError) Unwrap() error { return e.Err }
func (e ExitError) ExitCode() int { return e.Code }

// IsHelp reports a request for help.
func IsHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// Usage is the full help, or a group's ("migrate") when group is set.
func (p *Program) Usage(group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\nUsage:\n", p.Name, p.Title)
	for _, c := range p.Commands {
		if group != "" && !strings.HasPrefix(c.Path, group+" ") {
			continue
		}
		fmt.Fprintf(&b, "  %s %s\n      %s\n", p.Name, strings.TrimSpace(c.Path+" "+c.Args), c.Summary)
	}
	if group == "" && p.Version != nil {
		fmt.Fprintf(&b, "  %s --version\n      print the build and the newest migration it embeds\n", p.Name)
	}
	b.WriteString("\n" + p.Environment)
	fmt.Fprintf(&b, "Run '%s COMMAND -h' for a command's flags.\n", p.Name)
	return b.String()
}

// shortUsage is the one-line reminder printed after a mistake: the
// commands (of group) and where the help is.
func (p *Program) shortUsage(group string) string {
	var names []string
	for _, c := range p.Commands {
		if group == "" {
			if w := strings.Fields(c.Path)[0]; !slices.Contains(names, w) {
				names = append(names, w)
			}
		} else if rest, ok := strings.CutPrefix(c.Path, group+" "); ok {
			names = append(names, rest)
		}
	}
	prefix := strings.TrimSpace(p.Name + " " + group)
	return fmt.Sprintf("Usage: %s {%s} [flags]; '%s -h' lists them.", prefix, strings.Join(names, "|"), prefix)
}

// Run dispatches args to a command.
func (p *Program) Run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return UsageError{Msg: "no command", Usage: p.shortUsage("")}
	}
	switch {
	case IsHelp(args[0]):
		fmt.Fprint(out, p.Usage(""))
		return nil
	case p.Version != nil && (args[0] == "--version" || args[0] == "-version" || args[0] == "version"):
		return p.Version(out)
	}
	var cmd *Command
	words := 0
	for _, c := range p.Commands {
		w := strings.Fields(c.Path)
		if len(w) <= len(args) && slices.Equal(w, args[:len(w)]) {
			cmd, words = c, len(w)
		}
	}
	if cmd != nil {
		return cmd.exec(ctx, p, args[words:], out)
	}
	for _, m := range p.Moved {
		w := strings.Fields(m.Path)
		if len(w) <= len(args) && slices.Equal(w, args[:len(w)]) {
			return UsageError{Msg: fmt.Sprintf("%q is not a %s command any more: it uses the generated client, which %s never builds; run '%s'", m.Path, p.Name, p.Name, m.To)}
		}
	}
	group := args[0]
	isGroup := slices.ContainsFunc(p.Commands, func(c *Command) bool { return strings.HasPrefix(c.Path, group+" ") })
	switch {
	case !isGroup:
		return UsageError{Msg: fmt.Sprintf("unknown command %q%s", args[0], p.suggest(args[0], "")), Usage: p.shortUsage("")}
	case len(args) > 1 && IsHelp(args[1]):
		fmt.Fprint(out, p.Usage(group))
		return nil
	case len(args) == 1:
		return UsageError{Msg: group + " needs a subcommand", Usage: p.shortUsage(group)}
	}
	return UsageError{Msg: fmt.Sprintf("unknown %s subcommand %q%s", group, args[1], p.suggest(args[1], group)), Usage: p.shortUsage(group)}
}

// suggest is "; did you mean ..." for the closest command word, if any is
// close (a typo, a transposition, a missing or extra letter).
func (p *Program) suggest(word, group string) string {
	best, bestDist := "", 3
	consider := func(candidate, full string) {
		if d := distance(word, candidate); d < bestDist || d == bestDist && best == "" {
			if d <= max(1, len(candidate)/3) {
				best, bestDist = full, d
			}
		}
	}
	for _, c := range p.Commands {
		w := strings.Fields(c.Path)
		switch {
		case group == "":
			consider(w[0], w[0])
		case w[0] == group && len(w) > 1:
			consider(w[1], c.Path)
		}
	}
	for _, m := range p.Moved {
		if group == "" {
			consider(strings.Fields(m.Path)[0], strings.Fields(m.Path)[0])
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", strings.TrimSpace(p.Name+" "+best))
}

// distance is the Damerau-Levenshtein (optimal string alignment) edit
// distance: a swapped pair of letters counts as one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// exec parses the command's flags (anywhere among its arguments), checks
// the positional count and runs it. -h prints the help to out.
func (c *Command) exec(ctx context.Context, p *Program, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(p.Name+" "+c.Path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runner := c.Setup(fs)
	short := fmt.Sprintf("Usage: %s %s [flags]; '%s %s -h' lists the flags.", p.Name, strings.TrimSpace(c.Path+" "+c.Args), p.Name, c.Path)
	pos, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(out, c.helpText(p, fs))
		return nil
	case err != nil:
		return UsageError{Msg: c.Path + ": " + err.Error() + flagSuggestion(fs, err), Usage: short}
	case len(pos) < c.NArgs[0] || len(pos) > c.NArgs[1]:
		msg := fmt.Sprintf("unexpected argument %q", strings.Join(pos, " "))
		if len(pos) < c.NArgs[0] {
			msg = "missing " + c.Args
		}
		return UsageError{Msg: c.Path + ": " + msg, Usage: short}
	}
	return runner(ctx, pos, out)
}

// flagSuggestion is "; did you mean -x?" for an undefined flag close to a
// defined one.
func flagSuggestion(fs *flag.FlagSet, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return ""
	}
	best, bestDist := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if d := distance(name, f.Name); d < bestDist && d <= max(1, len(f.Name)/3) {
			best, bestDist = f.Name, d
		}
	})
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean --%s?", best)
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments ("migrate diff NAME --dev-url X"); "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func (c *Command) helpText(p *Program, fs *flag.FlagSet) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Usage: %s %s [flags]\n\n%s\n", p.Name, strings.TrimSpace(c.Path+" "+c.Args), c.Summary)
	if c.Help != "" {
		fmt.Fprintf(&b, "\n%s\n", c.Help)
	}
	b.WriteString("\nFlags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	b.WriteString("\n" + p.Environment)
	return b.String()
}

// Format is the --format flag of commands with machine-readable output.
type Format struct{ json bool }

// FormatFlag registers --format text|json and its shorthand --json.
func FormatFlag(fs *flag.FlagSet) *Format {
	f := &Format{}
	fs.Func("format", "output format: text or json (one JSON document on stdout)", func(v string) error {
		switch v {
		case "text":
			f.json = false
		case "json":
			f.json = true
		default:
			return fmt.Errorf("want text or json, got %q", v)
		}
		return nil
	})
	fs.BoolFunc("json", "same as --format json", func(string) error { f.json = true; return nil })
	return f
}

// JSON reports whether JSON output was asked for.
func (f *Format) JSON() bool { return f != nil && f.json }

// WriteJSON writes v as one indented JSON document.
func WriteJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
