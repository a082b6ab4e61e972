package billing_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/input"
)

// Every string and map field of an order request and an event (found by
// reflection) with a NUL byte, invalid UTF-8 or a bad payload value, and
// every malformed currency: a typed error naming the field, before any SQL.
func TestBadStrings(t *testing.T) {
	f := setup(t)
	tid, ctx := f.Tenant(t, "")
	oid := f.order(t, ctx, "ok", 100)
	before := f.Fingerprint(t)
	// The system's request, whose every field may be set.
	req := billing.OrderRequest{RefID: "r", Provider: topuporder.ProviderStripe, TenantID: tid, ProviderOrderID: "pi_r",
		Credits: 1, PaidAmount: orderPrice, PaidCurrency: "USD"}
	ev := event("ev", billing.EventPaymentSucceeded, "ok")
	bads := []struct {
		str  string
		meta map[string]any
		path string
	}{
		{"a\x00", map[string]any{"id": "a\x00"}, `["id"]`},
		{"\xff", map[string]any{"data": []any{map[string]any{"\xff": 1}}}, `["data"][0]["\xff"]`},
	}
	check := func(op, entity, field, path string, err error, sentinel error) {
		t.Helper()
		var verr *input.ValidationError
		switch {
		case !errors.Is(err, sentinel) || !errors.Is(err, input.ErrInvalid) || !errors.As(err, &verr):
			t.Errorf("%s: %v, want a typed validation error", op, err)
		case verr.Entity != entity || verr.Field != field || verr.Path != path:
			t.Errorf("%s: names %s.%s%s, want %s.%s%s", op, verr.Entity, verr.Field, verr.Path, entity, field, path)
		case strings.Contains(err.Error(), "SQLSTATE"):
			t.Errorf("%s: driver error: %v", op, err)
		}
	}
	n := 0
	for _, target := range []any{req, ev} {
		rt := reflect.TypeOf(target)
		for i := range rt.NumField() {
			for _, b := range bads {
				cp := reflect.New(rt).Elem()
				cp.Set(reflect.ValueOf(target))
				path := ""
				switch fv := cp.Field(i); fv.Kind() {
				case reflect.String:
					fv.SetString(b.str)
				case reflect.Map:
					fv.Set(reflect.ValueOf(b.meta))
					path = b.path
				default:
					continue
				}
				name := rt.Field(i).Name
				n++
				switch v := cp.Interface().(type) {
				case billing.OrderRequest:
					_, err := f.b.CreateOrder(sys, v)
					check("order "+name, "billing.OrderRequest", name, path, err, billing.ErrInvalidOrder)
				case billing.Event:
					_, err := f.b.HandleEvent(sys, v)
					check("event "+name, "billing.Event", name, path, err, billing.ErrInvalidEvent)
				}
			}
		}
	}
	_, err := f.b.Transition(sys, oid+"\x00", topuporder.StatusPaid)
	check("transition", "billing.Transition", "orderID", "", err, billing.ErrInvalidOrder)
	for name, args := range map[string][2]string{"orderID": {oid + "\x00", "pi_x"}, "providerOrderID": {oid, "pi_\xff"}} {
		_, err := f.b.BindProviderOrder(sys, args[0], args[1])
		check("bind", "billing.BindProviderOrder", name, "", err, billing.ErrInvalidOrder)
	}
	for _, cur := range []string{"€", "usd", "US", "USDX"} {
		r := req
		r.PaidCurrency = cur
		_, err := f.b.CreateOrder(sys, r)
		var verr *input.ValidationError
		if !errors.Is(err, billing.ErrInvalidOrder) || !errors.As(err, &verr) || verr.Reason != input.ReasonCurrency {
			t.Errorf("currency %q: %v", cur, err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d cases", n)
	}
	if after := f.Fingerprint(t); after != before {
		t.Errorf("a refused call changed the database")
	}
}
