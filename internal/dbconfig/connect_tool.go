package dbconfig

import (
	"context"
	"database/sql"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "github.com/lib/pq"              // the "postgres" driver
)

// Connect opens a plain database/sql pool on c and checks that the server
// answers, for tools (dbctl) that need neither pgxpool nor telemetry:
// services use db.Open. Failures are a *ConfigError or a *ConnectError,
// with no password in their text.
func Connect(ctx context.Context, c Config) (*sql.DB, error) {
	dsn, err := ValidDSN(c)
	if err != nil {
		return nil, err
	}
	sqlDB, err := sql.Open(c.Driver, dsn)
	if err != nil {
		return nil, &ConfigError{Variable: "DATABASE_URL", Reason: Scrub(err.Error(), c.URL)}
	}
	sqlDB.SetMaxOpenConns(c.PoolMax)
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if t := ConnectTimeout(c); t > 0 {
		// A little slack, so the driver's own timeout fires first.
		pctx, cancel = context.WithTimeout(ctx, t+t/4)
	}
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		sqlDB.Close()
		return nil, WrapConnectError(c, ctx, err)
	}
	return sqlDB, nil
}
