package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestStudioCommand: every interface is refused without its flag (exit 1,
// saying which flag); the command serves on the address it was given,
// prints the address with the token once, trades the token for a cookie,
// and stops when its context ends.
func TestStudioCommand(t *testing.T) {
	r := datactl(t, "studio", "--addr", "0.0.0.0:5555")
	r.Want(t, 1, "studio on every interface")
	if !strings.Contains(r.Stderr, "--allow-any-address") {
		t.Fatalf("stderr %q", r.Stderr)
	}
	url := suitedb.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	var mu sync.Mutex
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runStudio(ctx, studioOptions{url: url, addr: "127.0.0.1:0", token: "a-token-long-enough-to-be-accepted"},
			writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) }), func(a string) { ready <- a })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get("http://" + addr + "/?token=a-token-long-enough-to-be-accepted")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("token exchange: %d %v", resp.StatusCode, resp.Cookies())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := out.String(); strings.Count(got, "a-token-long-enough") != 1 || !strings.Contains(got, "read-only") ||
		!strings.Contains(got, "http://"+addr+"/?token=") {
		t.Fatalf("output:\n%s", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
