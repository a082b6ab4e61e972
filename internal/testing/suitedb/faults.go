package suitedb

import (
	"bytes"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// KillAtCommit makes the first n transactions that insert or update a row
// of table lose their connection while they commit: a deferred constraint
// trigger, which runs inside COMMIT (or at the end of an autocommitted
// statement), terminates its own backend (pg_terminate_backend, SQLSTATE
// 57P01). The client has sent the COMMIT and gets no answer to it; the
// server rolls the transaction back. fired reports how many times the
// trigger ran (once per row and attempt), so a test can tell a rerun. On
// Citus (TEST_CITUS_URL) the trigger runs on the table's shards on the
// workers and terminates the worker's backend: see citusKiller.
func KillAtCommit(t testing.TB, q *sql.DB, table string, n int) (fired func() int) {
	t.Helper()
	return killer(t, q, table, n, "CONSTRAINT TRIGGER %s AFTER INSERT OR UPDATE ON %s DEFERRABLE INITIALLY DEFERRED")
}

// KillInStatement is KillAtCommit with the backend terminated while the
// INSERT or UPDATE runs, before any COMMIT.
func KillInStatement(t testing.TB, q *sql.DB, table string, n int) (fired func() int) {
	t.Helper()
	return killer(t, q, table, n, "TRIGGER %s BEFORE INSERT OR UPDATE ON %s")
}

func killer(t testing.TB, q *sql.DB, table string, n int, trigger string) func() int {
	name := "lm_kill_" + table
	if OnCitus() {
		return citusKiller(t, q, table, name, n, trigger)
	}
	// Re-arming replaces the previous killer on the table.
	stmt := killFunction(name, n) + fmt.Sprintf("CREATE "+trigger+" FOR EACH ROW EXECUTE FUNCTION %s()", name, table, name)
	if _, err := q.Exec(stmt); err != nil {
		t.Fatalf("suitedb: kill trigger on %s: %v", table, err)
	}
	return func() int {
		t.Helper()
		var v int
		var called bool
		if err := q.QueryRow(`SELECT last_value, is_called FROM `+name+`_seq`).Scan(&v, &called); err != nil {
			t.Fatal(err)
		}
		if !called {
			return 0
		}
		return v
	}
}

// CutProxy forwards TCP to a PostgreSQL server. Armed, it closes a
// connection as soon as the server starts replying to a message, after the
// server has done the work: a write committed whose answer never arrives.
type CutProxy struct {
	URL     string // rawURL through the proxy
	next    atomic.Bool
	trigger atomic.Pointer[[]byte]
}

// NewCutProxy starts a proxy to rawURL's host, closed with the test.
func NewCutProxy(t testing.TB, rawURL string) *CutProxy {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = ln.Addr().String()
	p := &CutProxy{URL: u.String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	// Pools may outlive the test's handles: close their links here.
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			var cut atomic.Bool // this connection's next reply is cut
			wg.Add(2)
			go func() { defer wg.Done(); p.request(server, client, &cut); server.Close() }()
			go func() { defer wg.Done(); p.reply(client, server, &cut) }()
		}
	}()
	return p
}

// CutNextReply arms the proxy: the next reply the server starts to send, on
// any connection, is cut.
func (p *CutProxy) CutNextReply() { p.next.Store(true) }

// CutReplyTo arms the proxy: the reply to the next message that contains
// text (case-insensitive, e.g. "commit\x00": pgx's COMMIT) is cut.
func (p *CutProxy) CutReplyTo(text string) {
	b := bytes.ToLower([]byte(text))
	p.trigger.Store(&b)
}

func (p *CutProxy) request(server, client net.Conn, cut *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if t := p.trigger.Load(); t != nil && bytes.Contains(bytes.ToLower(buf[:n]), *t) && p.trigger.CompareAndSwap(t, nil) {
				cut.Store(true) // before the server can answer
			}
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *CutProxy) reply(client, server net.Conn, cut *atomic.Bool) {
	defer client.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 && (cut.Load() || p.next.CompareAndSwap(true, false)) {
			server.Close()
			return
		}
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// citusKiller arms the kill trigger where the table's rows are written on
// a Citus cluster: on its shards, on the worker nodes (a trigger on the
// coordinator's distributed table would not run there). A distributed
// table's shards are armed on every worker; a reference table, written on
// every node in one distributed transaction, on one worker only, so that a
// write fires it once. Each node counts its own runs; fired sums them (a
// test's writes to one tenant go to one worker). The terminated backend is
// the worker's: the coordinator reports the error to the client on a
// connection that stays open.
func citusKiller(t testing.TB, q *sql.DB, table, name string, n int, trigger string) func() int {
	t.Helper()
	rows, err := q.Query(`SELECT s.nodename, s.nodeport, s.shard_name, s.citus_table_type
		FROM citus_shards s JOIN pg_dist_node d ON d.nodename = s.nodename AND d.nodeport = s.nodeport
		WHERE s.table_name = $1::regclass AND d.groupid <> 0 ORDER BY s.nodeport, s.shardid`, table)
	if err != nil {
		t.Fatalf("suitedb: shards of %s: %v", table, err)
	}
	shards := map[string][]string{} // by node URL
	var nodes []string
	for rows.Next() {
		var host, shard, kind string
		var port int
		if err := rows.Scan(&host, &port, &shard, &kind); err != nil {
			t.Fatal(err)
		}
		u := citusNodeURL(t, q, host, port)
		if kind == "reference" && len(nodes) > 0 && nodes[0] != u {
			continue
		}
		if len(shards[u]) == 0 {
			nodes = append(nodes, u)
		}
		shards[u] = append(shards[u], shard)
	}
	if err := rows.Close(); err != nil || len(nodes) == 0 {
		t.Fatalf("suitedb: no shards of %s on a worker (%v)", table, err)
	}
	var handles []*sql.DB
	for _, u := range nodes {
		node, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		handles = append(handles, node)
		// The shards are the node's own tables, hidden and guarded by
		// Citus from other sessions than its own unless told otherwise.
		stmt := `SET citus.enable_ddl_propagation = off;
			SET citus.enable_manual_changes_to_shards = on;
			SET citus.override_table_visibility = off;
			` + killFunction(name, n)
		for _, shard := range shards[u] {
			stmt += fmt.Sprintf("CREATE "+trigger+" FOR EACH ROW EXECUTE FUNCTION %s();\n", name, shard, name)
		}
		if _, err := node.Exec(stmt); err != nil {
			t.Fatalf("suitedb: kill trigger on the shards of %s: %v", table, err)
		}
	}
	return func() int {
		t.Helper()
		total := 0
		for _, node := range handles {
			var v int
			var called bool
			if err := node.QueryRow(`SELECT last_value, is_called FROM `+name+`_seq`).Scan(&v, &called); err != nil {
				t.Fatal(err)
			}
			if called {
				total += v
			}
		}
		return total
	}
}

// killFunction is the SQL (re)creating the trigger function that
// terminates its own backend on the first n rows, with its counter.
func killFunction(name string, n int) string {
	return fmt.Sprintf(`DROP FUNCTION IF EXISTS %[1]s() CASCADE;
		DROP SEQUENCE IF EXISTS %[1]s_seq;
		CREATE SEQUENCE %[1]s_seq;
		CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('%[1]s_seq') <= %[2]d THEN
				PERFORM pg_terminate_backend(pg_backend_pid());
				PERFORM pg_sleep(10); -- the termination interrupts it
			END IF;
			RETURN NEW;
		END $$;
		`, name, n)
}
