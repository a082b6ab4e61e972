package studio

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Typed errors of the access layer and of the input.
var (
	// ErrAddress: the listen address is not loopback and no flag allowed
	// every interface.
	ErrAddress = errors.New("studio: address refused")
	// ErrToken: a token too short to be a secret.
	ErrToken = errors.New("studio: token refused")
	// ErrBadInput: a form or query value the studio cannot use.
	ErrBadInput = errors.New("studio: bad input")
	// ErrReadOnly: an edit while the studio runs without --write.
	ErrReadOnly = errors.New("studio: read-only (start it with --write to edit)")
)

// MinTokenLen is the shortest token the studio accepts from a flag or the
// environment: 128 bits of base64.
const MinTokenLen = 22

const (
	sessionCookie = "studio_session"
	tokenParam    = "token"
)

// CheckAddr accepts a host:port to listen on: loopback always; another
// single address too (the operator named it); the unspecified address
// (0.0.0.0, ::, an empty host: every interface) only with allowAny.
func CheckAddr(addr string, allowAny bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("%w: %q is not host:port", ErrAddress, addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if host != "" && ip == nil {
		return fmt.Errorf("%w: %q: give an IP address, not a name (a name may resolve to every interface)", ErrAddress, host)
	}
	if (host == "" || ip.IsUnspecified()) && !allowAny {
		return fmt.Errorf("%w: %q listens on every interface; pass --allow-any-address to mean it", ErrAddress, addr)
	}
	return nil
}

// NewToken returns a random token of 256 bits.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// access is the guard in front of every page: the Host header, the token
// (exchanged once for a cookie), and for writes POST, the Origin and the
// CSRF token.
type access struct {
	token   string
	session string // the cookie's value: derived from the token, never the token
	csrf    string // the forms' hidden token: derived too
	hosts   map[string]bool
	anyHost bool // listening on every interface: clients name it as they reach it
}

func newAccess(token, addr string) (*access, error) {
	if len(token) < MinTokenLen {
		return nil, fmt.Errorf("%w: shorter than %d characters", ErrToken, MinTokenLen)
	}
	a := &access{token: token, session: derive(token, "session"), csrf: derive(token, "csrf"), hosts: map[string]bool{}}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not host:port", ErrAddress, addr)
	}
	a.hosts[net.JoinHostPort(host, port)] = true
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		// --allow-any-address: the Host check cannot know the names; the
		// token and its cookie still guard every request.
		a.anyHost = true
	}
	// A browser names a loopback server by any of its loopback names; any
	// other Host (a DNS name rebound to 127.0.0.1) is refused.
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
			a.hosts[net.JoinHostPort(h, port)] = true
		}
	}
	return a, nil
}

func derive(token, purpose string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("leadmetrics studio " + purpose))
	return hex.EncodeToString(m.Sum(nil))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// wrap returns next behind the guard.
func (a *access) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		// same-origin, not no-referrer: under no-referrer a browser sends
		// "Origin: null" with a form's POST, and the Origin check needs it.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
		if !a.anyHost && !a.hosts[r.Host] {
			http.Error(w, "studio: unexpected Host header", http.StatusMisdirectedRequest)
			return
		}
		if q := r.URL.Query(); q.Has(tokenParam) {
			if !equal(q.Get(tokenParam), a.token) {
				http.Error(w, "studio: wrong token", http.StatusUnauthorized)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: a.session, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
			// The token leaves the address bar (and the history) at once.
			q.Del(tokenParam)
			path := r.URL.Path
			if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") {
				path = "/" // "//host/..." would send the browser to another site
			}
			to := url.URL{Path: path, RawQuery: q.Encode()}
			http.Redirect(w, r, to.String(), http.StatusSeeOther)
			return
		}
		if c, err := r.Cookie(sessionCookie); err != nil || !equal(c.Value, a.session) {
			http.Error(w, "studio: not signed in: open the address the studio printed at start", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := a.checkWrite(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkWrite: a state-changing request is a POST from this origin carrying
// the CSRF token.
func (a *access) checkWrite(r *http.Request) error {
	if r.Method != http.MethodPost {
		return errors.New("studio: only POST changes anything")
	}
	if o := r.Header.Get("Origin"); o == "" || !strings.EqualFold(o, "http://"+r.Host) {
		return errors.New("studio: cross-origin or origin-less POST refused")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("studio: bad form: %w", err)
	}
	if !equal(r.PostForm.Get("csrf"), a.csrf) {
		return errors.New("studio: missing or wrong CSRF token")
	}
	return nil
}
