package studio

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/auditlog"
	"github.com/leadmetrics/db/privacy"
)

// A view is one page view, on the record as an audit log row of its
// tenant (the platform's for the tenant list and the system view).
type view struct {
	tenant, entity, id, path string
}

// auditor writes page views in batches: a view costs the request a
// channel send, and a batch one INSERT. Views are written as the system
// viewer so that a suspended tenant's pages (reads go on) are on the
// record too; edits are audited in their own transaction, as the tenant.
type auditor struct {
	c      *ent.Client
	actor  string
	every  time.Duration
	log    io.Writer
	ch     chan view
	done   chan struct{}
	closed sync.Once
}

const auditBatch = 200

func newAuditor(c *ent.Client, actor string, every time.Duration, log io.Writer) *auditor {
	a := &auditor{c: c, actor: actor, every: every, log: log, ch: make(chan view, 4*auditBatch), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *auditor) record(v view) { a.ch <- v }

func (a *auditor) run() {
	defer close(a.done)
	t := time.NewTicker(a.every)
	defer t.Stop()
	var batch []view
	for {
		select {
		case v, ok := <-a.ch:
			if !ok {
				a.flush(batch)
				return
			}
			if batch = append(batch, v); len(batch) >= auditBatch {
				a.flush(batch)
				batch = nil
			}
		case <-t.C:
			a.flush(batch)
			batch = nil
		}
	}
}

func (a *auditor) flush(batch []view) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = privacy.WithActor(privacy.WithSystem(ctx), privacy.ActorUser, a.actor)
	bs := make([]*ent.AuditLogCreate, len(batch))
	for i, v := range batch {
		bs[i] = a.c.AuditLog.Create().SetTenantID(v.tenant).SetActorType(auditlog.ActorTypeUser).
			SetActorID(a.actor).SetAction("studio.view").SetEntityType(v.entity).SetEntityID(v.id).
			SetChanges(map[string]any{"path": v.path})
	}
	if err := a.c.AuditLog.CreateBulk(bs...).Exec(ctx); err != nil {
		// The views were served: say loudly that their record failed.
		fmt.Fprintf(a.log, "studio: AUDIT WRITE FAILED for %d page view(s): %v\n", len(batch), err)
	}
}

// close writes what is pending and stops.
func (a *auditor) close() {
	a.closed.Do(func() { close(a.ch) })
	<-a.done
}
