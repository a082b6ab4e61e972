package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"time"

	"github.com/leadmetrics/db/internal/studio"
)

// studioCommand is "datactl studio": the data browser (internal/studio),
// on loopback unless told otherwise, read-only unless --write.
func studioCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	addr := fs.String("addr", "127.0.0.1:5555", "address to listen on (host:port); loopback unless --allow-any-address for 0.0.0.0 or ::")
	allowAny := fs.Bool("allow-any-address", false, "allow an --addr that listens on every interface")
	token := fs.String("token", "", "access token (default STUDIO_TOKEN, else a random one printed at start)")
	write := fs.Bool("write", false, "allow edits (through the layer, confirmed in the page, audited)")
	system := fs.Bool("system", false, "offer the all-tenants system view")
	actor := fs.String("actor", "", "who is browsing, for the audit log (default studio:<OS user>)")
	return func(ctx context.Context, _ []string, out io.Writer) error {
		return runStudio(ctx, studioOptions{url: *url, addr: *addr, allowAny: *allowAny, token: *token,
			write: *write, system: *system, actor: *actor}, out, nil)
	}
}

type studioOptions struct {
	url, addr, token, actor string
	allowAny, write, system bool
}

// runStudio serves until ctx ends; ready, when set, gets the address the
// studio listens on (tests listen on port 0).
func runStudio(ctx context.Context, o studioOptions, out io.Writer, ready func(addr string)) error {
	if err := studio.CheckAddr(o.addr, o.allowAny); err != nil {
		return err
	}
	if o.token == "" {
		o.token = os.Getenv("STUDIO_TOKEN")
	}
	if o.actor == "" {
		o.actor = "studio"
		if u, err := user.Current(); err == nil {
			o.actor += ":" + u.Username
		}
	}
	h, err := openTarget(ctx, o.url)
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	s, err := studio.New(studio.Config{Client: h.Client, SQL: h.SQL, Addr: ln.Addr().String(), Token: o.token,
		Write: o.write, System: o.system, Actor: o.actor, Log: out})
	if err != nil {
		ln.Close()
		return err
	}
	defer s.Close()
	mode := "read-only"
	if o.write {
		mode = "WRITE mode: edits go through the layer and are audited"
	}
	// The one place the token is shown: the operator opens this address
	// once; the studio trades it for a cookie and drops it from the URL.
	fmt.Fprintf(out, "studio (%s): open http://%s/?token=%s\n", mode, ln.Addr(), s.Token())
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
