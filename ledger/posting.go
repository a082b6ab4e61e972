package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/internal/runtime/readonly"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
)

// Posting is one movement of credits a caller asks for.
type Posting struct {
	Kind   creditledgerentry.Kind
	Amount int64 // signed credit minor units, never zero
	// IdempotencyKey names the movement: posting it again returns the
	// original entry and changes nothing. Required, at most 128 characters.
	IdempotencyKey string
	Description    string // at most 500 characters
	Metadata       map[string]any
	// Optional links; each must be a row of the viewer's tenant.
	TopupOrderID string
	LLMCallID    string
	ActivityID   string
	// TenantID is the tenant whose credits move. The system viewer must
	// set it; a tenant viewer may leave it empty or set its own id.
	TenantID string
}

// Idempotency key prefixes reserved to the system viewer: the keys of an
// order's credit and reversal (billing) and of plan grants. A tenant that
// could post under them would block the system's own posting (a usage
// under an order's reversal key would make the refund conflict).
const (
	KeyPrefixTopup    = "topup:"
	KeyPrefixReversal = "topup-reversal:"
	KeyPrefixGrant    = "grant:"
)

// authorize applies the authority table (docs/LEDGER.md) to a posting and
// returns the tenant whose credits move and whether the system moves them.
// Only usage, the tenant's own spending, is open to a tenant viewer; every
// kind that mints credits (topup, grant, refund, adjustment) or takes them
// back on the platform's decision (expiry, reversal) is the system's.
func authorize(ctx context.Context, p *Posting) (tenant string, system bool, err error) {
	v, ok := privacy.FromContext(ctx)
	switch {
	case !ok:
		return "", false, fmt.Errorf("ledger: %w", privacy.ErrNoViewer)
	case v.System:
		if !privacy.IsTenantID(p.TenantID) {
			return "", true, invalid(ErrInvalidInput, "the system viewer must name a tenant, got %q", p.TenantID)
		}
		return p.TenantID, true, nil
	case p.TenantID != "" && p.TenantID != v.TenantID:
		return "", false, fmt.Errorf("ledger: posting for tenant %q: %w", p.TenantID, privacy.ErrTenantMismatch)
	case p.Kind != creditledgerentry.KindUsage:
		return "", false, fmt.Errorf("ledger: a %s entry: %w", p.Kind, privacy.ErrSystemOnly)
	case p.TopupOrderID != "":
		return "", false, fmt.Errorf("ledger: an entry linked to a topup order: %w", privacy.ErrSystemOnly)
	}
	for _, prefix := range []string{KeyPrefixTopup, KeyPrefixReversal, KeyPrefixGrant} {
		if strings.HasPrefix(p.IdempotencyKey, prefix) {
			return "", false, fmt.Errorf("ledger: idempotency key prefix %q: %w", prefix, privacy.ErrSystemOnly)
		}
	}
	return v.TenantID, false, nil
}

// Entry is a ledger entry as stored. It is detached from the Ent client:
// load edges through the client, not through Entry's Query methods.
type Entry struct {
	*ent.CreditLedgerEntry
	// Replayed is true when the key had already been applied: the entry is
	// the original one and nothing was written now.
	Replayed bool
}

// Column limits of credit_ledger_entries, checked before any SQL runs.
const (
	maxKeyLen         = 128
	maxDescriptionLen = 500
	maxActorLen       = 100
)

// sign says which amounts a kind accepts: credits add, debits subtract,
// an adjustment goes either way.
func sign(k creditledgerentry.Kind) (int, error) {
	switch k {
	case creditledgerentry.KindTopup, creditledgerentry.KindGrant, creditledgerentry.KindRefund:
		return 1, nil
	case creditledgerentry.KindUsage, creditledgerentry.KindExpiry, creditledgerentry.KindReversal:
		return -1, nil
	case creditledgerentry.KindAdjustment:
		return 0, nil
	}
	return 0, invalid(ErrInvalidKind, "%q", string(k))
}

// validate checks everything Go can check, so that bad input never reaches
// the database.
func (p *Posting) validate() error {
	if err := inputError(input.Fields("ledger.Posting", input.F("TenantID", p.TenantID), input.F("Kind", p.Kind),
		input.F("IdempotencyKey", p.IdempotencyKey), input.F("Description", p.Description),
		input.F("Metadata", p.Metadata), input.F("TopupOrderID", p.TopupOrderID),
		input.F("LLMCallID", p.LLMCallID), input.F("ActivityID", p.ActivityID))); err != nil {
		return err
	}
	s, err := sign(p.Kind)
	if err != nil {
		return err
	}
	switch {
	case p.Amount == 0:
		return invalid(ErrInvalidAmount, "zero")
	case p.Amount == math.MinInt64:
		return invalid(ErrInvalidAmount, "%d cannot be negated", p.Amount)
	case s > 0 && p.Amount < 0, s < 0 && p.Amount > 0:
		return invalid(ErrInvalidAmount, "%s must be %s, got %d", p.Kind, map[int]string{1: "positive", -1: "negative"}[s], p.Amount)
	}
	if err := checkKey(p.IdempotencyKey); err != nil {
		return err
	}
	if utf8.RuneCountInString(p.Description) > maxDescriptionLen {
		return invalid(ErrInvalidInput, "description longer than %d characters", maxDescriptionLen)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return invalid(ErrInvalidKey, "empty")
	}
	if utf8.RuneCountInString(key) > maxKeyLen {
		return invalid(ErrInvalidKey, "longer than %d characters", maxKeyLen)
	}
	return nil
}

// Post applies p to the balance of the tenant in ctx (or, for the system
// viewer, of p.TenantID) and returns the entry. It is one SQL statement:
// the balance row is locked, the tenant's state checked, the entry
// inserted and the balance updated together, or nothing is written. A
// tenant viewer may post usage only (privacy.ErrSystemOnly otherwise); a
// tenant that does not exist, is deleted or (for a tenant viewer) not
// active gets privacy.ErrTenantInactive.
func (l *Ledger) Post(ctx context.Context, p Posting) (*Entry, error) {
	return l.post(ctx, l.db, p, nil)
}

// PostTx is Post inside the caller's transaction, for postings that must
// commit or roll back with other writes (billing). The balance row stays
// locked until tx ends.
func (l *Ledger) PostTx(ctx context.Context, tx *sql.Tx, p Posting) (*Entry, error) {
	return l.post(ctx, tx, p, nil)
}

// statuses of the posting statement.
const (
	stInserted    = "inserted"
	stExisting    = "existing"
	stNoBalance   = "no_balance"
	stBadLink     = "bad_link"
	stInsufficent = "insufficient"
	stRaced       = "raced"
	stInactive    = "inactive"
	stError       = "error" // ledger_post_batch: the posting's write raised an error
)

// post runs the posting statement, with the LLM call insert when call is
// set. Outside the common case it takes at most a few more round trips:
// the tenant's first posting creates the balance row, and a duplicate that
// raced the original reads it back.
//
// Outside a caller's transaction a posting is rerun after a failover,
// a lost connection or a serialization failure (retry.Do): its key makes
// it idempotent, and a rerun whose first attempt had committed returns
// that entry with Replayed set. Inside one (PostTx) the caller's
// transaction is gone with the connection: the caller reruns it.
func (l *Ledger) post(ctx context.Context, q querier, p Posting, call *LLMCall) (e *Entry, err error) {
	if _, inTx := q.(*sql.Tx); inTx {
		e, err = l.postOnce(ctx, q, p, call)
	} else {
		_, err = retry.Do(ctx, func(ctx context.Context) error {
			e, err = l.postOnce(ctx, q, p, call)
			return err
		})
	}
	observe(ctx, p.Kind, e, err)
	return e, err
}

// prepared is a posting that passed every check Go makes: its tenant,
// whether the system posts, and the posting statement's values.
type prepared struct {
	tenant, id, key, kind                       string
	system                                      bool
	amount                                      int64
	desc, actor, meta, order, llmCall, activity sql.NullString
}

// args are the posting statement's parameters $1..$11.
func (pp *prepared) args() []any {
	return []any{pp.tenant, pp.key, pp.id, pp.kind, pp.amount, pp.desc, pp.actor, pp.meta, pp.order, pp.llmCall, pp.activity}
}

// prepare validates and authorizes p and builds its statement arguments.
func prepare(ctx context.Context, p *Posting) (*prepared, error) {
	if readonly.Is(ctx) {
		return nil, fmt.Errorf("ledger: posting %q: %w", p.IdempotencyKey, readonly.ErrWrite)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	actor := actorOf(ctx)
	if err := inputError(input.Text("ledger.Posting", "actor", actor)); err != nil {
		return nil, err
	}
	tenant, system, err := authorize(ctx, p)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(actor) > maxActorLen {
		return nil, invalid(ErrInvalidInput, "actor longer than %d characters", maxActorLen)
	}
	meta, err := jsonArg(p.Metadata)
	if err != nil {
		return nil, err
	}
	return &prepared{tenant: tenant, system: system, id: cuid.New(), key: p.IdempotencyKey, kind: string(p.Kind), amount: p.Amount,
		desc: nullable(p.Description), actor: nullable(actor), meta: meta,
		order: nullable(p.TopupOrderID), llmCall: nullable(p.LLMCallID), activity: nullable(p.ActivityID)}, nil
}

func (l *Ledger) postOnce(ctx context.Context, q querier, p Posting, call *LLMCall) (*Entry, error) {
	pp, err := prepare(ctx, &p)
	if err != nil {
		return nil, err
	}
	tenant, system, args := pp.tenant, pp.system, pp.args()
	stmt := postSQL[system]
	if call != nil {
		stmt = postCallSQL[system]
		args = append(args, call.args()...)
	}
	// On Citus, outside a caller's transaction (where Citus does not
	// delegate a function), the posting is one delegated function call.
	if _, inTx := q.(*sql.Tx); !inTx {
		citus, err := l.onCitus(ctx)
		if err != nil {
			return nil, err
		}
		if citus {
			stmt, args = postFuncSQL, append(pp.args(), system)
			if call != nil {
				args = append(args, call.args()...)
			} else {
				args = append(args, noCall...)
			}
		}
	}
	for attempt := 0; attempt < 3; attempt++ {
		stat, e, balance, err := scanEntry(l.queryRowPoint(ctx, q, stmt, args...))
		if err != nil {
			err = dbError(err)
			if _, inTx := q.(*sql.Tx); !inTx && errors.Is(err, ErrInvalidAmount) {
				// The statement computes balance + amount before ON
				// CONFLICT skips a known key: near the int64 limit a
				// replay overflows. A key already applied still replays.
				if status, e, _, rerr := scanEntry(l.queryRowPoint(ctx, q, entryByKeySQL, tenant, p.IdempotencyKey)); rerr == nil && status == stExisting {
					return replay(e, p)
				}
			}
			return nil, err
		}
		switch stat {
		case stInserted:
			return &Entry{CreditLedgerEntry: e}, nil
		case stExisting:
			return replay(e, p)
		case stInactive:
			return nil, inactive(tenant)
		case stNoBalance:
			if _, err := l.ensureBalance(ctx, q, tenant, system); err != nil {
				return nil, err
			}
		case stBadLink, stInsufficent, stRaced:
			// The key may have been applied by a duplicate that committed
			// while this statement waited for the balance lock, after its
			// snapshot: read it with a new one before answering.
			status, e, _, err := scanEntry(l.queryRowPoint(ctx, q, entryByKeySQL, tenant, p.IdempotencyKey))
			if err == nil && status == stExisting {
				racedReads.Add(1)
				return replay(e, p)
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, dbError(err)
			}
			switch {
			case stat == stBadLink:
				return nil, ErrInvalidLink
			case stat == stInsufficent:
				return nil, &InsufficientError{Balance: balance, Amount: p.Amount}
			case call != nil:
				return nil, invalid(ErrIdempotencyConflict, "LLM call %q already recorded without this debit", call.RefID)
			}
		default:
			return nil, fmt.Errorf("ledger: unexpected posting status %q", stat)
		}
	}
	return nil, errors.New("ledger: posting neither applied nor found after retries")
}

// racedReads counts duplicates found only by the second read: they raced
// their original. Tests check the path is exercised.
var racedReads atomic.Int64

// replay returns the original entry of a key, or a conflict when the new
// posting differs in what matters.
func replay(e *ent.CreditLedgerEntry, p Posting) (*Entry, error) {
	if e.Kind != p.Kind || e.Amount != p.Amount {
		return nil, invalid(ErrIdempotencyConflict, "key %q was applied as %s %d, now %s %d",
			p.IdempotencyKey, e.Kind, e.Amount, p.Kind, p.Amount)
	}
	return &Entry{CreditLedgerEntry: e, Replayed: true}, nil
}

// ensureBalance creates the tenant's balance row if missing and the tenant
// passes the gate; concurrent callers all succeed and exactly one row
// exists. ok is false when the gate refused.
func (l *Ledger) ensureBalance(ctx context.Context, q querier, tenant string, system bool) (ok bool, err error) {
	err = l.queryRowPoint(ctx, q, `WITH t AS MATERIALIZED (SELECT `+tenantGate("$2", system)+` AS ok),
	ins AS (
		INSERT INTO credit_balances (id, ref_id, tenant_id, created_at, updated_at, balance, last_seq)
		SELECT $1, 'credit-balance', $2, now(), now(), 0, 0 FROM t WHERE t.ok
		ON CONFLICT DO NOTHING -- either unique index: the row exists
	)
	SELECT ok FROM t`, cuid.New(), tenant).Scan(&ok)
	return ok, dbError(err)
}

// dbError maps the database's refusals to the typed errors.
func dbError(err error) error {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "22003": // numeric_value_out_of_range
		return fmt.Errorf("%w: balance would overflow int64 (%s)", ErrInvalidAmount, pgErr.Message)
	case "23505":
		if idErr := input.IDConflict(err); idErr != nil {
			return idErr // a caller-chosen id (LLMCall.ID) already used, by any tenant
		}
		// (tenant_id, llm_call_id) since the Citus keys; on Citus the
		// worker names the shard's index in the message only.
		if strings.Contains(pgErr.ConstraintName+" "+pgErr.Message, "llm_call_id_key") {
			return invalid(ErrIdempotencyConflict, "the LLM call already has a usage entry")
		}
	case "22001": // string_data_right_truncation
		return fmt.Errorf("%w: %s", ErrInvalidInput, pgErr.Message)
	}
	return err
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func jsonArg(m map[string]any) (sql.NullString, error) {
	if m == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return sql.NullString{}, invalid(ErrInvalidInput, "metadata: %v", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}
