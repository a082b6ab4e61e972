// Package containers lets dbtest (and this repository's tests) start a
// throwaway PostgreSQL 15 with testcontainers when no server answers: a
// module opts in by importing it in a test file,
//
//	import _ "github.com/leadmetrics/db/dbtest/containers"
//
// which brings testcontainers and the Docker client into that module's
// go.mod; dbtest alone does not. The container runs until the test binary
// exits (Ryuk, testcontainers' reaper, removes it).
package containers

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/leadmetrics/db/internal/testing/suitedb"
)

func init() { suitedb.StartServer = start }

func start() (string, error) {
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			return "", errors.New("no Docker engine")
		}
	}
	ctx := context.Background()
	c, err := tcpostgres.Run(ctx, "postgres:15-alpine",
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").
			WithOccurrence(2).WithStartupTimeout(60*time.Second)))
	if err != nil {
		return "", err
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}
