package suitedb

import (
	"context"
	"fmt"
	"sync"
	"testing"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/privacy"
)

// Example functions have no *testing.T, yet they run in CI on a real
// database like every test: one database per test binary, made by URL as
// any test's, shared by the package's examples (each works as its own
// tenants), and dropped after m.Run by RunExamples.
var example struct {
	once     sync.Once
	url      string
	handle   *db.DB
	cleanups []func()
}

// exampleTB is the test URL sees for the examples: a failure panics (the
// example fails with the message), cleanups wait for RunExamples.
type exampleTB struct{ testing.TB } // nil: only the methods below are called

func (exampleTB) Helper()                      {}
func (exampleTB) Name() string                 { return "Example" }
func (exampleTB) Failed() bool                 { return false }
func (exampleTB) Log(...any)                   {}
func (exampleTB) Logf(string, ...any)          {}
func (exampleTB) Fatal(args ...any)            { panic("suitedb: " + fmt.Sprint(args...)) }
func (exampleTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (exampleTB) Skip(args ...any)             { panic("suitedb: an example cannot skip: " + fmt.Sprint(args...)) }
func (exampleTB) Context() context.Context     { return context.Background() }
func (exampleTB) Cleanup(f func())             { example.cleanups = append(example.cleanups, f) }

// ExampleURL is the URL of the examples' migrated database (through
// PgBouncer or on Citus as URL's, when the run says so).
func ExampleURL() string {
	example.once.Do(func() { example.url = URL(redacting{exampleTB{}}) })
	return example.url
}

// ExampleConfig is the configuration an example opens ExampleURL with,
// where a service reads db.ConfigFromEnv.
func ExampleConfig() db.Config { return Config(ExampleURL()) }

// ExampleHandle is a *db.DB on ExampleURL, shared by the examples of the
// test binary and closed by RunExamples.
func ExampleHandle() *db.DB {
	url := ExampleURL()
	if example.handle == nil {
		h, err := db.Open(context.Background(), Config(url))
		if err != nil {
			panic(fmt.Sprintf("suitedb: %v", err))
		}
		example.handle = h
	}
	return example.handle
}

// ExampleTenant creates an active tenant named name on ExampleHandle as
// the system viewer, the way the platform signs one up, and returns its id.
func ExampleTenant(name string) string {
	id := cuid.New()
	ctx := privacy.WithSystem(context.Background())
	if _, err := ExampleHandle().Tenant.Create().SetID(id).SetTenantID(id).SetRefID("signup-" + id).
		SetName(name).SetSlug("example-" + id).Save(ctx); err != nil {
		panic(fmt.Sprintf("suitedb: create tenant %q: %v", name, err))
	}
	return id
}

// RunExamples is the TestMain of a package with examples on the database:
// it runs the tests and examples, then closes and drops what they used.
func RunExamples(m *testing.M) int {
	code := m.Run()
	if example.handle != nil {
		example.handle.Close()
	}
	for i := len(example.cleanups) - 1; i >= 0; i-- {
		example.cleanups[i]()
	}
	return code
}
