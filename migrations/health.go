package migrations

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// ErrAhead matches an *AheadError: the database has migrations applied
// that this binary does not know, so its queries may not fit the schema.
var ErrAhead = errors.New("migrations: the database is ahead of this binary's migrations")

// AheadError names the applied versions newer than the newest file this
// binary embeds. Apply returns it unless Options.AllowAhead is set (an
// expand/contract rollout where old binaries keep running).
type AheadError struct {
	Newest   string   // this binary's newest file
	Versions []string // applied in the database, unknown here, newer than Newest
}

func (e *AheadError) Error() string {
	return fmt.Sprintf("migrations: the database has newer migrations applied than this binary knows (newest here %s): %s",
		e.Newest, strings.Join(e.Versions, ", "))
}

// Is lets errors.Is(err, ErrAhead) match.
func (e *AheadError) Is(target error) bool { return target == ErrAhead }

// Versions compares the database with dir (nil: the embedded files).
type Versions struct {
	Current string   // newest applied version in the database ("" if none)
	Newest  string   // newest file of the directory
	Pending []string // files not applied yet: the database is behind
	Ahead   []string // applied versions newer than every file: the database is ahead
}

// Compare reads the revision table (without locking) and compares it with
// dir. A database never migrated has every file pending.
func Compare(ctx context.Context, db schema.ExecQuerier, dir migrate.Dir) (*Versions, error) {
	files, revs, err := history(ctx, db, dir)
	if err != nil {
		return nil, err
	}
	return compare(files, revs), nil
}

func compare(files []migrate.File, revs []*migrate.Revision) *Versions {
	v := &Versions{}
	applied := map[string]bool{}
	baseline := ""
	for _, r := range revs {
		if r.Error == "" && r.Applied >= r.Total {
			applied[r.Version] = true
		}
		if r.Type.Has(migrate.RevisionTypeBaseline) && r.Version > baseline {
			baseline = r.Version
		}
		v.Current = max(v.Current, r.Version)
	}
	newest := ""
	known := map[string]bool{}
	for _, f := range files {
		known[f.Version()] = true
		newest = max(newest, f.Version())
		if !applied[f.Version()] && f.Version() > baseline {
			v.Pending = append(v.Pending, f.Version())
		}
	}
	for _, r := range revs {
		if !known[r.Version] && r.Version > newest {
			v.Ahead = append(v.Ahead, r.Version)
		}
	}
	slices.Sort(v.Ahead)
	v.Newest = newest
	return v
}

// AheadErr returns an *AheadError when the database is ahead, else nil.
func (v *Versions) AheadErr() error {
	if len(v.Ahead) == 0 {
		return nil
	}
	return &AheadError{Newest: v.Newest, Versions: v.Ahead}
}

// lockKey is the advisory lock key the Atlas driver (and the official
// CLI) derive from LockName.
func lockKey() int64 {
	h := fnv.New32()
	h.Write([]byte(LockName))
	return int64(h.Sum32())
}

// LockHolder is the session holding the migration lock.
type LockHolder struct {
	PID             int
	ApplicationName string
	Since           time.Time // start of the holder's session
	State, Query    string    // what it runs now
}

func (h *LockHolder) String() string {
	return fmt.Sprintf("pid %d (%s) since %s", h.PID, cmpOr(h.ApplicationName, "no application_name"), h.Since.UTC().Format(time.RFC3339))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Holder returns the session holding the migration lock, or nil when it is
// free.
func Holder(ctx context.Context, db schema.ExecQuerier) (*LockHolder, error) {
	rows, err := db.QueryContext(ctx, `SELECT a.pid, coalesce(a.application_name, ''), a.backend_start,
			coalesce(a.state, ''), coalesce(a.query, '')
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid = 0 AND l.objid::bigint = $1 AND l.objsubid = 1
		LIMIT 1`, lockKey())
	if err != nil {
		return nil, fmt.Errorf("migrations: read the lock holder: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	h := &LockHolder{}
	if err := rows.Scan(&h.PID, &h.ApplicationName, &h.Since, &h.State, &h.Query); err != nil {
		return nil, err
	}
	return h, rows.Err()
}

// LockedError is ErrLocked naming the session that held the lock.
type LockedError struct{ Holder *LockHolder }

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return ErrLocked.Error()
	}
	return ErrLocked.Error() + ": held by " + e.Holder.String()
}

// Is lets errors.Is(err, ErrLocked) match.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
