package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/migrate/dev"
)

// decider settles the dropped columns and tables of a diff: --rename and
// --allow-drop first; what they leave is asked on a terminal (in, a
// character device), else refused with the flags that would settle it.
func (f *migrateFlags) decider(in *os.File, prompt io.Writer) (dev.Decide, error) {
	renames := map[string]string{}
	for _, r := range f.renames {
		from, to, ok := strings.Cut(r, "=")
		if !ok || from == "" || to == "" || strings.Contains(to, ".") {
			return nil, cli.UsageError{Msg: fmt.Sprintf("--rename %q: want TABLE.OLD=NEW for a column, TABLE=NEW for a table", r)}
		}
		renames[from] = to
	}
	allowed := map[string]bool{}
	for _, a := range f.allowDrops {
		allowed[a] = true
	}
	var ask func(dev.Drop) (dev.Decision, error)
	if term.IsTerminal(int(in.Fd())) {
		r := bufio.NewReader(in)
		ask = func(d dev.Drop) (dev.Decision, error) { return askDrop(r, prompt, d) }
	}
	return func(drops []dev.Drop) ([]dev.Decision, error) {
		out := make([]dev.Decision, len(drops))
		var undecided []dev.Drop
		used := map[string]bool{}
		for i, d := range drops {
			switch to, ok := renames[d.String()]; {
			case ok:
				out[i], used[d.String()] = dev.Decision{RenameTo: to}, true
			case allowed[d.String()]:
				used[d.String()] = true
			case ask != nil:
				var err error
				if out[i], err = ask(d); err != nil {
					return nil, err
				}
			default:
				undecided = append(undecided, d)
			}
		}
		flagged := f.allowDrops
		for k := range renames {
			flagged = append(flagged, k)
		}
		for _, flagged := range flagged {
			if !used[flagged] {
				return nil, cli.UsageError{Msg: fmt.Sprintf("%q is neither a dropped column (TABLE.COLUMN) nor a dropped table of this diff", flagged)}
			}
		}
		if len(undecided) > 0 {
			return nil, &dev.DropsError{Drops: undecided}
		}
		return out, nil
	}, nil
}

// askDrop asks on the terminal what a drop is: a rename to one of its
// candidates, or a drop.
func askDrop(r *bufio.Reader, w io.Writer, d dev.Drop) (dev.Decision, error) {
	for {
		fmt.Fprintf(w, "\n%s %s (%s) is gone from the schema.\n", d.Kind(), d, d.Type)
		for i, c := range d.Candidates {
			fmt.Fprintf(w, "  %d) rename it to %s (the data is kept)\n", i+1, c)
		}
		fmt.Fprintf(w, "  d) drop it (its data is lost)\n  q) quit, write nothing\nchoice: ")
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return dev.Decision{}, fmt.Errorf("no answer for %s: %w", d, err)
		}
		switch answer := strings.TrimSpace(strings.ToLower(line)); answer {
		case "d", "drop":
			return dev.Decision{}, nil
		case "q", "quit":
			return dev.Decision{}, fmt.Errorf("stopped at %s: nothing written", d)
		default:
			if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(d.Candidates) {
				return dev.Decision{RenameTo: d.Candidates[n-1]}, nil
			}
			if slices.Contains(d.Candidates, answer) {
				return dev.Decision{RenameTo: answer}, nil
			}
		}
	}
}
