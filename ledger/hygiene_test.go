package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// badValues are what PostgreSQL refuses raw, for a string or a metadata map.
var badValues = []struct {
	name string
	str  string
	meta map[string]any
	path string
}{
	{"nul", "a\x00b", map[string]any{"k": "a\x00"}, `["k"]`},
	{"utf8", "a\xffb", map[string]any{"k": []any{"ok", map[string]any{"x": "\xff"}}}, `["k"][1]["x"]`},
	{"key", "\xc3", map[string]any{"\x00": 1}, `["\x00"]`},
}

// withBad returns a copy of the struct v with its field i set to the bad
// value, and the JSON path the error must name ("" for a string).
func withBad(v any, i int, str string, meta map[string]any, metaPath string) (any, string, bool) {
	cp := reflect.New(reflect.TypeOf(v)).Elem()
	cp.Set(reflect.ValueOf(v))
	f := cp.Field(i)
	switch f.Kind() {
	case reflect.String:
		f.SetString(str)
		return cp.Interface(), "", true
	case reflect.Map:
		f.Set(reflect.ValueOf(meta))
		return cp.Interface(), metaPath, true
	}
	return nil, "", false
}

func wantInvalid(t *testing.T, op, entity, field, path string, err error) {
	t.Helper()
	var verr *input.ValidationError
	switch {
	case !errors.Is(err, input.ErrInvalid) || !errors.Is(err, ledger.ErrInvalidInput) || !errors.As(err, &verr):
		t.Errorf("%s: %v, want a typed validation error", op, err)
	case verr.Entity != entity || verr.Field != field || verr.Path != path:
		t.Errorf("%s: names %s.%s%s, want %s.%s%s", op, verr.Entity, verr.Field, verr.Path, entity, field, path)
	case strings.Contains(err.Error(), "SQLSTATE"):
		t.Errorf("%s: driver error: %v", op, err)
	}
}

// Every string and map field of Posting and LLMCall (found by reflection,
// so a new field is covered) with a NUL byte, invalid UTF-8 or a bad JSON
// value: a typed error naming it, on every path, and nothing written.
func TestBadStrings(t *testing.T) {
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 1000, "seed")
	before := env.Fingerprint(t)
	posting := ledger.Posting{Kind: topup, Amount: 10, IdempotencyKey: "k", Description: "d", Metadata: map[string]any{"a": "b"}}
	call := ledger.LLMCall{RefID: "r", Provider: "openai", Model: "gpt", Cost: 5, Description: "d"}
	exempt := map[string]string{"TenantID": "compared with the viewer's tenant first (ErrTenantMismatch)"}
	checked := 0
	pt := reflect.TypeOf(posting)
	for i := range pt.NumField() {
		for _, b := range badValues {
			p, path, ok := withBad(posting, i, b.str, b.meta, b.path)
			if !ok {
				continue
			}
			_, err := env.Ledger.Post(ctx, p.(ledger.Posting))
			wantInvalid(t, "Post "+pt.Field(i).Name+" "+b.name, "ledger.Posting", pt.Field(i).Name, path, err)
			checked++
		}
	}
	ct := reflect.TypeOf(call)
	for i := range ct.NumField() {
		name := ct.Field(i).Name
		if _, ok := exempt[name]; ok {
			continue
		}
		for _, b := range badValues {
			c, path, ok := withBad(call, i, b.str, b.meta, b.path)
			if !ok {
				continue
			}
			paid, free := c.(ledger.LLMCall), c.(ledger.LLMCall)
			free.Cost = 0
			_, _, err := env.Ledger.RecordLLMCall(ctx, paid)
			wantInvalid(t, "RecordLLMCall "+name+" "+b.name, "ledger.LLMCall", name, path, err)
			_, _, err = env.Ledger.RecordLLMCall(ctx, free)
			wantInvalid(t, "RecordLLMCall free "+name+" "+b.name, "ledger.LLMCall", name, path, err)
			_, err = env.Ledger.IngestLLMCalls(ctx, []ledger.LLMCall{call, free})
			wantInvalid(t, "IngestLLMCalls "+name+" "+b.name, "ledger.LLMCall", name, path, err)
			checked += 3
		}
	}
	// The actor comes from the context, but services fill it from requests.
	_, err := env.Ledger.Post(privacy.WithActor(ctx, privacy.ActorUser, "u\x00"), posting)
	wantInvalid(t, "actor", "ledger.Posting", "actor", "", err)
	if checked < 20 {
		t.Fatalf("only %d cases: the reflection found too few fields", checked)
	}
	if after := env.Fingerprint(t); after != before {
		t.Errorf("a refused call changed the database:\n%s\n%s", before, after)
	}
}

// LLMCall.ID is the caller's: an id of another tenant's call gets the
// typed conflict every taken id gets, identical to the answer for the
// tenant's own id, naming no constraint; nothing is written. On Citus ids
// are unique per tenant only (a distributed table cannot keep a unique key
// without tenant_id, docs/SCALE.md): there an id taken in the tenant gets
// the same conflict, and another tenant's id is accepted as a call of the
// caller's tenant, leaving the other tenant's call as it was.
func TestTakenLLMCallID(t *testing.T) {
	env := ledgertest.New(t)
	_, ctxA := env.Tenant(t, "")
	tenantB, ctxB := env.Tenant(t, "")
	post(t, env, ctxA, topup, 1000, "seed") // so that a refused posting creates no balance row
	post(t, env, ctxB, topup, 1000, "seed")
	idA := cuid.New()
	if _, _, err := env.Ledger.RecordLLMCall(ctxA, ledger.LLMCall{ID: idA, RefID: "a", Provider: "p", Model: "m"}); err != nil {
		t.Fatal(err)
	}
	before := env.Fingerprint(t)
	callsOf := func(ctx context.Context) string {
		t.Helper()
		calls, err := env.Client.LlmCallLog.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, c := range calls {
			out += fmt.Sprintf("%s %s %s %d;", c.ID, c.TenantID, c.RefID, c.Cost)
		}
		return out
	}
	callsA := callsOf(ctxA)
	var msgs []string
	for _, c := range []struct {
		name    string
		foreign bool
		run     func() error
	}{
		{"foreign, paid", true, func() error {
			_, _, err := env.Ledger.RecordLLMCall(ctxB, ledger.LLMCall{ID: idA, RefID: "b1", Provider: "p", Model: "m", Cost: 3})
			return err
		}},
		{"foreign, free", true, func() error {
			_, _, err := env.Ledger.RecordLLMCall(ctxB, ledger.LLMCall{ID: idA, RefID: "b2", Provider: "p", Model: "m"})
			return err
		}},
		{"foreign, ingest", true, func() error {
			_, err := env.Ledger.IngestLLMCalls(ctxB, []ledger.LLMCall{{ID: idA, RefID: "b3", Provider: "p", Model: "m"}})
			return err
		}},
		{"own, free", false, func() error {
			_, _, err := env.Ledger.RecordLLMCall(ctxA, ledger.LLMCall{ID: idA, RefID: "a2", Provider: "p", Model: "m"})
			return err
		}},
		{"own, paid", false, func() error {
			_, _, err := env.Ledger.RecordLLMCall(ctxA, ledger.LLMCall{ID: idA, RefID: "a3", Provider: "p", Model: "m", Cost: 3})
			return err
		}},
		{"own, ingest", false, func() error {
			_, err := env.Ledger.IngestLLMCalls(ctxA, []ledger.LLMCall{{ID: idA, RefID: "a4", Provider: "p", Model: "m"}})
			return err
		}},
	} {
		if c.foreign && suitedb.OnCitus() {
			// The first is accepted, as a call of B; then idA is taken in
			// B too, and the others get the conflict.
			err := c.run()
			if first := c.name == "foreign, paid"; (err == nil) != first || (!first && !errors.As(err, new(*input.IDTakenError))) {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		err := c.run()
		var taken *input.IDTakenError
		if !errors.As(err, &taken) || taken.Entity != "LlmCallLog" || !errors.Is(err, privacy.ErrCrossTenantRef) {
			t.Errorf("%s: %v, want an IDTakenError", c.name, err)
			continue
		}
		if strings.Contains(err.Error(), "pkey") || strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("%s: names the constraint: %v", c.name, err)
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Errorf("answers differ: %q, %q", msgs[0], m)
		}
	}
	if suitedb.OnCitus() {
		if callsOf(ctxA) != callsA {
			t.Errorf("tenant A's calls changed:\n%s\n%s", callsA, callsOf(ctxA))
		}
		if b := callsOf(ctxB); !strings.Contains(b, idA+" "+tenantB+" b1 3;") || env.Balance(t, ctxB) != 997 {
			t.Errorf("tenant B's call with A's id: %s, balance %d", b, env.Balance(t, ctxB))
		}
		env.MustReconcile(t, ctxB)
		return
	}
	if after := env.Fingerprint(t); after != before {
		t.Errorf("a refused call changed the database")
	}
}
