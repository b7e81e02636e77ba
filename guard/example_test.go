package guard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/guard"
)

// staticAPIKeys is a toy [guard.APIKeyVerifier]. In a real service the
// gatehouse server (or a remote introspection client) supplies one that
// checks hashed keys, expiry and revocation.
type staticAPIKeys map[string]*guard.Principal

func (m staticAPIKeys) VerifyAPIKey(_ context.Context, key string) (*guard.Principal, error) {
	if p, ok := m[key]; ok {
		return p, nil
	}
	return nil, errors.New("unknown API key")
}

// staticKeys is a toy [guard.KeySet] with one public key pinned to ES256.
type staticKeys struct {
	kid string
	pub *ecdsa.PublicKey
}

func (k staticKeys) VerificationKey(_ context.Context, kid string) (any, jose.SignatureAlgorithm, error) {
	if kid != k.kid {
		return nil, "", fmt.Errorf("unknown kid %q", kid)
	}
	return k.pub, jose.ES256, nil
}

// exampleToken signs an access token the way the gatehouse server does.
func exampleToken(priv *ecdsa.PrivateKey, kid string, exp time.Time) string {
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, opts)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss":       "https://auth.example.com",
		"aud":       "https://api.example.com",
		"sub":       "user-42",
		"client_id": "reporting-app",
		"scope":     "reports:read profile",
		"jti":       "8f1c2e",
		"iat":       time.Now().Unix(),
		"exp":       exp.Unix(),
	}).Serialize()
	if err != nil {
		log.Fatal(err)
	}
	return tok
}

// show prints what a client would see for r.
func show(h http.Handler, r *http.Request) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if c := w.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Println(w.Code, c)
	} else {
		fmt.Println(w.Code)
	}
	fmt.Print(w.Body.String())
}

func ExampleNew() {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	g, err := guard.New(guard.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
		Keys:     staticKeys{kid: "2030-01", pub: &priv.PublicKey},
		APIKeys: staticAPIKeys{
			"gk_demo": {Subject: "user-7", Scopes: []string{"reports:read"}, KeyID: "key-1"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("realm:", g.Realm())

	_, err = guard.New(guard.Config{Keys: staticKeys{}})
	fmt.Println(err)
	// Output:
	// realm: gatehouse
	// guard: invalid config
	// Issuer is required with Keys
	// Audience is required with Keys
}

func ExampleGuard_Require() {
	g, err := guard.New(guard.Config{APIKeys: staticAPIKeys{
		"gk_reader": {Subject: "user-7", Scopes: []string{"reports:read"}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "reports for %s\n", p.Subject)
	})
	mux.Handle("GET /reports", g.Require("reports:read")(reports))
	mux.Handle("DELETE /reports", g.Require("reports:write")(reports))

	r := httptest.NewRequest("GET", "/reports", nil)
	r.Header.Set("X-API-Key", "gk_reader")
	show(mux, r)

	show(mux, httptest.NewRequest("GET", "/reports", nil))

	r = httptest.NewRequest("DELETE", "/reports", nil)
	r.Header.Set("Authorization", "Bearer gk_reader") // a gk_ bearer is an API key
	show(mux, r)

	r = httptest.NewRequest("GET", "/reports", nil)
	r.Header.Set("X-API-Key", "gk_wrong")
	show(mux, r)
	// Output:
	// 200
	// reports for user-7
	// 401 Bearer realm="gatehouse"
	// {"error":"unauthorized","error_description":"Missing API Key"}
	// 403 Bearer realm="gatehouse", error="insufficient_scope", scope="reports:write"
	// {"error":"insufficient_scope","error_description":"missing required scope: reports:write"}
	// 401 Bearer realm="gatehouse", error="invalid_token"
	// {"error":"invalid_token","error_description":"Invalid or inactive API Key"}
}

func ExampleGuard_RequireAny() {
	g, err := guard.New(guard.Config{APIKeys: staticAPIKeys{
		"gk_admin": {Subject: "root", Scopes: []string{"admin"}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	h := g.RequireAny("reports:read", "admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	r := httptest.NewRequest("GET", "/reports", nil)
	r.Header.Set("X-API-Key", "gk_admin")
	show(h, r)
	// Output:
	// 200
	// ok
}

func ExamplePrincipalFrom() {
	g, err := guard.New(guard.Config{APIKeys: staticAPIKeys{
		"gk_demo": {Subject: "user-7", Scopes: []string{"profile"}, KeyID: "key-1"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := guard.PrincipalFrom(r.Context())
		if !ok { // only without the guard in front
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s via %s key %s, scopes %v\n", p.Subject, p.Method, p.KeyID, p.Scopes)
	})
	r := httptest.NewRequest("GET", "/users/me", nil)
	r.Header.Set("X-API-Key", "gk_demo")
	show(g.Require()(me), r)
	// Output:
	// 200
	// user-7 via api_key key key-1, scopes [profile]
}

func ExampleGuard_VerifyAccessToken() {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	g, err := guard.New(guard.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
		Keys:     staticKeys{kid: "2030-01", pub: &priv.PublicKey},
	})
	if err != nil {
		log.Fatal(err)
	}
	tok := exampleToken(priv, "2030-01", time.Now().Add(15*time.Minute))
	p, err := g.VerifyAccessToken(context.Background(), tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Subject, p.ClientID, p.Method, p.SigningKeyID, strings.Join(p.Scopes, ","))

	_, err = g.VerifyAccessToken(context.Background(), exampleToken(priv, "2030-01", time.Now().Add(-time.Hour)))
	var expired *guard.TokenExpiredError
	fmt.Println("expired:", errors.As(err, &expired))
	// Output:
	// user-42 reporting-app bearer 2030-01 reports:read,profile
	// expired: true
}

func ExampleGuard_Authenticate() {
	g, err := guard.New(guard.Config{APIKeys: staticAPIKeys{
		"gk_demo": {Subject: "user-7"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	// A handler that treats anonymous callers differently authenticates
	// itself and writes only the errors it cares about.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := g.Authenticate(r)
		var ge *guard.Error
		switch {
		case errors.As(err, &ge) && ge.Code == "":
			io.WriteString(w, "hello, stranger\n")
		case err != nil:
			guard.WriteError(w, err, g.Realm())
		default:
			fmt.Fprintf(w, "hello, %s\n", p.Subject)
		}
	})
	show(h, httptest.NewRequest("GET", "/", nil))
	show(h, httptest.NewRequest("GET", "/?api_key=gk_demo", nil))
	// Output:
	// 200
	// hello, stranger
	// 400 Bearer realm="gatehouse", error="invalid_request"
	// {"error":"invalid_request","error_description":"credentials in the query string are not accepted; send the X-API-Key header"}
}

func ExampleWriteError() {
	w := httptest.NewRecorder()
	guard.WriteError(w, &guard.Error{
		Status:      http.StatusForbidden,
		Code:        guard.CodeInsufficientScope,
		Description: "missing required scope: admin",
		Scope:       "admin",
	}, "gatehouse")
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Header().Get("Cache-Control"))
	fmt.Print(w.Body.String())
	// Output:
	// 403 Bearer realm="gatehouse", error="insufficient_scope", scope="admin" no-store
	// {"error":"insufficient_scope","error_description":"missing required scope: admin"}
}

// A service apart from the gatehouse server verifies credentials knowing
// only the issuer and one confidential client of it: JWTs with the
// published keys, API keys by introspection, and revocations from the
// server's feed. (Not run as a test: it needs a running server.)
func ExampleNewRemote() {
	ctx := context.Background()
	g, err := guard.NewRemote(ctx, guard.RemoteConfig{
		Issuer:       "https://auth.example.com",
		ClientID:     os.Getenv("GATEHOUSE_CLIENT_ID"),
		ClientSecret: os.Getenv("GATEHOUSE_CLIENT_SECRET"),
	})
	if err != nil {
		// A wrong secret fails at once (*guard.StatusError); an issuer that
		// cannot be reached is retried until ctx ends.
		log.Fatal(err)
	}
	defer g.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /reports", g.Require("reports:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "reports for %s\n", p.Username)
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:8081", mux))
}
