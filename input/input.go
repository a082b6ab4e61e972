// Package input refuses strings and JSON values PostgreSQL cannot store
// (NUL bytes, invalid UTF-8) and malformed currency codes with a typed error,
// before any SQL runs, and hides whose row holds a taken id.
package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid matches every *ValidationError (errors.Is).
var ErrInvalid = errors.New("input: invalid input")

// Reasons a value is refused.
const (
	ReasonNUL      = "contains a NUL byte"
	ReasonUTF8     = "is not valid UTF-8"
	ReasonCurrency = "is not an ISO 4217 currency code (three upper-case ASCII letters)"
	ReasonJSON     = "cannot be encoded as JSON"
)

// ValidationError names the entity (or operation, e.g. "ledger.Posting"),
// the field and, inside a JSON value, the path of the refused value.
type ValidationError struct {
	Entity string
	Field  string
	Path   string // JSON path inside the field ("" for the field itself), e.g. `["a"][2]`
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("input: invalid %s.%s%s: %s", e.Entity, e.Field, e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Text checks a string value.
func Text(entity, field, s string) error {
	if r := textReason(s); r != "" {
		return &ValidationError{Entity: entity, Field: field, Reason: r}
	}
	return nil
}

// textReason is "" for a storable string. PostgreSQL text refuses NUL
// (22021) and its jsonb refuses \u0000 (22P05); invalid UTF-8 is refused
// by the server encoding, or silently replaced by encoding/json.
func textReason(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return ReasonNUL
	case !utf8.ValidString(s):
		return ReasonUTF8
	}
	return ""
}

// Currency checks an ISO 4217 alphabetic code: exactly three upper-case
// ASCII letters ("USD"; not "usd", "US" or "€").
func Currency(entity, field, s string) error {
	if !IsCurrency(s) {
		return &ValidationError{Entity: entity, Field: field, Reason: ReasonCurrency}
	}
	return nil
}

// IsCurrency reports whether s has the shape of an ISO 4217 code.
func IsCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Value checks any value stored as a string, a string list or JSON: every
// string, map key and struct field reachable from v, and the encoding of
// types with their own MarshalJSON.
func Value(entity, field string, v any) error {
	// Fast paths for the field types of the schema.
	switch x := v.(type) {
	case nil, bool, int, int64, float64, time.Time, *time.Time:
		return nil
	case string:
		return Text(entity, field, x)
	case []string:
		for i, s := range x {
			if r := textReason(s); r != "" {
				return &ValidationError{Entity: entity, Field: field, Path: "[" + strconv.Itoa(i) + "]", Reason: r}
			}
		}
		return nil
	}
	if path, r := walkAny(v, 0); r != "" {
		return &ValidationError{Entity: entity, Field: field, Path: path, Reason: r}
	}
	return nil
}

// maxDepth bounds the walk of a self-referencing value; encoding/json
// fails on such values anyway.
const maxDepth = 1000

var (
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)

// walkAny checks the shapes JSON decoding and typical callers produce
// without reflection; anything else goes to walk. Paths are built only on
// the way back from a refusal, so a valid value allocates nothing.
func walkAny(x any, depth int) (string, string) {
	if depth > maxDepth {
		return "", ReasonJSON
	}
	switch v := x.(type) {
	case nil, bool, float64, int, int64, json.Number:
		return "", ""
	case string:
		return "", textReason(v)
	case map[string]any:
		for k, e := range v {
			if r := textReason(k); r != "" {
				return "[" + strconv.QuoteToASCII(k) + "]", "key " + r
			}
			if p, r := walkAny(e, depth+1); r != "" {
				return "[" + strconv.QuoteToASCII(k) + "]" + p, r
			}
		}
		return "", ""
	case []any:
		for i, e := range v {
			if p, r := walkAny(e, depth+1); r != "" {
				return "[" + strconv.Itoa(i) + "]" + p, r
			}
		}
		return "", ""
	}
	return walk(reflect.ValueOf(x), depth)
}

// walk returns the path and reason of the first refused string under v.
func walk(v reflect.Value, depth int) (string, string) {
	if !v.IsValid() {
		return "", ""
	}
	if depth > maxDepth {
		return "", ReasonJSON
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(marshalerType) || t.Implements(textMarshaler)) {
		return "", encoded(v.Interface())
	}
	switch t.Kind() {
	case reflect.String:
		return "", textReason(v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", ""
		}
		if t.Kind() == reflect.Pointer && (t.Implements(marshalerType) || t.Implements(textMarshaler)) {
			return "", encoded(v.Interface())
		}
		if t.Kind() == reflect.Interface {
			return walkAny(v.Elem().Interface(), depth+1)
		}
		return walk(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			// []byte: base64 in JSON, bytea in SQL; json.RawMessage is a
			// Marshaler and checked above.
			return "", ""
		}
		for i := range v.Len() {
			if p, r := walk(v.Index(i), depth+1); r != "" {
				return "[" + strconv.Itoa(i) + "]" + p, r
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String {
				if r := textReason(k.String()); r != "" {
					return "[" + keyString(k) + "]", "key " + r
				}
			}
			if p, r := walk(iter.Value(), depth+1); r != "" {
				return "[" + keyString(k) + "]" + p, r
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			if p, r := walk(v.Field(i), depth+1); r != "" {
				return "." + f.Name + p, r
			}
		}
	}
	return "", ""
}

// keyString renders a map key for a path, quoted so a hostile key cannot
// forge the rest of the message.
func keyString(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return strconv.QuoteToASCII(k.String())
	}
	return strconv.QuoteToASCII(fmt.Sprint(k.Interface()))
}

// encoded checks the JSON a custom marshaler writes: valid UTF-8 and no
// NUL once decoded.
func encoded(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ReasonJSON
	}
	if !utf8.Valid(b) {
		return ReasonUTF8
	}
	var decoded any
	if err := json.Unmarshal(b, &decoded); err != nil {
		return ReasonJSON
	}
	_, r := walkAny(decoded, 0)
	return r
}

// Annotation marks a schema field for a check beyond text hygiene; the
// generated CheckInput reads it.
type Annotation struct {
	// Currency: the field holds an ISO 4217 code (see Currency).
	Currency bool `json:"currency,omitempty"`
}

// Name implements schema.Annotation.
func (Annotation) Name() string { return "Input" }

// NamedValue is one field of a request checked by Fields.
type NamedValue struct {
	Name  string
	Value any
}

// F names a value for Fields.
func F(name string, v any) NamedValue { return NamedValue{Name: name, Value: v} }

// Fields checks the values of a request that is not an Ent mutation (the
// ledger's, billing's and secrets' raw SQL paths) in order; the first
// refusal wins.
func Fields(entity string, fields ...NamedValue) error {
	for _, f := range fields {
		if err := Value(entity, f.Name, f.Value); err != nil {
			return err
		}
	}
	return nil
}
