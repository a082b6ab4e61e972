// Package page pages through Ent lists with keyset cursors: every page costs the same, however deep.
package page

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/privacy"
)

// MaxLimit is the largest page: a list never returns more rows at once.
const MaxLimit = 200

// ErrCursor matches a cursor that is malformed, made for another list
// order, or made for another viewer.
var ErrCursor = errors.New("page: invalid cursor")

// ErrLimit matches a page size outside 1..MaxLimit.
var ErrLimit = errors.New("page: limit out of range")

// Order is a list's keyset: a NOT NULL timestamp column, then the id as the
// tie-breaker, both in the same direction. A tenant-leading index on
// (tenant_id, Column) serves it in order.
type Order struct {
	Column string
	Desc   bool
}

// Newest lists by creation, newest first.
var Newest = Order{Column: "created_at", Desc: true}

// ByID orders by the id alone: the primary key (tenant_id, id) serves it
// in order for every entity, so any list can page in bounded reads
// without an index of its own; ids are cuids, so the order is roughly
// creation's. Its key's time is ignored.
func ByID(desc bool) Order { return Order{Column: "id", Desc: desc} }

// Page is one page of rows and the cursor of the next ("" on the last).
type Page[T any] struct {
	Rows []T
	Next string
}

// Fetch runs the caller's Ent query with the page's predicate, order and
// limit; where and order convert to any entity's predicate and order
// option: q.Where(where).Order(order).Limit(limit).All(ctx).
type Fetch[T any] func(where, order func(*sql.Selector), limit int) ([]T, error)

// List returns the page after cursor ("" for the first) of at most limit
// rows; key gives a row's (Column value, id). The cursor is opaque to
// callers and bound to the viewer of ctx: another tenant's cursor is
// refused (ErrCursor), never followed.
func List[T any](ctx context.Context, o Order, cursor string, limit int, key func(T) (time.Time, string), fetch Fetch[T]) (*Page[T], error) {
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: %d (want 1..%d)", ErrLimit, limit, MaxLimit)
	}
	owner := viewerOf(ctx)
	where := func(*sql.Selector) {}
	if cursor != "" {
		at, id, err := decode(cursor, owner, o)
		if err != nil {
			return nil, err
		}
		where = func(s *sql.Selector) {
			c, i := s.C(o.Column), s.C("id")
			if o.Column == "id" {
				if o.Desc {
					s.Where(sql.LT(i, id))
				} else {
					s.Where(sql.GT(i, id))
				}
				return
			}
			// The first condition is the index's range; the second breaks
			// ties on the column by id.
			if o.Desc {
				s.Where(sql.And(sql.LTE(c, at), sql.Or(sql.LT(c, at), sql.LT(i, id))))
			} else {
				s.Where(sql.And(sql.GTE(c, at), sql.Or(sql.GT(c, at), sql.GT(i, id))))
			}
		}
	}
	order := func(s *sql.Selector) {
		switch {
		case o.Column == "id" && o.Desc:
			s.OrderBy(sql.Desc(s.C("id")))
		case o.Column == "id":
			s.OrderBy(sql.Asc(s.C("id")))
		case o.Desc:
			s.OrderBy(sql.Desc(s.C(o.Column)), sql.Desc(s.C("id")))
		default:
			s.OrderBy(sql.Asc(s.C(o.Column)), sql.Asc(s.C("id")))
		}
	}
	rows, err := fetch(where, order, limit+1)
	if err != nil {
		return nil, err
	}
	p := &Page[T]{Rows: rows}
	if len(rows) > limit {
		p.Rows = rows[:limit]
		at, id := key(p.Rows[limit-1])
		p.Next = encode(owner, o, at, id)
	}
	return p, nil
}

// Cursor returns the cursor of the rows after the row keyed (at, id) in o,
// bound to ctx's viewer like List's: for a caller that stops inside a page
// (one that filters a page's rows itself and has enough).
func Cursor(ctx context.Context, o Order, at time.Time, id string) string {
	return encode(viewerOf(ctx), o, at, id)
}

// viewerOf names the viewer a cursor is bound to.
func viewerOf(ctx context.Context) string {
	v, _ := privacy.FromContext(ctx)
	if v.System {
		return "*system"
	}
	return v.TenantID
}

// A cursor is base64url("v1|viewer|column|direction|unix nanos|id").
func encode(owner string, o Order, at time.Time, id string) string {
	raw := strings.Join([]string{"v1", owner, o.Column, strconv.FormatBool(o.Desc),
		strconv.FormatInt(at.UnixNano(), 10), id}, "|")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decode(cursor, owner string, o Order) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: not a cursor", ErrCursor)
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 6 || f[0] != "v1" {
		return time.Time{}, "", fmt.Errorf("%w: not a cursor", ErrCursor)
	}
	if f[1] != owner {
		return time.Time{}, "", fmt.Errorf("%w: made for another viewer", ErrCursor)
	}
	if f[2] != o.Column || f[3] != strconv.FormatBool(o.Desc) {
		return time.Time{}, "", fmt.Errorf("%w: made for another order", ErrCursor)
	}
	nanos, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil || f[5] == "" {
		return time.Time{}, "", fmt.Errorf("%w: not a cursor", ErrCursor)
	}
	return time.Unix(0, nanos), f[5], nil
}
