package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/credential"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/privacy"
)

// SetSecret seals plaintext into a credential being created (it fixes the
// id first, since the id is bound to the ciphertext).
func (k *Keyring) SetSecret(c *ent.CredentialCreate, plaintext []byte) error {
	id, ok := c.Mutation().ID()
	if !ok {
		id = cuid.New()
		c.SetID(id)
	}
	// The id is bound into the ciphertext: refuse a bad one before sealing
	// (the create hook would refuse it on Save anyway).
	if err := input.Text("Credential", "id", id); err != nil {
		return err
	}
	keyID, sealed, err := k.Seal(id, plaintext)
	if err != nil {
		return err
	}
	c.SetKeyID(keyID).SetSecretCiphertext(sealed)
	return nil
}

// UpdateSecret seals a new plaintext into the credential u updates; the
// id the secret is bound to is the one u targets, so they cannot differ.
func (k *Keyring) UpdateSecret(u *ent.CredentialUpdateOne, plaintext []byte) error {
	id, ok := u.Mutation().ID()
	if !ok {
		return errors.New("secrets: update of a credential without an id")
	}
	keyID, sealed, err := k.Seal(id, plaintext)
	if err != nil {
		return err
	}
	u.SetKeyID(keyID).SetSecretCiphertext(sealed)
	return nil
}

// Reveal decrypts a credential's secret: the only way to read it.
func (k *Keyring) Reveal(c *ent.Credential) (Secret, error) {
	s, err := k.Open(c.ID, c.KeyID, c.SecretCiphertext)
	if err != nil {
		return Secret{}, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	return s, nil
}

// Rotate re-seals, with the current key, every credential sealed with
// another key (soft-deleted ones included), as the system viewer, in
// transactions of batch rows each. Each batch commits whole or not at all;
// a row that does not open stops the rotation with its error, and a rerun
// continues where it stopped. It returns the number of rows re-sealed.
func (k *Keyring) Rotate(ctx context.Context, client *ent.Client, batch int) (int, error) {
	if batch <= 0 {
		batch = 100
	}
	ctx = privacy.WithDeleted(privacy.WithSystem(ctx))
	total := 0
	for {
		n, err := k.rotateBatch(ctx, client, batch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (k *Keyring) rotateBatch(ctx context.Context, client *ent.Client, batch int) (int, error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.Credential.Query().
		Where(credential.KeyIDNEQ(k.current)).
		Order(ent.Asc(credential.FieldID)).Limit(batch).
		ForUpdate().All(ctx)
	if err != nil {
		return 0, err
	}
	for _, c := range rows {
		s, err := k.Reveal(c)
		if err != nil {
			return 0, err
		}
		u := tx.Credential.UpdateOneID(c.ID)
		if err := k.UpdateSecret(u, s.Reveal()); err != nil {
			return 0, err
		}
		if err := u.Exec(ctx); err != nil {
			return 0, fmt.Errorf("credential %s: %w", c.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return len(rows), nil
}
