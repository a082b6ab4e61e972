package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/secrets"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func keyring(t *testing.T, spec string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func create(t *testing.T, ctx context.Context, c *ent.Client, k *secrets.Keyring, plain string) *ent.Credential {
	t.Helper()
	b := c.Credential.Create().SetKind("api_key").SetProvider("openai")
	if err := k.SetSecret(b, []byte(plain)); err != nil {
		t.Fatal(err)
	}
	return b.SaveX(ctx)
}

func TestSecretEncryptedAtRest(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	k := keyring(t, "k1:"+newKey(t))
	const plain = "sk-live-THIS-IS-THE-PLAINTEXT"
	cred := create(t, ctx, env.Client, k, plain)

	var stored []byte
	var keyID string
	if err := env.DB.QueryRow(`SELECT secret_ciphertext, key_id FROM credentials WHERE id = $1`, cred.ID).Scan(&stored, &keyID); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(plain)) || bytes.Contains(stored, []byte("PLAINTEXT")) || keyID != "k1" {
		t.Fatalf("column holds plaintext or wrong key id %q", keyID)
	}
	got := env.Client.Credential.GetX(ctx, cred.ID)
	for _, s := range []string{got.String(), fmt.Sprintf("%v %+v", got, got)} {
		if strings.Contains(s, plain) {
			t.Fatalf("printed plaintext: %s", s)
		}
	}
	secret, err := k.Reveal(got)
	if err != nil || string(secret.Reveal()) != plain {
		t.Fatalf("reveal: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", secret, secret, secret, secret); strings.Contains(s, plain) {
		t.Fatalf("Secret printed its plaintext: %s", s)
	}
}

func TestWrongKeyFailsCleanly(t *testing.T) {
	k1 := keyring(t, "k1:"+newKey(t))
	keyID, sealed, err := k1.Seal("cred1", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	other := keyring(t, "k1:"+newKey(t)) // same id, different key
	if _, err := other.Open("cred1", keyID, sealed); !errors.Is(err, secrets.ErrDecrypt) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := keyring(t, "k9:"+newKey(t)).Open("cred1", keyID, sealed); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := k1.Open("cred2", keyID, sealed); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("ciphertext moved to another row opened: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := k1.Open("cred1", keyID, tampered); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	for _, bad := range []string{"", "k1", "k1:short", "k1:" + newKey(t) + ",k1:" + newKey(t)} {
		if _, err := secrets.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
}

func TestRotateReencryptsEveryRow(t *testing.T) {
	env := tenancytest.New(t, 2)
	old, fresh := newKey(t), newKey(t)
	k1 := keyring(t, "k1:"+old)
	want := map[string]string{}
	for i := range 230 {
		ctx := privacy.WithTenant(context.Background(), env.Tenants[i%2])
		plain := fmt.Sprintf("secret-%d", i)
		c := create(t, ctx, env.Client, k1, plain)
		want[c.ID] = plain
		if i == 7 {
			env.Client.Credential.DeleteOne(c).ExecX(ctx) // soft-deleted rows rotate too
		}
	}
	k2 := keyring(t, "k2:"+fresh+",k1:"+old)
	n, err := k2.Rotate(context.Background(), env.Client, 100)
	if err != nil || n != len(want) {
		t.Fatalf("rotated %d of %d: %v", n, len(want), err)
	}
	onlyNew := keyring(t, "k2:"+fresh)
	rows, err := env.DB.Query(`SELECT id, key_id, secret_ciphertext FROM credentials`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id, keyID string
		var sealed []byte
		rows.Scan(&id, &keyID, &sealed)
		s, err := onlyNew.Open(id, keyID, sealed)
		if err != nil || string(s.Reveal()) != want[id] {
			t.Fatalf("row %s after rotation: key %s, %v", id, keyID, err)
		}
		seen++
	}
	if seen != len(want) {
		t.Fatalf("%d rows", seen)
	}
	if n, err := k2.Rotate(context.Background(), env.Client, 100); n != 0 || err != nil {
		t.Fatalf("second rotation: %d %v", n, err)
	}
}
