// Package migrations embeds the versioned SQL migrations and applies them
// the way the official Atlas CLI does: one transaction per file, under the
// CLI's advisory lock, recorded in its revision table.
package migrations

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

//go:embed *.sql atlas.sum
var files embed.FS

// LockName is the advisory lock the official CLI takes around apply; its
// key is derived by the Atlas PostgreSQL driver, so both tools exclude each
// other.
const LockName = "atlas_migrate_execute"

// Embedded returns the migration directory compiled into the binary.
func Embedded() (migrate.Dir, error) { return FromFS(files) }

// FromFS copies the .sql files and atlas.sum of fsys into a migrate.Dir.
func FromFS(fsys fs.FS) (migrate.Dir, error) {
	dir := &migrate.MemDir{}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		if err := dir.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// Validate checks the directory against its atlas.sum: an edited, added or
// removed file without a re-hash fails with migrate.ErrChecksumMismatch; a
// file named outside the rule fails with ErrBadName.
func Validate(dir migrate.Dir) error {
	if err := CheckFileNames(dir); err != nil {
		return err
	}
	err := migrate.Validate(dir)
	var ce *migrate.ChecksumError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("migrations: %w: %s was %s since atlas.sum was written (atlas.sum line %d); "+
			"if the change is intended and the file has not landed, run 'dbctl migrate hash'", err, ce.File, ce.Reason, ce.Line)
	case errors.Is(err, migrate.ErrChecksumNotFound):
		return fmt.Errorf("migrations: %w: the directory has migration files but no atlas.sum; run 'dbctl migrate hash'", err)
	case err != nil:
		return fmt.Errorf("migrations: %w (re-run the diff or 'dbctl migrate hash' only if the edit is intended)", err)
	}
	return nil
}

// Options tunes Apply. The zero value applies the embedded directory.
type Options struct {
	Dir migrate.Dir // default: Embedded()
	// LockWait is how long to wait for another applier's lock (default 2m).
	LockWait time.Duration
	// StatementLockTimeout bounds how long each statement waits for a table
	// lock (PostgreSQL lock_timeout), so a migration queued behind a long
	// transaction gives up (ErrLockTimeout) instead of stalling the traffic
	// that queues behind it. 0 means DefaultLockTimeout; a negative value
	// keeps the server's setting.
	StatementLockTimeout time.Duration
	// BaselineVersion marks a database that already has the schema up to
	// this version as migrated, without running those files.
	BaselineVersion string
	// AllowDirty applies the files on a database that has tables but no
	// revision history, as the official CLI's --allow-dirty does (the
	// files must cope with what is there); exclusive with BaselineVersion.
	AllowDirty bool
	// Amount, when positive, applies at most that many pending files.
	Amount int
	// ToVersion, when set, applies the pending files up to and including
	// this version, which must be a file of the directory.
	ToVersion string
	// Log receives one line per applied file; nil discards.
	Log func(format string, args ...any)
	// AllowAhead lets Apply succeed on a database with migrations newer
	// than every file of Dir (old binaries during an expand/contract
	// rollout); without it Apply returns an *AheadError.
	AllowAhead bool
}

// Result lists what Apply did.
type Result struct {
	Applied []string // versions applied by this call, in order
	Current string   // newest applied version afterwards
}

// DefaultLockTimeout is the lock_timeout Apply sets when Options leaves it
// zero: long enough for the brief locks of ordinary traffic, short enough
// that the requests queued behind a waiting ALTER TABLE are not stalled
// for long.
const DefaultLockTimeout = 5 * time.Second

// ErrNotClean is returned when the database has tables but no revision
// history and neither BaselineVersion nor AllowDirty is set.
var ErrNotClean = errors.New("migrations: the database has tables but no migration history")

// ErrUnknownVersion is returned when ToVersion names no file.
var ErrUnknownVersion = errors.New("migrations: no migration file has this version")

// ErrLocked is returned when another applier held the lock for LockWait.
var ErrLocked = errors.New("migrations: another migration holds the lock")

// ErrLockTimeout matches (errors.Is) a *FileError whose statement gave up
// waiting for a table lock held by another session (SQLSTATE 55P03).
var ErrLockTimeout = errors.New("migrations: gave up waiting for a lock (lock_timeout)")

// FileError reports a migration file that failed; the transaction was
// rolled back (or, for "-- atlas:txmode none", the statements before Stmt
// stay applied) and the revision table records the error for status.
type FileError struct {
	Version, Stmt string
	Err           error
	// LockTimeout is the lock_timeout in force when the statement gave up
	// waiting for a lock; zero for other failures.
	LockTimeout time.Duration
}

func (e *FileError) Error() string {
	if e.LockTimeout > 0 {
		return fmt.Sprintf("migrations: version %s gave up after waiting %s for a lock at %q: another session holds "+
			"a conflicting lock on the table (see pg_locks); the revision table records the failure: "+
			"retry once the lock is released, or raise the lock timeout: %v",
			e.Version, e.LockTimeout, e.Stmt, e.Err)
	}
	return fmt.Sprintf("migrations: version %s failed at %q: %v", e.Version, e.Stmt, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLockTimeout) true for lock timeouts.
func (e *FileError) Is(target error) bool {
	return target == ErrLockTimeout && isLockNotAvailable(e.Err)
}

// isLockNotAvailable reports SQLSTATE 55P03 from either driver (pgx and
// lib/pq both expose SQLState).
func isLockNotAvailable(err error) bool {
	var st interface{ SQLState() string }
	return errors.As(err, &st) && st.SQLState() == "55P03"
}

// Apply runs every pending file of opts.Dir on db. Concurrent callers
// (replicas starting together, the official CLI) serialize on the lock;
// the later ones find nothing pending. It holds one connection throughout,
// the one that owns the session-level lock, so a pool of one suffices.
func Apply(ctx context.Context, db *sql.DB, opts Options) (_ *Result, err error) {
	dir, err := opts.validDir()
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer conn.Close()
	drv, err := postgres.Open(conn)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	wait := opts.LockWait
	if wait == 0 {
		wait = 2 * time.Minute
	}
	holder, _ := Holder(ctx, conn) // best effort: only for the messages
	if holder != nil {
		opts.logf("waiting for lock held by %s", holder)
	}
	unlock, err := drv.(schema.Locker).Lock(ctx, LockName, wait)
	if err != nil {
		if errors.Is(err, schema.ErrLocked) {
			if h, _ := Holder(ctx, conn); h != nil {
				holder = h
			}
			return nil, &LockedError{Holder: holder}
		}
		return nil, fmt.Errorf("migrations: take lock: %w", err)
	}
	defer func() {
		if unlock() != nil {
			// The session may still hold the lock (say ctx was cancelled):
			// never hand it back to the pool, or it blocks every applier.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := ensureRevisionTable(ctx, conn); err != nil {
		return nil, err
	}
	rrw := revisions{conn: conn}
	if err := checkAhead(ctx, rrw, dir, opts); err != nil {
		return nil, err
	}
	var exOpts []migrate.ExecutorOption
	if opts.BaselineVersion != "" {
		exOpts = append(exOpts, migrate.WithBaselineVersion(opts.BaselineVersion))
	}
	if opts.AllowDirty {
		exOpts = append(exOpts, migrate.WithAllowDirty(true))
	}
	ex, err := migrate.NewExecutor(drv, dir, rrw, exOpts...)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	pending, err := ex.Pending(ctx)
	switch {
	case errors.Is(err, migrate.ErrNoPendingFiles):
		if err := distribute(ctx, conn, opts); err != nil {
			return res, err
		}
		res.Current, err = currentVersion(ctx, rrw)
		return res, err
	case errors.As(err, new(*migrate.NotCleanError)):
		return nil, fmt.Errorf("%w (%w): when its schema already matches a version, baseline it "+
			"(BaselineVersion, dbctl --baseline VERSION); to run every file on top of what is there, AllowDirty (--allow-dirty)", ErrNotClean, err)
	case err != nil:
		return nil, fmt.Errorf("migrations: %w", err)
	}
	pending = opts.limit(pending)
	for _, f := range pending {
		start := time.Now()
		if err := applyFile(ctx, conn, dir, f, opts.lockTimeout()); err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, f.Version())
		opts.logf("applied %s (%s)", f.Name(), time.Since(start).Round(time.Millisecond))
	}
	if err := distribute(ctx, conn, opts); err != nil {
		return res, err
	}
	res.Current, err = currentVersion(ctx, rrw)
	return res, err
}

// distribute places, on Citus, the tables the files created (a no-op
// elsewhere); a retry of Apply finishes what a failed run left.
func distribute(ctx context.Context, conn *sql.Conn, opts Options) error {
	placed, err := Distribute(ctx, conn)
	for _, d := range placed {
		opts.logf("citus: %s is a %s table", d.Table, d.Type)
	}
	return err
}

// applyFile runs one file in its own transaction, or on the connection
// without one when the file says "-- atlas:txmode none".
func applyFile(ctx context.Context, conn *sql.Conn, dir migrate.Dir, f migrate.File, lockTimeout time.Duration) error {
	if txNone(f) {
		if err := setLockTimeout(ctx, conn, "SET", lockTimeout); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "RESET lock_timeout")
		// The executor recorded the error in the revision (its applied count
		// says where a retry resumes); only the returned error is shaped here.
		if err := execute(ctx, conn, dir, f); err != nil {
			return fileError(f, err, lockTimeout)
		}
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := setLockTimeout(ctx, tx, "SET LOCAL", lockTimeout); err != nil {
		tx.Rollback()
		return err
	}
	// A failed earlier attempt left a revision with nothing applied: start
	// afresh so its counts and hash follow the (fixed) file.
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+revisionTableSQL+` WHERE version = $1 AND applied = 0`, f.Version()); err != nil {
		tx.Rollback()
		return err
	}
	if err := execute(ctx, tx, dir, f); err != nil {
		tx.Rollback()
		// The failed attempt's revision rolled back with the tx: record the
		// error outside it so status shows what broke, as the CLI does.
		return recordFailure(ctx, revisions{conn: conn}, dir, f, fileError(f, err, lockTimeout))
	}
	return tx.Commit()
}

// fileError turns an execution error into a *FileError naming the statement.
func fileError(f migrate.File, err error, lockTimeout time.Duration) *FileError {
	fe := &FileError{Version: f.Version(), Err: err}
	var se *migrate.StmtExecError
	if errors.As(err, &se) {
		fe.Stmt, fe.Err = se.Stmt.Text, se.Err
	}
	if isLockNotAvailable(fe.Err) {
		fe.LockTimeout = lockTimeout
	}
	return fe
}

func execute(ctx context.Context, conn schema.ExecQuerier, dir migrate.Dir, f migrate.File) error {
	drv, err := postgres.Open(conn)
	if err != nil {
		return err
	}
	ex, err := migrate.NewExecutor(drv, dir, revisions{conn: conn})
	if err != nil {
		return err
	}
	return ex.Execute(ctx, f)
}

func recordFailure(ctx context.Context, rrw revisions, dir migrate.Dir, f migrate.File, fe *FileError) error {
	stmts, _ := f.StmtDecls()
	sum, _ := dir.Checksum()
	hash, _ := sum.SumByName(f.Name())
	rev := &migrate.Revision{
		Version: f.Version(), Description: f.Desc(), Type: migrate.RevisionTypeExecute,
		Total: len(stmts), ExecutedAt: time.Now(), Hash: hash,
		Error: fe.Err.Error(), ErrorStmt: fe.Stmt,
	}
	if err := rrw.WriteRevision(context.WithoutCancel(ctx), rev); err != nil {
		return errors.Join(fe, fmt.Errorf("migrations: record failure: %w", err))
	}
	return fe
}

func setLockTimeout(ctx context.Context, conn schema.ExecQuerier, verb string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	_, err := conn.ExecContext(ctx, fmt.Sprintf("%s lock_timeout = '%dms'", verb, d.Milliseconds()))
	return err
}

func txNone(f migrate.File) bool {
	lf, ok := f.(*migrate.LocalFile)
	if !ok {
		return false
	}
	for _, d := range lf.Directive("txmode") {
		if d == "none" {
			return true
		}
	}
	return false
}

// checkAhead refuses a database with migrations newer than dir's.
func checkAhead(ctx context.Context, rrw revisions, dir migrate.Dir, opts Options) error {
	files, err := dir.Files()
	if err != nil {
		return err
	}
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil {
		return err
	}
	ahead := compare(files, revs).AheadErr()
	if ahead != nil && opts.AllowAhead {
		opts.logf("%v (allowed)", ahead)
		return nil
	}
	return ahead
}

func currentVersion(ctx context.Context, rrw revisions) (string, error) {
	revs, err := rrw.ReadRevisions(ctx)
	if err != nil || len(revs) == 0 {
		return "", err
	}
	return revs[len(revs)-1].Version, nil
}

func (o Options) dir() (migrate.Dir, error) {
	if o.Dir != nil {
		return o.Dir, nil
	}
	return Embedded()
}

// validDir is the directory, checked against its atlas.sum, with
// ToVersion naming one of its files.
func (o Options) validDir() (migrate.Dir, error) {
	dir, err := o.dir()
	if err != nil {
		return nil, err
	}
	if err := Validate(dir); err != nil {
		return nil, err
	}
	return dir, o.checkToVersion(dir)
}

// checkToVersion refuses a ToVersion that names no file of dir.
func (o Options) checkToVersion(dir migrate.Dir) error {
	if o.ToVersion == "" {
		return nil
	}
	all, err := dir.Files()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(all, func(f migrate.File) bool { return f.Version() == o.ToVersion }) {
		return fmt.Errorf("%w: %q", ErrUnknownVersion, o.ToVersion)
	}
	return nil
}

// limit keeps the pending files up to ToVersion, then the first Amount.
func (o Options) limit(pending []migrate.File) []migrate.File {
	if o.ToVersion != "" {
		n := 0
		for n < len(pending) && pending[n].Version() <= o.ToVersion {
			n++
		}
		pending = pending[:n]
	}
	if o.Amount > 0 && o.Amount < len(pending) {
		pending = pending[:o.Amount]
	}
	return pending
}

func (o Options) lockTimeout() time.Duration {
	if o.StatementLockTimeout == 0 {
		return DefaultLockTimeout
	}
	return o.StatementLockTimeout
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// FileStatus is one migration file and what the database knows of it.
type FileStatus struct {
	Version, Description string
	State                string // "applied", "pending", "failed", "baseline", "partial"
	Error, ErrorStmt     string // what failed, for "failed" and "partial"
	// AppliedAt is when the file was (last) run; zero when it never was.
	AppliedAt time.Time
}

// Status lists every file of dir with its state in db, without locking.
func Status(ctx context.Context, db *sql.DB, dir migrate.Dir) ([]FileStatus, error) {
	fs, revs, err := history(ctx, db, dir)
	if err != nil {
		return nil, err
	}
	applied := map[string]*migrate.Revision{}
	for _, r := range revs {
		applied[r.Version] = r
	}
	// Files older than a baseline were never run and never will be: the
	// baseline stands for them.
	baseline := ""
	for v, r := range applied {
		if r.Type.Has(migrate.RevisionTypeBaseline) && v > baseline {
			baseline = v
		}
	}
	out := make([]FileStatus, 0, len(fs))
	for _, f := range fs {
		st := FileStatus{Version: f.Version(), Description: f.Desc(), State: "pending"}
		if _, ok := applied[f.Version()]; !ok && f.Version() < baseline {
			st.State = "baseline"
		}
		if r, ok := applied[f.Version()]; ok {
			st.AppliedAt = r.ExecutedAt
			switch {
			case r.Type.Has(migrate.RevisionTypeBaseline):
				st.State = "baseline"
			case r.Error != "":
				st.State, st.Error, st.ErrorStmt = "failed", r.Error, r.ErrorStmt
			case r.Applied < r.Total:
				st.State, st.ErrorStmt = "partial", r.ErrorStmt
			default:
				st.State = "applied"
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Pending lists the files Apply with opts would run now on db, in order,
// without taking the lock or writing anything (a dry run): the files not
// applied yet, a failed one included, limited by ToVersion and Amount.
func Pending(ctx context.Context, db *sql.DB, opts Options) ([]migrate.File, error) {
	dir, err := opts.validDir()
	if err != nil {
		return nil, err
	}
	st, err := Status(ctx, db, dir)
	if err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, err
	}
	var pending []migrate.File
	for i, s := range st {
		if s.State != "applied" && s.State != "baseline" && (opts.BaselineVersion == "" || s.Version > opts.BaselineVersion) {
			pending = append(pending, files[i])
		}
	}
	return opts.limit(pending), nil
}
