package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// A bad credential id is refused before it is sealed into the ciphertext;
// bad text in the other fields is refused on save; the plaintext is bytes
// and may hold any byte. Nothing is written by a refused call.
func TestBadInput(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	k := keyring(t, "k1:"+newKey(t))
	before := env.Fingerprint()
	for _, id := range []string{"c\x00", "c\xff"} {
		err := k.SetSecret(env.Client.Credential.Create().SetID(id).SetKind("api_key").SetProvider("p"), []byte("s"))
		var verr *input.ValidationError
		if !errors.As(err, &verr) || verr.Entity != "Credential" || verr.Field != "id" {
			t.Errorf("SetSecret with id %q: %v", id, err)
		}
	}
	b := env.Client.Credential.Create().SetKind("api_key").SetProvider("p").SetLabel("l\x00")
	if err := k.SetSecret(b, []byte("s")); err != nil {
		t.Fatal(err)
	}
	var verr *input.ValidationError
	if err := b.Exec(ctx); !errors.As(err, &verr) || verr.Field != "label" || !ent.IsValidationError(err) {
		t.Errorf("label with NUL: %v", err)
	}
	if env.Fingerprint() != before {
		t.Error("a refused credential changed the database")
	}
	// Any byte in the plaintext is fine: it is sealed into bytea.
	cred := create(t, ctx, env.Client, k, "\x00\xff")
	if s, err := k.Reveal(cred); err != nil || string(s.Reveal()) != "\x00\xff" {
		t.Fatalf("binary secret: %v", err)
	}
}
