package migrations_test

import (
	"regexp"
	"testing"
)

// A dev database is replayed more than once per command (diff, then lint),
// and Atlas' community engine restores it by dropping the tables it saw:
// functions stay. A file that creates a function must therefore replay on
// a database that has it (CREATE OR REPLACE), or dbctl migrate dev, diff and
// lint, and the official CLI on a dev database that is not a container,
// fail with 42723 on the second replay.
func TestFunctionsReplayOnADevDatabase(t *testing.T) {
	plain := regexp.MustCompile(`(?im)^\s*CREATE\s+(FUNCTION|PROCEDURE)\b`)
	for _, f := range embeddedFiles(t) {
		if loc := plain.FindIndex(f.Bytes()); loc != nil {
			t.Errorf("%s: %q: write CREATE OR REPLACE, so a dev database replays it twice", f.Name(), f.Bytes()[loc[0]:loc[1]])
		}
	}
}
