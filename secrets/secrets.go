// Package secrets seals credential secrets with AES-256-GCM under keys
// taken from the environment, and re-encrypts them when the key rotates.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvKeys names the variable holding the keys: "id1:base64key,id2:base64key",
// each key 32 bytes (AES-256) in standard base64; the first is current (it
// seals), the others only open older rows until rotation re-seals them.
const EnvKeys = "CREDENTIALS_KEYS"

// Typed errors; none carries key material or plaintext.
var (
	ErrNoKeys     = errors.New("secrets: no encryption key configured (" + EnvKeys + ")")
	ErrBadKeySpec = errors.New("secrets: invalid " + EnvKeys)
	ErrUnknownKey = errors.New("secrets: secret sealed with an unknown key id")
	ErrDecrypt    = errors.New("secrets: secret does not open with its key (wrong key or tampered ciphertext)")
)

// Secret is a decrypted secret. It prints as a placeholder (fmt, %v, %+v,
// %#v, logs); use Reveal to get the bytes, only where they are sent.
type Secret struct{ b []byte }

// Reveal returns the plaintext.
func (s Secret) Reveal() []byte { return s.b }

// String hides the secret.
func (Secret) String() string { return "[redacted]" }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return "secrets.Secret{[redacted]}" }

// Keyring holds the encryption keys.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// FromEnv reads the keys from CREDENTIALS_KEYS.
func FromEnv() (*Keyring, error) { return ParseKeys(os.Getenv(EnvKeys)) }

// ParseKeys parses "id1:base64key,id2:base64key"; the first is current.
func ParseKeys(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, ErrNoKeys
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" || len(id) > 100 {
			return nil, fmt.Errorf("%w: entry %d is not id:base64key", ErrBadKeySpec, i+1)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%w: key %q is not 32 bytes of base64", ErrBadKeySpec, id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%w: key id %q twice", ErrBadKeySpec, id)
		}
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		k.aeads[id] = aead
		if i == 0 {
			k.current = id
		}
	}
	return k, nil
}

// Current returns the id of the key that seals.
func (k *Keyring) Current() string { return k.current }

// Seal encrypts plaintext for the credential with id credentialID (bound as
// additional data: a ciphertext copied to another row does not open) and
// returns the key id and nonce||ciphertext to store.
func (k *Keyring) Seal(credentialID string, plaintext []byte) (keyID string, sealed []byte, err error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	return k.current, aead.Seal(nonce, nonce, plaintext, []byte(credentialID)), nil
}

// Open decrypts what Seal returned.
func (k *Keyring) Open(credentialID, keyID string, sealed []byte) (Secret, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return Secret{}, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(sealed) < aead.NonceSize() {
		return Secret{}, ErrDecrypt
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(credentialID))
	if err != nil {
		return Secret{}, ErrDecrypt
	}
	return Secret{plain}, nil
}
