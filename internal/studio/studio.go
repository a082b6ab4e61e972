// Package studio is a tenant-scoped, read-only-by-default, audited data browser served on loopback (datactl studio).
package studio

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/auditlog"
	"github.com/leadmetrics/db/ent/creditbalance"
	_ "github.com/leadmetrics/db/ent/runtime" // the privacy policies and hooks: without them reads would not be scoped
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/page"
	"github.com/leadmetrics/db/privacy"
)

//go:embed assets
var assets embed.FS

// Config is what a studio serves and how.
type Config struct {
	Client *ent.Client
	SQL    *sql.DB // the pool under Client: the ledger's reconciliation reads through it
	Addr   string  // the address served (host:port): the Host header must name it
	Token  string  // the access token (NewToken when empty)
	Write  bool    // edits allowed (through the layer, confirmed, audited)
	System bool    // the all-tenants system view offered
	Actor  string  // who, in the audit log
	// AuditEvery is how often batched page views are written (default 2s).
	AuditEvery time.Duration
	Log        io.Writer // request lines (paths only) and audit failures
	PageSize   int       // rows per list page (default 50)
}

// Server is a studio: an http.Handler behind the access guard.
type Server struct {
	cfg     Config
	access  *access
	handler http.Handler
	pages   map[string]*template.Template
	audit   *auditor
	ledger  *ledger.Ledger

	mu         sync.Mutex
	reconciled map[string]reconcileResult
}

type reconcileResult struct {
	At     time.Time
	OK     bool
	Report string
	Err    string
}

// systemTenant is the URL's tenant segment of the all-tenants view.
const systemTenant = "_all"

// New builds a studio; Close writes the pending audit records.
func New(cfg Config) (*Server, error) {
	if cfg.Client == nil || cfg.SQL == nil {
		return nil, errors.New("studio: no database")
	}
	if cfg.Token == "" {
		cfg.Token = NewToken()
	}
	if cfg.AuditEvery <= 0 {
		cfg.AuditEvery = 2 * time.Second
	}
	if cfg.PageSize <= 0 || cfg.PageSize > page.MaxLimit {
		cfg.PageSize = 50
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Actor == "" {
		cfg.Actor = "studio"
	}
	a, err := newAccess(cfg.Token, cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, access: a, pages: map[string]*template.Template{}, reconciled: map[string]reconcileResult{},
		ledger: ledger.New(cfg.Client, cfg.SQL)}
	funcs := template.FuncMap{"csrf": func() string { return a.csrf }, "write": func() bool { return cfg.Write }}
	for _, p := range []string{"tenants", "tenant", "list", "row", "confirm", "ledger", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html", "assets/"+p+".html")
		if err != nil {
			return nil, err
		}
		s.pages[p] = t
	}
	mux := http.NewServeMux()
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("GET /{$}", s.tenants)
	mux.HandleFunc("GET /t/{tenant}/{$}", s.tenant)
	mux.HandleFunc("GET /t/{tenant}/ledger", s.ledgerPage)
	mux.HandleFunc("POST /t/{tenant}/ledger/reconcile", s.reconcile)
	mux.HandleFunc("GET /t/{tenant}/e/{table}", s.list)
	mux.HandleFunc("GET /t/{tenant}/e/{table}/{id}", s.row)
	mux.HandleFunc("POST /t/{tenant}/e/{table}/{id}/edit", s.edit)
	s.handler = a.wrap(logged(cfg.Log, mux))
	s.audit = newAuditor(cfg.Client, cfg.Actor, cfg.AuditEvery, cfg.Log)
	return s, nil
}

// Token is the access token: the address printed at start carries it once.
func (s *Server) Token() string { return s.cfg.Token }

// ServeHTTP serves the studio.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close writes the page views not yet on the record.
func (s *Server) Close() { s.audit.close() }

// logged prints one line per request: method, path and status, never the
// query (a first request carries the token there).
func logged(out io.Writer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &status{ResponseWriter: w, code: 200}
		next.ServeHTTP(sw, r)
		fmt.Fprintf(out, "%s %s %s %d\n", time.Now().UTC().Format(time.TimeOnly), r.Method, r.URL.Path, sw.code)
	})
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }

// scope is a request's tenant: the viewer every read runs under.
type scope struct {
	ID     string // the tenant id, or systemTenant
	Name   string
	Status string
	System bool
}

func (sc scope) auditTenant() string {
	if sc.System {
		return privacy.PlatformTenantID
	}
	return sc.ID
}

// viewer returns ctx with the scope's viewer: the tenant's, or the
// system's for the all-tenants view (only when the studio offers it).
func (s *Server) viewer(ctx context.Context, sc scope) context.Context {
	ctx = privacy.WithActor(ctx, privacy.ActorUser, s.cfg.Actor)
	if sc.System {
		return privacy.WithSystem(ctx)
	}
	return privacy.WithTenant(ctx, sc.ID)
}

// scopeOf resolves the URL's tenant: a live tenant (read as the system:
// the directory of tenants is the one system read of a tenant page), or
// the system view when it is offered.
func (s *Server) scopeOf(r *http.Request) (scope, error) {
	id := r.PathValue("tenant")
	if id == systemTenant {
		if !s.cfg.System {
			return scope{}, fmt.Errorf("%w: the all-tenants view needs --system", ErrBadInput)
		}
		return scope{ID: id, Name: "all tenants (system view)", System: true}, nil
	}
	t, err := s.cfg.Client.Tenant.Get(privacy.WithSystem(r.Context()), id)
	if err != nil {
		if ent.IsNotFound(err) {
			return scope{}, errNotFound
		}
		return scope{}, err
	}
	return scope{ID: t.ID, Name: t.Name, Status: string(t.Status)}, nil
}

var errNotFound = errors.New("studio: not found")

func (s *Server) render(w http.ResponseWriter, name string, code int, data map[string]any) {
	var b bytes.Buffer
	if err := s.pages[name].Execute(&b, data); err != nil {
		http.Error(w, "studio: template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrReadOnly):
		code = http.StatusForbidden
	case errors.Is(err, ErrBadInput), errors.Is(err, page.ErrCursor), errors.Is(err, page.ErrLimit):
		code = http.StatusBadRequest
	case errors.Is(err, privacy.ErrTenantInactive), errors.Is(err, privacy.ErrImmutable),
		errors.Is(err, privacy.ErrSystemOnly), errors.Is(err, privacy.ErrCrossTenantRef), ent.IsValidationError(err),
		ent.IsConstraintError(err):
		code = http.StatusUnprocessableEntity
	}
	s.render(w, "error", code, map[string]any{"Title": http.StatusText(code), "Code": code, "Error": err.Error()})
}

// tenants is the directory: every live tenant, by id, keyset paged.
func (s *Server) tenants(w http.ResponseWriter, r *http.Request) {
	ctx := privacy.WithSystem(r.Context())
	p, err := page.List(ctx, page.ByID(false), r.URL.Query().Get("after"), s.cfg.PageSize,
		func(t *ent.Tenant) (time.Time, string) { return time.Time{}, t.ID },
		func(where, order func(*entsql.Selector), n int) ([]*ent.Tenant, error) {
			return s.cfg.Client.Tenant.Query().Where(where).Order(order).Limit(n).All(ctx)
		})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.audit.record(view{tenant: privacy.PlatformTenantID, entity: "tenants", path: r.URL.Path})
	s.render(w, "tenants", 200, map[string]any{"Title": "Tenants", "Tenants": p.Rows, "Next": p.Next,
		"System": s.cfg.System, "SystemID": systemTenant})
}

type entityLink struct {
	Table, Type string
	HasRows     bool
}

// tenant lists the entities of a tenant, each saying whether it has rows
// (one indexed probe each), and the ledger's balance.
func (s *Server) tenant(w http.ResponseWriter, r *http.Request) {
	sc, err := s.scopeOf(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx := s.viewer(r.Context(), sc)
	var links []entityLink
	for _, n := range entityNames() {
		e := entities[n]
		q, all := e.query(s.cfg.Client)
		q.Limit(1)
		rows, err := all(ctx)
		if err != nil {
			s.fail(w, err)
			return
		}
		links = append(links, entityLink{Table: n, Type: e.Type, HasRows: len(rows) > 0})
	}
	s.audit.record(view{tenant: sc.auditTenant(), entity: "tenant", id: sc.ID, path: r.URL.Path})
	s.render(w, "tenant", 200, map[string]any{"Title": sc.Name, "Scope": sc, "Entities": links})
}

// listQuery is a list page's state, from the URL.
type listQuery struct {
	Filter, Value, Sort, After string
	Asc, Deleted               bool
}

func (q listQuery) url(base string) string {
	v := url.Values{}
	if q.Filter != "" {
		v.Set("f", q.Filter)
		v.Set("v", q.Value)
	}
	if q.Sort != "" && q.Sort != "id" {
		v.Set("sort", q.Sort)
	}
	if q.Asc {
		v.Set("dir", "asc")
	}
	if q.Deleted {
		v.Set("deleted", "1")
	}
	if q.After != "" {
		v.Set("after", q.After)
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// target resolves the URL's tenant and entity.
func (s *Server) target(r *http.Request) (scope, *entity, error) {
	sc, err := s.scopeOf(r)
	if err != nil {
		return sc, nil, err
	}
	e, ok := entities[r.PathValue("table")]
	if !ok {
		return sc, nil, fmt.Errorf("%w: no entity %q", errNotFound, r.PathValue("table"))
	}
	return sc, e, nil
}

type cell struct {
	Text, Link string
	Muted      bool
}

// list is one keyset page of an entity's rows under the tenant's viewer.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	sc, e, err := s.target(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	lq := listQuery{Filter: q.Get("f"), Value: q.Get("v"), Sort: q.Get("sort"), After: q.Get("after"),
		Asc: q.Get("dir") == "asc", Deleted: q.Get("deleted") == "1"}
	if lq.Sort == "" {
		lq.Sort = "id"
	}
	if !e.canSort(lq.Sort) {
		s.fail(w, fmt.Errorf("%w: %s cannot be sorted by %q (sorts: %s)", ErrBadInput, e.Table, lq.Sort, strings.Join(e.sorts, ", ")))
		return
	}
	if sc.System && (lq.Filter != "" || lq.Sort != "id") {
		// The indexes that serve filters and sorts lead with tenant_id: across
		// tenants only the id's order is bounded.
		s.fail(w, fmt.Errorf("%w: the system view lists by id only, without filters", ErrBadInput))
		return
	}
	if lq.Filter != "" && !e.canFilter(lq.Filter) {
		s.fail(w, fmt.Errorf("%w: %s has no index for a filter on %q (filters: %s)", ErrBadInput, e.Table, lq.Filter, strings.Join(e.filters, ", ")))
		return
	}
	ctx := s.viewer(r.Context(), sc)
	if lq.Deleted {
		ctx = privacy.WithDeleted(ctx)
	}
	o := page.ByID(!lq.Asc)
	if lq.Sort != "id" {
		o = page.Order{Column: lq.Sort, Desc: !lq.Asc}
	}
	key := func(rw row) (time.Time, string) {
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(rw[lq.Sort]))
		return at, rw.id()
	}
	fetch := func(filter bool) page.Fetch[row] {
		return func(where, order func(*entsql.Selector), n int) ([]row, error) {
			iq, all := e.query(s.cfg.Client)
			preds := []func(*entsql.Selector){where}
			if filter {
				preds = append(preds, eq(lq.Filter, lq.Value))
			}
			iq.WhereP(preds...)
			iq.Order(order)
			iq.Limit(n)
			return all(ctx)
		}
	}
	var p *page.Page[row]
	scanned := 0
	if lq.Filter == "" || e.selective[lq.Filter] {
		// A key's or a unique column's value matches few rows: its index
		// finds them all, and they are sorted.
		p, err = page.List(ctx, o, lq.After, s.cfg.PageSize, key, fetch(lq.Filter != ""))
	} else {
		p, scanned, err = scan(ctx, o, lq.After, s.cfg.PageSize, key, fetch(false),
			func(rw row) bool { return rw[lq.Filter] != nil && fmt.Sprint(rw[lq.Filter]) == lq.Value })
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	cols := listColumns(e)
	base := "/t/" + sc.ID + "/e/" + e.Table
	var rows [][]cell
	for _, rw := range p.Rows {
		cells := make([]cell, len(cols))
		for i, c := range cols {
			cells[i] = s.cell(sc, e, rw, c.Name, 60)
		}
		cells[0].Link = base + "/" + url.PathEscape(rw.id())
		if lq.Deleted {
			cells[0].Link += "?deleted=1"
		}
		rows = append(rows, cells)
	}
	next := ""
	if p.Next != "" {
		nq := lq
		nq.After = p.Next
		next = nq.url(base)
	}
	first := lq
	first.After = ""
	s.audit.record(view{tenant: sc.auditTenant(), entity: e.Table, path: r.URL.Path})
	s.render(w, "list", 200, map[string]any{"Title": e.Table + " · " + sc.Name, "Scope": sc, "Entity": e,
		"Columns": cols, "Rows": rows, "Next": next, "Query": lq, "First": first.url(base), "Base": base,
		"Filters": e.filters, "Sorts": e.sorts, "Scanned": scanned})
}

// Scanning a filter: at most scanWindows windows of page.MaxLimit rows
// each, in the list's order, per page.
const scanWindows = 5

// scan is a page of the rows match keeps, read in windows of the list's
// own order (the primary key's, or created_at's index) and filtered here:
// for a value that many rows have (a status), the filter's index would
// find every one of them in a large tenant to sort them. A page reads at
// most scanWindows windows; with fewer matches than limit, its cursor
// continues the scan where it stopped. scanned is the number of rows read
// when the windows ran out, else 0.
func scan(ctx context.Context, o page.Order, cursor string, limit int, key func(row) (time.Time, string),
	fetch page.Fetch[row], match func(row) bool) (*page.Page[row], int, error) {
	out := &page.Page[row]{}
	for i := 0; i < scanWindows; i++ {
		p, err := page.List(ctx, o, cursor, page.MaxLimit, key, fetch)
		if err != nil {
			return nil, 0, err
		}
		for _, rw := range p.Rows {
			if !match(rw) {
				continue
			}
			if len(out.Rows) == limit {
				at, id := key(out.Rows[limit-1])
				out.Next = page.Cursor(ctx, o, at, id)
				return out, 0, nil
			}
			out.Rows = append(out.Rows, rw)
		}
		if p.Next == "" {
			return out, 0, nil
		}
		cursor = p.Next
	}
	out.Next = cursor
	return out, scanWindows * page.MaxLimit, nil
}

// listColumns: the id, then the columns that fit a table (no JSON, no
// long text, no sealed secrets).
func listColumns(e *entity) []*schema.Column {
	var cols []*schema.Column
	for _, c := range e.columns {
		if c.Name == "ref_id" || c.Name == "updated_at" || c.Type == field.TypeJSON || e.sensitive[c.Name] || c.Size > 1<<20 {
			continue
		}
		cols = append(cols, c)
	}
	return cols
}

// cell renders a value: foreign keys as links to the row they name (under
// the same viewer), sealed secrets as such, long text cut at max runes.
func (s *Server) cell(sc scope, e *entity, rw row, col string, max int) cell {
	if e.sensitive[col] {
		return cell{Text: "sealed: never decrypted or shown", Muted: true}
	}
	v, ok := rw[col]
	if !ok || v == nil {
		return cell{Text: "—", Muted: true}
	}
	text := fmt.Sprint(v)
	if k := reflect.ValueOf(v).Kind(); k == reflect.Map || k == reflect.Slice {
		b, _ := json.Marshal(v)
		text = string(b)
	}
	if rs := []rune(text); max > 0 && len(rs) > max {
		text = string(rs[:max]) + "…"
	}
	c := cell{Text: text}
	if ref, ok := e.links[col]; ok && text != "" {
		c.Link = "/t/" + sc.ID + "/e/" + ref + "/" + url.PathEscape(text)
	}
	return c
}

type fieldView struct {
	Name     string
	Cell     cell
	Pretty   string // JSON, indented
	Editable bool
}

// row is one row's detail: every column, JSON pretty-printed, foreign keys
// as links, and the lists of rows referring to it.
func (s *Server) row(w http.ResponseWriter, r *http.Request) {
	sc, e, err := s.target(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx := s.viewer(r.Context(), sc)
	if r.URL.Query().Get("deleted") == "1" {
		ctx = privacy.WithDeleted(ctx)
	}
	id := r.PathValue("id")
	rw, err := s.get(ctx, e, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	var fields []fieldView
	for _, c := range e.columns {
		f := fieldView{Name: c.Name, Cell: s.cell(sc, e, rw, c.Name, 0), Editable: e.editable(c.Name)}
		if c.Type == field.TypeJSON && rw[c.Name] != nil && !reflect.ValueOf(rw[c.Name]).IsNil() {
			b, _ := json.MarshalIndent(rw[c.Name], "", "  ")
			f.Pretty = string(b)
		}
		fields = append(fields, f)
	}
	type ref struct{ Label, Link string }
	var refs []ref
	for _, rc := range references(e.Table) {
		lq := listQuery{Filter: rc[1], Value: id}
		refs = append(refs, ref{Label: rc[0] + " by " + rc[1], Link: lq.url("/t/" + sc.ID + "/e/" + rc[0])})
	}
	s.audit.record(view{tenant: sc.auditTenant(), entity: e.Table, id: id, path: r.URL.Path})
	s.render(w, "row", 200, map[string]any{"Title": e.Table + " " + id, "Scope": sc, "Entity": e, "ID": id,
		"Fields": fields, "Refs": refs, "Saved": r.URL.Query().Get("saved")})
}

// get reads one row by id under ctx's viewer: another tenant's id is not
// found, as if it did not exist.
func (s *Server) get(ctx context.Context, e *entity, id string) (row, error) {
	iq, all := e.query(s.cfg.Client)
	iq.WhereP(eq("id", id))
	iq.Limit(1)
	rows, err := all(ctx)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no %s row %q in this tenant's view", errNotFound, e.Table, id)
	}
	return rows[0], nil
}

// edit changes one field of one row through the client: the privacy
// policy, the hooks (input hygiene, tenant, lifecycle gate) and the
// schema's validators all run. The first POST shows the change for
// confirmation; the confirmed one writes it and its audit record in one
// transaction.
func (s *Server) edit(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Write {
		s.fail(w, ErrReadOnly)
		return
	}
	sc, e, err := s.target(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if sc.System {
		s.fail(w, fmt.Errorf("%w: edits are made in a tenant's view, not the system view", ErrBadInput))
		return
	}
	ctx := s.viewer(r.Context(), sc)
	id, col, text := r.PathValue("id"), r.PostForm.Get("field"), r.PostForm.Get("value")
	if e.ReadOnly != "" {
		s.fail(w, fmt.Errorf("%w: %s is %s", ErrBadInput, e.Table, e.ReadOnly))
		return
	}
	if !e.editable(col) {
		s.fail(w, fmt.Errorf("%w: %s.%s is not editable here", ErrBadInput, e.Table, col))
		return
	}
	value, clear, err := e.parseValue(col, text)
	if err != nil {
		s.fail(w, err)
		return
	}
	old, err := s.get(ctx, e, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	base := "/t/" + sc.ID + "/e/" + e.Table + "/" + url.PathEscape(id)
	if r.PostForm.Get("confirm") != "yes" {
		s.render(w, "confirm", 200, map[string]any{"Title": "Confirm the edit", "Scope": sc, "Entity": e, "ID": id,
			"Field": col, "Old": s.cell(sc, e, old, col, 0).Text, "New": text, "Clear": clear, "Action": base + "/edit", "Back": base})
		return
	}
	if err := s.write(ctx, e, id, col, value, clear, old[col]); err != nil {
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, base+"?saved="+url.QueryEscape(col), http.StatusSeeOther)
}

// write applies the edit and its audit record in one transaction.
func (s *Server) write(ctx context.Context, e *entity, id, col string, value any, clear bool, old any) error {
	tx, err := s.cfg.Client.Tx(ctx)
	if err != nil {
		return err
	}
	err = func() error {
		m, exec := e.update(tx.Client(), id)
		if clear {
			if err := m.ClearField(col); err != nil {
				return fmt.Errorf("%w: %s.%s cannot be cleared: %v", ErrBadInput, e.Table, col, err)
			}
		} else if err := m.SetField(col, value); err != nil {
			return fmt.Errorf("%w: %s.%s: %v", ErrBadInput, e.Table, col, err)
		}
		if err := exec(ctx); err != nil {
			return err
		}
		return tx.AuditLog.Create().SetActorType(auditlog.ActorTypeUser).SetActorID(s.cfg.Actor).
			SetAction("studio.update").SetEntityType(e.Table).SetEntityID(id).
			SetChanges(map[string]any{"field": col, "old": old, "new": value}).Exec(ctx)
	}()
	if err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return tx.Commit()
}

// ledgerPage shows the balance and the last reconciliation this studio
// ran; the ledger is never edited here.
func (s *Server) ledgerPage(w http.ResponseWriter, r *http.Request) {
	sc, err := s.scopeOf(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if sc.System {
		s.fail(w, fmt.Errorf("%w: the ledger is shown per tenant", ErrBadInput))
		return
	}
	ctx := s.viewer(r.Context(), sc)
	bal, err := s.cfg.Client.CreditBalance.Query().Where(creditbalance.TenantID(sc.ID)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		s.fail(w, err)
		return
	}
	s.mu.Lock()
	last, ran := s.reconciled[sc.ID]
	s.mu.Unlock()
	s.audit.record(view{tenant: sc.auditTenant(), entity: "ledger", path: r.URL.Path})
	s.render(w, "ledger", 200, map[string]any{"Title": "Ledger · " + sc.Name, "Scope": sc, "Balance": bal,
		"Last": last, "Ran": ran})
}

// reconcile runs the ledger's reconciliation of the tenant (a read: one
// index range scan of its entries) and keeps the result for the page.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request) {
	sc, err := s.scopeOf(r)
	if err != nil || sc.System {
		s.fail(w, errors.Join(err, fmt.Errorf("%w: the ledger is reconciled per tenant", ErrBadInput)))
		return
	}
	res := reconcileResult{At: time.Now().UTC()}
	rep, err := s.ledger.Reconcile(s.viewer(r.Context(), sc))
	if err != nil {
		res.Err = err.Error()
	} else {
		res.OK, res.Report = rep.OK(), rep.String()
	}
	s.mu.Lock()
	s.reconciled[sc.ID] = res
	s.mu.Unlock()
	s.audit.record(view{tenant: sc.auditTenant(), entity: "ledger", id: "reconcile", path: r.URL.Path})
	http.Redirect(w, r, "/t/"+sc.ID+"/ledger", http.StatusSeeOther)
}
