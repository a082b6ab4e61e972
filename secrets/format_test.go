package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/notificationprovider"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// TestCredentialFormatsHideTheCiphertext prints a credential every way a
// service might (fmt with every verb and flag, by pointer and by value,
// alone, in slices, maps and structs, as an eager-loaded edge; JSON; slog's
// text and JSON handlers) and fails when any output carries the sealed
// secret in any encoding (raw, hex, base64, decimal or Go-syntax bytes).
func TestCredentialFormatsHideTheCiphertext(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	k := keyring(t, "k1:"+newKey(t))
	const plain = "sk-live-FORMAT-PLAINTEXT"
	created := create(t, ctx, env.Client, k, plain)
	if err := env.Client.NotificationProvider.Create().SetChannel("email").SetProvider("ses").SetDisplayName("SES").
		SetCredentialID(created.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	cred := env.Client.Credential.GetX(ctx, created.ID)
	if len(cred.SecretCiphertext) < 40 {
		t.Fatalf("ciphertext of %d bytes: the test needs a real one", len(cred.SecretCiphertext))
	}
	np := env.Client.NotificationProvider.Query().Where(notificationprovider.CredentialID(cred.ID)).WithCredential().OnlyX(ctx)
	if np.Edges.Credential == nil {
		t.Fatal("edge not loaded")
	}

	values := map[string]any{
		"pointer":          cred,
		"value":            *cred,
		"slice":            ent.Credentials{cred},
		"value slice":      []ent.Credential{*cred},
		"map":              map[string]*ent.Credential{"c": cred},
		"struct field":     struct{ C *ent.Credential }{cred},
		"value field":      struct{ C ent.Credential }{*cred},
		"edge":             np,
		"edge value":       *np,
		"edges struct":     np.Edges,
		"pointer to value": &struct{ C ent.Credential }{*cred},
	}
	var outputs []string
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "% x", "%-10v", "%T"} {
			outputs = append(outputs, name+" "+verb+": "+fmt.Sprintf(verb, v))
		}
		outputs = append(outputs, name+" Sprint: "+fmt.Sprint(v), name+" Sprintln: "+fmt.Sprintln(v))
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: json: %v", name, err)
		}
		outputs = append(outputs, name+" json: "+string(j))
		for _, h := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var b bytes.Buffer
			slog.New(h(&b)).Info("credential", "c", v, slog.Group("g", "c", v))
			outputs = append(outputs, name+" slog: "+b.String())
		}
	}
	shown := false
	for _, out := range outputs {
		if enc := leak(out, cred.SecretCiphertext); enc != "" {
			t.Errorf("ciphertext (%s) printed by %s", enc, out)
		}
		if strings.Contains(out, plain) {
			t.Errorf("plaintext printed by %s", out)
		}
		shown = shown || strings.Contains(out, "openai") // not vacuous: the rest is printed
	}
	if !shown {
		t.Fatal("no output shows the credential's provider: the formats print nothing useful")
	}
}

// leak names the encoding in which out carries a window of ct, or "".
// A window (not the whole) is searched, so a partial or re-quoted dump
// is caught too.
func leak(out string, ct []byte) string {
	w := ct[8:32]
	lowerOut := strings.ToLower(out)
	var decimal, goSyntax []string
	for _, b := range w {
		decimal = append(decimal, fmt.Sprint(b))
		goSyntax = append(goSyntax, fmt.Sprintf("%#x", b))
	}
	switch {
	case strings.Contains(out, string(w)):
		return "raw"
	case strings.Contains(lowerOut, hex.EncodeToString(w)):
		return "hex"
	case strings.Contains(strings.ReplaceAll(lowerOut, " ", ""), hex.EncodeToString(w)):
		return "spaced hex"
	case strings.Contains(out, strings.Join(decimal, " ")):
		return "decimal"
	case strings.Contains(out, strings.Join(goSyntax, ", ")):
		return "Go syntax"
	case strings.Contains(out, strings.Trim(fmt.Sprintf("%q", w), `"`)):
		return "quoted"
	}
	// Base64 of ct: the window starts at one of three alignments.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		full := enc.EncodeToString(ct)
		for off := 0; off < 3; off++ {
			s := strings.TrimRight(enc.EncodeToString(ct[off:]), "=")
			if len(s) > 32 && (strings.Contains(out, s[8:32]) || strings.Contains(out, full[8:32])) {
				return "base64"
			}
		}
	}
	return ""
}
