package dbconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// ErrConnectTimeout matches a *ConnectError whose server did not answer
// within the connect timeout.
var ErrConnectTimeout = errors.New("db: server did not answer within the connect timeout")

// ConnectError reports a server that could not be reached or did not
// answer. It names the host and carries no password.
type ConnectError struct {
	Host    string        // host:port of the URL (a list for multi-host URLs)
	URL     string        // the redacted URL
	Timeout time.Duration // set when the server did not answer in time
	Err     error         // the driver's error, secrets scrubbed
}

func (e *ConnectError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("db: connect to host %s (%s): no answer within %s (DATABASE_CONNECT_TIMEOUT)", e.Host, e.URL, e.Timeout)
	}
	return fmt.Sprintf("db: connect to host %s (%s): %v", e.Host, e.URL, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrConnectTimeout) match a timeout.
func (e *ConnectError) Is(target error) bool { return target == ErrConnectTimeout && e.Timeout > 0 }

// WrapConnectError wraps c's failure to open a connection. parent is the
// caller's context: its own cancellation is not a timeout.
func WrapConnectError(c Config, parent context.Context, err error) error {
	ce := &ConnectError{Host: hostOf(c.URL), URL: c.Redacted(), Err: RedactError(err, c.URL)}
	var ne net.Error
	timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	if timedOut && parent.Err() == nil {
		ce.Timeout = ConnectTimeout(c)
	}
	return ce
}

// ConnectTimeout is the URL's connect_timeout, else the config's.
func ConnectTimeout(c Config) time.Duration {
	if u, err := url.Parse(c.URL); err == nil {
		if s := u.Query().Get("connect_timeout"); s != "" {
			var n int
			if _, err := fmt.Sscan(s, &n); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return c.ConnectTimeout
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "(unknown)"
}
