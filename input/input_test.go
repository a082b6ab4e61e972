package input_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/leadmetrics/db/input"
)

type inner struct {
	Name   string
	Hidden string `json:"-"`
	secret string
}

type outer struct {
	Items []inner
	Ptr   *inner
	Any   any
}

type marshals struct{ s string }

func (m marshals) MarshalJSON() ([]byte, error) { return []byte(`"` + m.s + `"`), nil }

func TestValue(t *testing.T) {
	for _, c := range []struct {
		name   string
		v      any
		path   string
		reason string
	}{
		{"plain", "a\x00", "", input.ReasonNUL},
		{"utf8", "\xe2\x82", "", input.ReasonUTF8},
		{"named string", time.Month(1), "", ""},
		{"nil map", map[string]any(nil), "", ""},
		{"map value", map[string]any{"a": "ok", "b": []any{"x", "y\x00"}}, `["b"][1]`, input.ReasonNUL},
		{"map key", map[string]any{"\x00": 1}, `["\x00"]`, "key " + input.ReasonNUL},
		{"struct", outer{Items: []inner{{Name: "ok"}, {Name: "\xff"}}}, ".Items[1].Name", input.ReasonUTF8},
		{"pointer", outer{Ptr: &inner{Name: "\x00"}}, ".Ptr.Name", input.ReasonNUL},
		{"interface", outer{Any: map[string]string{"k": "\x00"}}, `.Any["k"]`, input.ReasonNUL},
		{"skipped fields", outer{Items: []inner{{Hidden: "\x00", secret: "\x00"}}}, "", ""},
		{"raw json nul escape", json.RawMessage(`{"a":"\u0000"}`), "", input.ReasonNUL},
		{"raw json bad utf8", json.RawMessage("\"\xff\""), "", input.ReasonUTF8},
		{"raw json ok", json.RawMessage(`{"a":"\\u0000"}`), "", ""},
		{"marshaler", marshals{"\\u0000"}, "", input.ReasonNUL},
		{"bytes", []byte{0, 0xff}, "", ""},
		{"time", time.Now(), "", ""},
		{"ok", map[string]any{"a": []any{1, true, nil, "é"}}, "", ""},
	} {
		err := input.Value("E", "f", c.v)
		var verr *input.ValidationError
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.reason == "":
		case !errors.As(err, &verr) || !errors.Is(err, input.ErrInvalid):
			t.Errorf("%s: %v, want a ValidationError", c.name, err)
		case verr.Entity != "E" || verr.Field != "f" || verr.Path != c.path || verr.Reason != c.reason:
			t.Errorf("%s: %+v, want path %q reason %q", c.name, *verr, c.path, c.reason)
		}
	}
}

func TestSelfReference(t *testing.T) {
	m := map[string]any{}
	m["m"] = m
	if err := input.Value("E", "f", m); !errors.Is(err, input.ErrInvalid) {
		t.Fatalf("self-referencing value: %v", err)
	}
}

func TestCurrency(t *testing.T) {
	for _, ok := range []string{"USD", "EUR", "INR", "XAU"} {
		if err := input.Currency("E", "c", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"€", "usd", "US", "USDX", "", "US ", "U$D", "ÜSD", "US\x00"} {
		err := input.Currency("E", "c", bad)
		var verr *input.ValidationError
		if !errors.As(err, &verr) || verr.Reason != input.ReasonCurrency || verr.Field != "c" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
