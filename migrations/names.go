package migrations

import (
	"errors"
	"fmt"
	"regexp"

	"ariga.io/atlas/sql/migrate"
)

// ErrBadName matches (errors.Is) a migration name, or a file name in the
// directory, outside the naming rule.
var ErrBadName = errors.New("migrations: bad migration name")

// NameRule is the naming rule, as users read it.
const NameRule = "lower-case letters, digits and underscores (e.g. add_campaign_budget)"

var (
	nameRE = regexp.MustCompile(`^[a-z0-9_]{1,100}$`)
	fileRE = regexp.MustCompile(`^[0-9]+(_[a-z0-9_]+)?\.sql$`)
)

// CheckName accepts a name for a new migration file: the rule keeps paths
// ("../x"), spaces and shell or SQL punctuation out of file names.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use %s", ErrBadName, name, NameRule)
	}
	return nil
}

// CheckFileNames refuses a directory holding a .sql file whose name is not
// VERSION_name.sql with a numeric version: tools would order it by a
// non-version and apply it at the wrong place, or never.
func CheckFileNames(dir migrate.Dir) error {
	files, err := dir.Files()
	if err != nil {
		return err
	}
	for _, f := range files {
		if !fileRE.MatchString(f.Name()) {
			return fmt.Errorf("%w: file %q is not VERSION_name.sql (a numeric version, then %s)", ErrBadName, f.Name(), NameRule)
		}
	}
	return nil
}

// Rehash rewrites dir's atlas.sum for its current files (after a file was
// written or deliberately edited).
func Rehash(dir migrate.Dir) error {
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return migrate.WriteSumFile(dir, sum)
}
