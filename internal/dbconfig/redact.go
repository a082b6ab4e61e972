package dbconfig

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redactedMark replaces every secret in printed URLs and messages.
const redactedMark = "xxxxx"

// secretParams are connection parameters whose values are secrets, in URL
// query strings and key=value connection strings alike.
var secretParams = []string{"password", "sslpassword"}

func isSecretParam(k string) bool { return slices.Contains(secretParams, strings.ToLower(k)) }

// kvSecret matches password=VALUE in a key=value connection string, VALUE
// either single-quoted (with backslash escapes) or up to the next space.
var kvSecret = regexp.MustCompile(`(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)

// RedactURL hides every secret of a connection string for printing: the
// userinfo password and password=/sslpassword= parameters of a postgres://
// URL, or password= pairs of a key=value string. A URL that does not parse
// is hidden whole.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		if strings.Contains(raw, "=") {
			return kvSecret.ReplaceAllString(raw, "${1}"+redactedMark)
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable database URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redactedMark)
	}
	q := u.Query()
	changed := false
	for k := range q {
		if isSecretParam(k) {
			q[k] = []string{redactedMark}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secretsOf returns the secrets a connection string carries, in every
// spelling a message might quote them: raw, percent-encoded and decoded.
func secretsOf(raw string) []string {
	var out []string
	add := func(s string) {
		if s != "" && s != redactedMark && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	addAll := func(s string) {
		add(s)
		if d, err := url.PathUnescape(s); err == nil {
			add(d)
		}
		if d, err := url.QueryUnescape(s); err == nil {
			add(d)
		}
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		// The authority ends at the first '/', '?' or '#' after the last '@'
		// of the authority; read the userinfo by hand so a URL that does
		// not parse still yields its password.
		if end := strings.IndexAny(rest, "/?#"); end >= 0 && !strings.Contains(rest[end:], "@") {
			rest = rest[:end]
		} else if end >= 0 {
			// '@' after a '/': the password itself holds a '/'; cut at the last '@'.
			rest = rest[:strings.LastIndex(rest, "@")+1]
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				addAll(rest[c+1 : at])
			}
		}
		if q := strings.Index(raw, "?"); q >= 0 {
			for _, pair := range strings.FieldsFunc(raw[q+1:], func(r rune) bool { return r == '&' || r == ';' || r == '#' }) {
				k, v, ok := strings.Cut(pair, "=")
				if ok && isSecretParam(strings.TrimSpace(k)) {
					addAll(v)
				}
			}
		}
	}
	for _, m := range kvSecret.FindAllStringSubmatch(raw, -1) {
		v := m[2]
		if len(v) >= 2 && v[0] == '\'' {
			addAll(v[1 : len(v)-1])
			add(strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v[1 : len(v)-1]))
		} else {
			addAll(v)
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Scrub returns msg with every secret of the given connection strings
// replaced, for text that may quote them (driver and parser errors).
func Scrub(msg string, connStrings ...string) string {
	for _, cs := range connStrings {
		for _, s := range secretsOf(cs) {
			msg = strings.ReplaceAll(msg, s, redactedMark)
		}
	}
	return msg
}

// redactedError wraps an error whose text may quote a secret: Error()
// scrubs it, and errors.Is/As still reach the cause.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, redactedMark)
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// RedactError returns err with every secret of the given connection strings
// scrubbed from its text; nil stays nil.
func RedactError(err error, connStrings ...string) error {
	if err == nil {
		return nil
	}
	var secrets []string
	for _, cs := range connStrings {
		secrets = append(secrets, secretsOf(cs)...)
	}
	if len(secrets) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}
