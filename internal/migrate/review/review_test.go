package review_test

import (
	"context"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/migrate/review"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

func TestMarkdown(t *testing.T) {
	base := migrate.NewLocalFile("20260101000000_init.sql", []byte(`CREATE TABLE "users" ("id" bigint NOT NULL, "name" character varying(100) NULL, "legacy" text NULL, "age" integer NULL, PRIMARY KEY ("id"));
CREATE TABLE "old" ("id" bigint NOT NULL);
`))
	pending := migrate.NewLocalFile("20260102000000_change.sql", []byte(`-- Add "posts" table
CREATE TABLE "posts" ("id" bigint NOT NULL, "user_id" bigint NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "posts_users_posts" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE);
ALTER TABLE "users" ADD COLUMN "email" character varying(320) NOT NULL DEFAULT '', DROP COLUMN "legacy";
ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL, ALTER COLUMN "age" TYPE bigint;
CREATE UNIQUE INDEX "user_email" ON "users" ("email") WHERE (email <> '');
ALTER TABLE "users" ADD CONSTRAINT "age_positive" CHECK (age > 0);
DROP TABLE "old";
`))
	res, err := lint.Run(context.Background(), suitedb.EmptyURL(t), []migrate.File{base}, []migrate.File{pending})
	if err != nil {
		t.Fatal(err)
	}
	doc := string(review.Markdown(res))
	for _, want := range []string{
		"1 pending migration file(s) after version 20260101000000. Lint: **2 error(s)**,",
		"### `20260102000000_change.sql`",
		"| 2 | added table | `posts` | 2 columns (id bigint, user_id bigint), 1 foreign keys |",
		"| 3 | added column | `users.email` | character varying(320) NOT NULL DEFAULT '' |",
		"| 3 | dropped column | `users.legacy` | was text NULL |",
		"| 4 | altered column | `users.name` | NULL → NOT NULL |",
		"| 4 | altered column | `users.age` | type integer → bigint |",
		"| 5 | added index | `users.user_email` | UNIQUE (email) WHERE ((email)::text <> ''::text) |",
		"| 6 | added check | `users.age_positive` | (age > 0) |",
		"| 7 | dropped table | `old` |  |",
		"| 3 | [DS103](https://atlasgo.io/lint/analyzers#DS103) | error | Dropping non-virtual column \"legacy\" |",
		"| 5 | [LM101](MIGRATIONS.md#lint-codes) | warning |",
		"<details><summary>SQL</summary>",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("review lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(doc)
	}
}

// TestMarkdownShowsAcknowledged: a finding silenced by atlas:nolint does
// not count, but the reviewer still sees it, marked acknowledged.
func TestMarkdownShowsAcknowledged(t *testing.T) {
	base := migrate.NewLocalFile("20260101000000_init.sql", []byte(`CREATE TABLE "users" ("id" bigint NOT NULL, "legacy" text NULL, PRIMARY KEY ("id"));
`))
	pending := migrate.NewLocalFile("20260102000000_drop.sql", []byte(`-- legacy was never read.
-- atlas:nolint DS103
ALTER TABLE "users" DROP COLUMN "legacy";
`))
	res, err := lint.Run(context.Background(), suitedb.EmptyURL(t), []migrate.File{base}, []migrate.File{pending})
	if err != nil {
		t.Fatal(err)
	}
	doc := string(review.Markdown(res))
	for _, want := range []string{
		"Lint: **0 error(s)**, 0 warning(s), 1 acknowledged.",
		"| 3 | [DS103](https://atlasgo.io/lint/analyzers#DS103) | acknowledged error (`atlas:nolint`) | Dropping non-virtual column \"legacy\" |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("review lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "Lint: no findings.") {
		t.Errorf("review says no findings:\n%s", doc)
	}
}
