package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
)

// benchUser is the user the benchmark creates and logs in as.
const benchUser = "bench"

// cliFunc runs one gatehouse CLI command; see proc.Server.CLI.
type cliFunc func(ctx context.Context, stdin string, args ...string) ([]byte, error)

// memo remembers the outcome of one setup step, success or failure, so
// that a scenario needing it again does not repeat it (or its error).
type memo[T any] struct {
	done bool
	val  T
	err  error
}

func (m *memo[T]) get(f func() (T, error)) (T, error) {
	if !m.done {
		m.val, m.err = f()
		m.done = true
	}
	return m.val, m.err
}

// clientCreds are an OAuth2 client's id and secret.
type clientCreds struct{ id, secret string }

// fixture creates, on first use, what the scenarios need: the user, its
// password token and API key, and a confidential client. It is used from
// one goroutine.
type fixture struct {
	base     string // server URL, http://127.0.0.1:port
	cli      cliFunc
	http     *http.Client
	password string

	user    memo[struct{}]
	token   memo[string]
	apiKey  memo[string]
	client  memo[clientCreds]
	ccToken memo[string]
}

func newFixture(base string, cli cliFunc, client *http.Client) *fixture {
	return &fixture{base: base, cli: cli, http: client, password: "bench-" + proc.RandomHex(16)}
}

// ensureUser runs `gatehouse user create bench --password-stdin --scopes
// "read write" --json`.
func (f *fixture) ensureUser(ctx context.Context) error {
	_, err := f.user.get(func() (struct{}, error) {
		out, err := f.cli(ctx, f.password+"\n", "user", "create", benchUser,
			"--password-stdin", "--scopes", "read write", "--json")
		if err != nil {
			return struct{}{}, err
		}
		var u struct {
			Username string `json:"username"`
		}
		if err := json.Unmarshal(out, &u); err != nil {
			return struct{}{}, fmt.Errorf("gatehouse user create --json: decode output: %w", err)
		}
		if u.Username != benchUser {
			return struct{}{}, fmt.Errorf("gatehouse user create --json: username %q, want %q", u.Username, benchUser)
		}
		return struct{}{}, nil
	})
	return err
}

// userToken returns an access token of the bench user from the password
// grant.
func (f *fixture) userToken(ctx context.Context) (string, error) {
	return f.token.get(func() (string, error) {
		if err := f.ensureUser(ctx); err != nil {
			return "", err
		}
		form := url.Values{"grant_type": {"password"}, "username": {benchUser}, "password": {f.password}}
		return f.fetchToken(ctx, form, nil)
	})
}

// userAPIKey returns a new API key of the bench user.
func (f *fixture) userAPIKey(ctx context.Context) (string, error) {
	return f.apiKey.get(func() (string, error) {
		if err := f.ensureUser(ctx); err != nil {
			return "", err
		}
		out, err := f.cli(ctx, "", "apikey", "create", "--user", benchUser, "--json")
		if err != nil {
			return "", err
		}
		var k struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(out, &k); err != nil {
			return "", fmt.Errorf("gatehouse apikey create --json: decode output: %w", err)
		}
		if k.Key == "" {
			return "", errors.New(`gatehouse apikey create --json: no "key" in the output`)
		}
		return k.Key, nil
	})
}

// clientCredentials returns a new confidential client allowed the
// client_credentials grant.
func (f *fixture) clientCredentials(ctx context.Context) (clientCreds, error) {
	return f.client.get(func() (clientCreds, error) {
		out, err := f.cli(ctx, "", "client", "create", "--name", "bench", "--grant", "client_credentials", "--json")
		if err != nil {
			return clientCreds{}, err
		}
		var c struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		if err := json.Unmarshal(out, &c); err != nil {
			return clientCreds{}, fmt.Errorf("gatehouse client create --json: decode output: %w", err)
		}
		if c.ID == "" || c.Secret == "" {
			return clientCreds{}, errors.New(`gatehouse client create --json: no "client_id" or "client_secret" in the output`)
		}
		return clientCreds{id: c.ID, secret: c.Secret}, nil
	})
}

// clientToken returns an access token of the bench client from the
// client-credentials grant.
func (f *fixture) clientToken(ctx context.Context) (string, error) {
	return f.ccToken.get(func() (string, error) {
		c, err := f.clientCredentials(ctx)
		if err != nil {
			return "", err
		}
		return f.fetchToken(ctx, url.Values{"grant_type": {"client_credentials"}}, basicAuth(c))
	})
}

// fetchToken posts form to /oauth2/token and returns the access token.
func (f *fixture) fetchToken(ctx context.Context, form url.Values, header http.Header) (string, error) {
	what := "POST /oauth2/token grant_type=" + form.Get("grant_type")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d: %s", what, resp.StatusCode, snippet(body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("%s: no access_token in the response", what)
	}
	return tok.AccessToken, nil
}

// basicAuth returns the client_secret_basic header of c, with both parts
// form-encoded first as RFC 6749 §2.3.1 requires.
func basicAuth(c clientCreds) http.Header {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	return req.Header
}

// snippet shortens a response body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
