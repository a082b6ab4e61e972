package db

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentServer accepts TCP connections and never answers, like a server
// behind a black-holing proxy.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestConnectTimeoutNamesTheHost(t *testing.T) {
	addr := silentServer(t)
	for _, driver := range []string{DriverPgx, DriverPQ} {
		cfg := DefaultConfig()
		cfg.URL = "postgres://app:" + unitPW + "@" + addr + "/leadmetrics?password=" + unitPW
		cfg.Driver, cfg.ConnectTimeout = driver, 200*time.Millisecond
		done := make(chan error, 1)
		go func() {
			_, err := OpenDB(context.Background(), cfg)
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute): // a hang, not a threshold
			t.Fatalf("%s: OpenDB against a silent server did not return", driver)
		}
		var ce *ConnectError
		if !errors.Is(err, ErrConnectTimeout) || !errors.As(err, &ce) {
			t.Fatalf("%s: got %v, want a *ConnectError matching ErrConnectTimeout", driver, err)
		}
		if ce.Host != addr || !strings.Contains(err.Error(), addr) {
			t.Errorf("%s: error does not name host %s: %v", driver, addr, err)
		}
		if strings.Contains(err.Error(), unitPW) {
			t.Errorf("%s: error leaks the password: %v", driver, err)
		}
	}
}

func TestConnectTimeoutFromEnv(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 10 * time.Second, "3": 3 * time.Second, "1500ms": 1500 * time.Millisecond, "0": 0} {
		cfg, err := configFrom(lookupFrom(map[string]string{"DATABASE_CONNECT_TIMEOUT": v}))
		if err != nil || cfg.ConnectTimeout != want {
			t.Errorf("DATABASE_CONNECT_TIMEOUT=%q: %v, %v; want %v", v, cfg.ConnectTimeout, err, want)
		}
	}
	for _, v := range []string{"soon", "-1s"} {
		_, err := configFrom(lookupFrom(map[string]string{"DATABASE_CONNECT_TIMEOUT": v}))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Variable != "DATABASE_CONNECT_TIMEOUT" {
			t.Errorf("DATABASE_CONNECT_TIMEOUT=%q: got %v", v, err)
		}
	}
	// Every tool that takes the DSN (dbctl's admin connections) gets it too,
	// rounded up to libpq's whole seconds.
	cfg := DefaultConfig()
	cfg.ConnectTimeout = 1500 * time.Millisecond
	if dsn, _ := cfg.DSN(); !strings.Contains(dsn, "connect_timeout=2") {
		t.Errorf("DSN %s lacks connect_timeout=2", dsn)
	}
}

func TestCanceledOpenIsNotATimeout(t *testing.T) {
	addr := silentServer(t)
	cfg := DefaultConfig()
	cfg.URL = "postgres://app@" + addr + "/leadmetrics"
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := OpenDB(ctx, cfg)
	if err == nil || errors.Is(err, ErrConnectTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled open: got %v, want context.Canceled and no timeout", err)
	}
}
