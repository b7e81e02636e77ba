package e2e_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// Metrics (/metrics): what each request counts, the store's failures,
// who may scrape, and the settings' validation.

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

// mustScrape fetches /metrics from s and parses the text exposition.
func mustScrape(t testing.TB, s *testServer, hdr map[string]string) scrape {
	t.Helper()
	res, body := get(t, s.URL+"/metrics", hdr)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", res.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// series finds the metric of family name whose labels are exactly labels
// ("k=v" pairs); nil when there is none.
func (sc scrape) series(name string, labels ...string) *dto.Metric {
	mf := sc[name]
	if mf == nil {
		return nil
	}
	want := strings.Join(labels, ",")
	for _, m := range mf.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") == want {
			return m
		}
	}
	return nil
}

// value returns a counter's or gauge's value, or a histogram's sample
// count; -1 when the series does not exist.
func (sc scrape) value(name string, labels ...string) float64 {
	m := sc.series(name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

// delta checks that each series moved by exactly its want between before
// and after.
func checkDeltas(t *testing.T, before, after scrape, want map[string]float64) {
	t.Helper()
	for key, d := range want {
		name, labels, _ := strings.Cut(key, "|")
		var ls []string
		if labels != "" {
			ls = strings.Split(labels, ",")
		}
		b, a := before.value(name, ls...), after.value(name, ls...)
		if a < 0 {
			t.Errorf("%s{%s} is not exported", name, labels)
			continue
		}
		if b < 0 {
			b = 0
		}
		if a-b != d {
			t.Errorf("%s{%s} moved by %v, want %v", name, labels, a-b, d)
		}
	}
}

func TestMetricsCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		clk := newClock()
		s := newServer(t, withClock(clk))
		mustCreateUser(t, s, "alice", "correct horse", "read", "write")
		key := mustAPIKey(t, s, "alice", "read")
		before := mustScrape(t, s, nil)

		// Token endpoint: two password grants, a wrong password, a client
		// credentials grant, an unknown grant type.
		tok := mustToken(t, s, "alice", "correct horse")["access_token"].(string)
		mustToken(t, s, "alice", "correct horse")
		res, _ := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wrong"}}, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("wrong password: status %d", res.StatusCode)
		}
		clientToken(t, s, mustFollower(t, s))
		doForm(t, s.URL+"/token", url.Values{"grant_type": {"urn:nonsense"}}, nil)

		// Guard: every outcome once or more.
		me := func(hdr map[string]string, want int) {
			t.Helper()
			res, body := get(t, s.URL+"/users/me", hdr)
			if res.StatusCode != want {
				t.Fatalf("GET /users/me %v = %d %s, want %d", hdr, res.StatusCode, body, want)
			}
		}
		me(map[string]string{"Authorization": "Bearer " + tok}, 200)
		me(map[string]string{"Authorization": "Bearer " + tok}, 200)
		me(map[string]string{"X-API-Key": key}, 200)
		me(nil, 401)
		me(map[string]string{"Authorization": "Bearer not.a.jwt"}, 401)
		me(map[string]string{"X-API-Key": "gk_" + strings.Repeat("a", 40)}, 401)
		me(map[string]string{"X-API-Key": key, "Authorization": "Bearer " + tok}, 400)
		if res, body := get(t, s.URL+"/admin/users", map[string]string{"Authorization": "Bearer " + tok}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("GET /admin/users without the admin scope = %d %s, want 403", res.StatusCode, body)
		}
		clk.Advance(2 * time.Hour)
		me(map[string]string{"Authorization": "Bearer " + tok}, 401) // expired
		clk.Advance(-2 * time.Hour)
		if _, err := s.Admin().LogoutUser(t.Context(), "alice"); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		me(map[string]string{"Authorization": "Bearer " + tok}, 401) // revoked

		after := mustScrape(t, s, nil)
		checkDeltas(t, before, after, map[string]float64{
			"gatehouse_tokens_issued_total|grant=password":                            2,
			"gatehouse_tokens_issued_total|grant=client_credentials":                  1,
			"gatehouse_tokens_issued_total|grant=refresh_token":                       0,
			"gatehouse_token_requests_total|grant=password,result=ok":                 2,
			"gatehouse_token_requests_total|grant=password,result=invalid_grant":      1,
			"gatehouse_token_requests_total|grant=client_credentials,result=ok":       1,
			"gatehouse_token_requests_total|grant=none,result=unsupported_grant_type": 1,
			"gatehouse_token_request_duration_seconds|grant=password":                 3,
			"gatehouse_token_request_duration_seconds|grant=client_credentials":       1,
			"gatehouse_auth_total|method=bearer,result=ok":                            2,
			"gatehouse_auth_total|method=bearer,result=insufficient_scope":            1,
			"gatehouse_auth_total|method=api_key,result=ok":                           1,
			"gatehouse_auth_total|method=none,result=missing":                         1,
			"gatehouse_auth_total|method=bearer,result=invalid":                       1,
			"gatehouse_auth_total|method=api_key,result=invalid":                      1,
			"gatehouse_auth_total|method=none,result=invalid_request":                 1,
			"gatehouse_auth_total|method=bearer,result=expired":                       1,
			"gatehouse_auth_total|method=bearer,result=revoked":                       1,
			"gatehouse_auth_duration_seconds|method=bearer":                           6,
			"gatehouse_auth_duration_seconds|method=api_key":                          2,
			"gatehouse_auth_duration_seconds|method=none":                             2,
			"gatehouse_rate_limited_total|kind=ip":                                    0,
			"gatehouse_store_errors_total|op=apikey_lookup":                           0,
			"gatehouse_password_hash_wait_seconds":                                    3,
		})
		if got := after.value("gatehouse_revocation_entries"); got < 1 {
			t.Errorf("gatehouse_revocation_entries = %v after a logout, want >= 1", got)
		}
		if got := after.value("gatehouse_store_up"); got != 1 {
			t.Errorf("gatehouse_store_up = %v, want 1", got)
		}
		for _, name := range []string{
			"gatehouse_password_hash_queue_depth", "gatehouse_password_hash_in_flight",
			"gatehouse_revocation_feed_staleness_seconds", "gatehouse_http_requests_total",
			"go_goroutines", "process_resident_memory_bytes", "go_sql_open_connections",
		} {
			if after[name] == nil {
				t.Errorf("%s is not exported", name)
			}
		}

		// The revocation feed polls in the background; its lag histogram
		// fills once it has polled.
		waitFor(t, "a revocation-feed lag sample", func() bool {
			return mustScrape(t, s, nil).value("gatehouse_revocation_lag_seconds") > 0
		})
	})
}

// TestMetricsStoreErrors takes the database away from a running server
// (PostgreSQL ends its connections and refuses new ones): the
// scrape-time ping and the API-key lookup count failures, and the guard
// reports an error rather than a bad key.
func TestMetricsStoreErrors(t *testing.T) {
	dbURL, takeAway := postgresDatabase(t)
	s := newTestServer(t, func(c *gatehouse.Config) { c.DatabaseURL = dbURL })
	mustCreateUser(t, s, "bob", "pw-pw-pw-pw")
	key := mustAPIKey(t, s, "bob")
	before := mustScrape(t, s, nil)
	takeAway()
	res, body := get(t, s.URL+"/users/me", map[string]string{"X-API-Key": key})
	if res.StatusCode != http.StatusServiceUnavailable { // the key is not bad: 503, not 401
		t.Fatalf("GET /users/me with the store down = %d %s, want 503", res.StatusCode, body)
	}
	after := mustScrape(t, s, nil)
	if got := after.value("gatehouse_store_up"); got != 0 {
		t.Errorf("gatehouse_store_up = %v with the store closed, want 0", got)
	}
	checkDeltas(t, before, after, map[string]float64{
		"gatehouse_store_errors_total|op=apikey_lookup":      1,
		"gatehouse_auth_total|method=api_key,result=error":   1,
		"gatehouse_auth_total|method=api_key,result=ok":      0,
		"gatehouse_auth_total|method=api_key,result=invalid": 0,
	})
	// The ping of the first scrape after the failure counts.
	if got := mustScrape(t, s, nil).value("gatehouse_store_errors_total", "op=ping"); got < 1 {
		t.Errorf(`gatehouse_store_errors_total{op="ping"} = %v, want >= 1`, got)
	}
}

func TestMetricsAllow(t *testing.T) {
	t.Run("outsider refused", func(t *testing.T) {
		s := newTestServer(t, func(c *gatehouse.Config) { c.MetricsAllow = []string{"192.0.2.0/24"} })
		res, body := get(t, s.URL+"/metrics", nil)
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("GET /metrics from 127.0.0.1 with allow 192.0.2.0/24 = %d, want 403", res.StatusCode)
		}
		if got := decode(t, body)["error"]; got != "forbidden" {
			t.Errorf("error = %v, want forbidden", got)
		}
		if strings.Contains(string(body), "gatehouse_") {
			t.Errorf("refused response leaks metrics: %s", body)
		}
	})
	t.Run("default behind a trusted proxy", func(t *testing.T) {
		s := newTestServer(t, func(c *gatehouse.Config) { c.TrustedProxies = []string{"127.0.0.1/32"} })
		for _, tc := range []struct {
			name, xff string
			want      int
		}{
			{"local", "", 200},
			{"private network client", "10.1.2.3", 200},
			{"internet client", "203.0.113.7", 403},
			{"forged private hop before an internet client", "10.0.0.1, 203.0.113.7", 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				hdr := map[string]string{}
				if tc.xff != "" {
					hdr["X-Forwarded-For"] = tc.xff
				}
				if res, body := get(t, s.URL+"/metrics", hdr); res.StatusCode != tc.want {
					t.Errorf("GET /metrics X-Forwarded-For %q = %d, want %d (%.200s)", tc.xff, res.StatusCode, tc.want, body)
				}
			})
		}
	})
	t.Run("open to all", func(t *testing.T) {
		s := newTestServer(t, func(c *gatehouse.Config) {
			c.TrustedProxies = []string{"127.0.0.1/32"}
			c.MetricsAllow = []string{"0.0.0.0/0", "::/0"}
		})
		if res, _ := get(t, s.URL+"/metrics", map[string]string{"X-Forwarded-For": "203.0.113.7"}); res.StatusCode != 200 {
			t.Errorf("GET /metrics = %d, want 200", res.StatusCode)
		}
	})
}

func TestMetricsScope(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.MetricsScope = "metrics" })
	mustCreateUser(t, s, "prom", "pw-pw-pw-pw", "metrics", "read")
	withScope := mustAPIKey(t, s, "prom", "metrics")
	without := mustAPIKey(t, s, "prom", "read")
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"anonymous", nil, 401},
		{"bad key", map[string]string{"X-API-Key": "gk_nonsense"}, 401},
		{"key without the scope", map[string]string{"X-API-Key": without}, 403},
		{"key with the scope", map[string]string{"X-API-Key": withScope}, 200},
		{"bearer with the scope", map[string]string{"Authorization": "Bearer " + mustToken(t, s, "prom", "pw-pw-pw-pw", "metrics")["access_token"].(string)}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, s.URL+"/metrics", tc.hdr)
			if res.StatusCode != tc.want {
				t.Fatalf("GET /metrics = %d, want %d (%.200s)", res.StatusCode, tc.want, body)
			}
			if tc.want != 200 {
				decode(t, body) // a JSON error
			}
		})
	}
}

func TestMetricsConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gatehouse.Config
		want string
	}{
		{"bad cidr", gatehouse.Config{MetricsAllow: []string{"10.0.0.0/8", "not-a-net"}}, "metrics allow"},
		{"bad scope", gatehouse.Config{MetricsScope: "a b"}, "metrics scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error about %s", err, tc.want)
			}
		})
	}
	ok := gatehouse.Config{MetricsAllow: []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}, MetricsScope: "metrics:read"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

// TestMetricsScopeWithComma: --metrics-scope names one scope.
func TestMetricsScopeWithComma(t *testing.T) {
	cfg := gatehouse.Config{MetricsScope: "metrics,admin"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "metrics scope") {
		t.Errorf("Validate(MetricsScope %q) = %v, want an error about the metrics scope", cfg.MetricsScope, err)
	}
}

// postgresDatabase creates a PostgreSQL database of the test's own
// (named like sqlstoretest's scratch databases, so that a later run drops
// it if this one cannot), dropped when the test ends. takeAway ends every
// connection to it and refuses new ones: the database is gone for the
// servers on it. Without GATEHOUSE_TEST_POSTGRES_URL the test skips (or
// fails, when CI is set).
func postgresDatabase(t *testing.T) (dbURL string, takeAway func()) {
	t.Helper()
	root := sqlstoretest.PostgresServerURL(t)
	server, err := sql.Open("pgx", root)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("gatehouse_test_%d_%s", time.Now().Unix(), strings.ToLower(rand.Text()[:12]))
	if _, err := server.ExecContext(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := server.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		_ = server.Close()
	})
	u, err := url.Parse(root)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		t.Helper()
		for _, q := range []string{
			`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`,
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`,
		} {
			if _, err := server.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}
