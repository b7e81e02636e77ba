// Command propagation measures how fast a revocation reaches the other
// replicas of a gatehouse cluster and a remote guard, and what a large
// deny list costs the guard.
//
// It builds (or takes, with -bin) the gatehouse binary and starts
// -replicas `gatehouse serve` processes on one new database of the
// PostgreSQL server -postgres, each on its own 127.0.0.1 port, all with
// the same issuer (replica 0's URL) and master secret, as an operator runs
// replicas. It creates a user and a confidential client with the CLI, and
// starts a remote guard in this process (guard.NewRemote) that knows only
// the issuer URL and follows the revocation feed of the last replica over
// HTTP. Then:
//
//  1. Propagation: -n times, it gets an access token from replica 0
//     (password grant), revokes it there (POST /oauth2/revoke, RFC 7009)
//     and measures, from just before the revoking request, the time until
//     replica 1 refuses the token (GET /users/me answers 401) and until the
//     remote guard does, each polled in its own goroutine every 100µs. It
//     reports p50, p99 and max.
//  2. Guard throughput with a large deny list: guards that differ only in
//     their revocation state (a guard.DenyList empty and one holding
//     -entries live entries) verify the same valid token through Require,
//     in interleaved rounds, on every core; it reports requests per second
//     and the ratio full/empty. It does so with the verified-token cache
//     on (the default) and off (every request checks the ES256 signature).
//
// Usage (from the checkout):
//
//	go run -C bench ./propagation [-postgres URL] [-bin PATH] [-n 200]
//	    [-replicas 3] [-entries 100000] [-rounds 6] [-round 500ms]
//
// The servers are stopped, the database dropped and the temporary
// directory removed on exit, also after Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
	"github.com/gatehouse/gatehouse/bench/load"
	"github.com/gatehouse/gatehouse/guard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

type options struct {
	pg       string
	bin      string
	n        int
	replicas int
	entries  int
	rounds   int
	round    time.Duration
}

func run(ctx context.Context) error {
	var o options
	def := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	flag.StringVar(&o.pg, "postgres", def, "admin URL of a PostgreSQL server (a database is created there and dropped)")
	flag.StringVar(&o.bin, "bin", "", "gatehouse binary to run (default: go build ./cmd/gatehouse into a temp dir)")
	flag.IntVar(&o.n, "n", 200, "revocations to measure")
	flag.IntVar(&o.replicas, "replicas", 3, "gatehouse replicas")
	flag.IntVar(&o.entries, "entries", 100_000, "live deny-list entries for the throughput comparison")
	flag.IntVar(&o.rounds, "rounds", 6, "interleaved rounds per throughput target")
	flag.DurationVar(&o.round, "round", 500*time.Millisecond, "length of one throughput round")
	flag.Parse()
	if o.replicas < 2 {
		return fmt.Errorf("-replicas must be at least 2")
	}
	if err := proc.CheckPostgresURL(o.pg); err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "gatehouse-propagation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dbs := proc.NewDatabases(o.pg, os.Stderr)
	defer dbs.DropAll() // registered first: runs after the servers stopped
	if o.bin == "" {
		if o.bin, err = proc.BuildGatehouse(ctx, tmp, os.Stderr); err != nil {
			return err
		}
	}
	c, err := startCluster(ctx, o.bin, tmp, dbs, o.replicas)
	defer c.close()
	if err != nil {
		return err
	}
	fmt.Printf("gatehouse revocation propagation: %d replicas (gatehouse serve) on PostgreSQL, 1 remote guard, GOMAXPROCS=%d, %s\n\n",
		o.replicas, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))

	if err := propagation(ctx, c, o); err != nil {
		return err
	}
	return throughput(ctx, c, o)
}

// benchPassword is the bench user's password (the database is thrown
// away after the run).
const benchPassword = "bench-password-1"

type cluster struct {
	issuer string
	nodes  []*proc.Server
	http   *http.Client // loopback only
	remote *guard.Remote
	client url.Values // client_id and client_secret of the bench client
}

func (c *cluster) close() {
	if c.remote != nil {
		c.remote.Close()
	}
	for _, n := range c.nodes {
		if err := n.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "propagation:", err)
		}
	}
	c.http.CloseIdleConnections()
}

// startCluster starts n replicas on one new database, creates the bench
// user and client, and starts the remote guard. The caller must call
// close, also after an error.
func startCluster(ctx context.Context, bin, tmp string, dbs *proc.Databases, n int) (*cluster, error) {
	c := &cluster{http: load.NewClient(4, 10*time.Second)}
	dbURL, err := dbs.Fresh(ctx, tmp)
	if err != nil {
		return c, err
	}
	secret := proc.RandomHex(32)
	for i := range n {
		addr, err := proc.FreeAddr()
		if err != nil {
			return c, err
		}
		if i == 0 {
			c.issuer = "http://" + addr
		}
		dir, err := os.MkdirTemp(tmp, fmt.Sprintf("replica%d-", i))
		if err != nil {
			return c, err
		}
		// One at a time: replica 0 migrates the database and makes the
		// first signing key before the others start.
		s, err := proc.StartServer(proc.ServerConfig{
			Bin: bin, Dir: dir, DatabaseURL: dbURL, Addr: addr, Secret: secret,
			Env: []string{
				"GATEHOUSE_ISSUER=" + c.issuer,
				// The load comes from one address; limits are not measured here.
				"GATEHOUSE_RATE_LIMIT_IP=unlimited", "GATEHOUSE_RATE_LIMIT_USER=unlimited",
				"GATEHOUSE_RATE_LIMIT_CLIENT=unlimited", "GATEHOUSE_RATE_LIMIT_TOKEN=unlimited",
			},
		})
		if s != nil {
			c.nodes = append(c.nodes, s)
		}
		if err != nil {
			return c, fmt.Errorf("start replica %d: %w", i, err)
		}
		if err := s.WaitHealthy(ctx, c.http); err != nil {
			return c, fmt.Errorf("start replica %d: %w", i, err)
		}
		fmt.Fprintf(os.Stderr, "replica %d is up at %s\n", i, s.Base)
	}
	n0 := c.nodes[0]
	if _, err := n0.CLI(ctx, benchPassword+"\n", "user", "create", "bench", "--password-stdin", "--scopes", "read", "--json"); err != nil {
		return c, err
	}
	out, err := n0.CLI(ctx, "", "client", "create", "--name", "bench", "--grant", "password,client_credentials", "--json")
	if err != nil {
		return c, err
	}
	var cc struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out, &cc); err != nil || cc.ID == "" || cc.Secret == "" {
		return c, fmt.Errorf("gatehouse client create --json: no client_id or client_secret in %q", out)
	}
	c.client = url.Values{"client_id": {cc.ID}, "client_secret": {cc.Secret}}
	// The remote guard follows the last replica; it knows only the issuer.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := guard.NewRemote(sctx, guard.RemoteConfig{
		Issuer: c.issuer, ClientID: cc.ID, ClientSecret: cc.Secret, HTTPClient: c.http,
		FeedURL: c.nodes[len(c.nodes)-1].Base + "/oauth2/revocations",
	})
	if err != nil {
		return c, err
	}
	c.remote = r
	return c, nil
}

// post posts form, with the bench client's credentials
// (client_secret_post), to path on node i and decodes the JSON answer
// into v.
func (c *cluster) post(ctx context.Context, i int, path string, form url.Values, v any) error {
	for k, vs := range c.client {
		form[k] = vs
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.nodes[i].Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %s", path, res.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// token gets an access token with the password grant from replica 0.
func (c *cluster) token(ctx context.Context) (string, error) {
	var body struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {benchPassword}}
	if err := c.post(ctx, 0, "/oauth2/token", form, &body); err != nil {
		return "", err
	}
	if body.AccessToken == "" {
		return "", errors.New("POST /oauth2/token: no access_token")
	}
	return body.AccessToken, nil
}

// revoke revokes tok on replica 0.
func (c *cluster) revoke(ctx context.Context, tok string) error {
	var body struct{}
	return c.post(ctx, 0, "/oauth2/revoke", url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, &body)
}

// meStatus is the status of GET /users/me on node i with tok, or 0 when
// the request fails.
func (c *cluster) meStatus(ctx context.Context, i int, tok string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.nodes[i].Base+"/users/me", nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func propagation(ctx context.Context, c *cluster, o options) error {
	var toReplica, toRemote []time.Duration
	for i := range o.n {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		if st := c.meStatus(ctx, 1, tok); st != http.StatusOK {
			return fmt.Errorf("fresh token refused by replica 1: GET /users/me: status %d", st)
		}
		if _, err := c.remote.VerifyAccessToken(ctx, tok); err != nil {
			return fmt.Errorf("fresh token refused by the remote guard: %w", err)
		}
		var wg sync.WaitGroup
		var dReplica, dRemote time.Duration
		start := time.Now()
		if err := c.revoke(ctx, tok); err != nil {
			return err
		}
		wg.Go(func() {
			dReplica = waitRefused(ctx, func() bool { return c.meStatus(ctx, 1, tok) == http.StatusUnauthorized }, start)
		})
		wg.Go(func() {
			dRemote = waitRefused(ctx, func() bool { _, err := c.remote.VerifyAccessToken(ctx, tok); return err != nil }, start)
		})
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		if dReplica < 0 || dRemote < 0 {
			return fmt.Errorf("revocation %d not seen within 10s (replica %v, remote %v)", i, dReplica, dRemote)
		}
		toReplica, toRemote = append(toReplica, dReplica), append(toRemote, dRemote)
	}
	fmt.Printf("## Propagation of %d revocations (POST /oauth2/revoke on replica 0)\n\n", o.n)
	fmt.Println("| to | p50 | p99 | max |")
	fmt.Println("|---|---:|---:|---:|")
	for _, row := range []struct {
		name string
		ds   []time.Duration
	}{{"replica 1 (LISTEN/NOTIFY → feed; GET /users/me gets 401)", toReplica}, {"remote guard (SSE from replica " + fmt.Sprint(len(c.nodes)-1) + ")", toRemote}} {
		fmt.Printf("| %s | %s | %s | %s |\n", row.name, ms(quantile(row.ds, 0.5)), ms(quantile(row.ds, 0.99)), ms(quantile(row.ds, 1)))
	}
	fmt.Println()
	return nil
}

// waitRefused polls refused until it holds and returns the time since
// start, or -1 after 10s or when ctx ends.
func waitRefused(ctx context.Context, refused func() bool, start time.Time) time.Duration {
	for !refused() {
		if time.Since(start) > 10*time.Second || ctx.Err() != nil {
			return -1
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Since(start)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// target is one guard configuration measured for throughput.
type target struct {
	name string
	h    http.Handler
	reqs atomic.Int64
	busy time.Duration
}

// fullDenyList returns a deny list holding about n live entries, a
// realistic mix: mostly single tokens, some families, users logged out,
// and API keys.
func fullDenyList(n int) *guard.DenyList {
	now := time.Now()
	d := guard.NewDenyList(nil)
	for i := range n {
		kind, v := guard.RevokeToken, fmt.Sprintf("f%d.t%d", i, i)
		switch i % 10 {
		case 7:
			kind, v = guard.RevokeFamily, fmt.Sprintf("fam%d", i)
		case 8:
			kind, v = guard.RevokeUser, fmt.Sprintf("user%d", i)
		case 9:
			kind, v = guard.RevokeAPIKey, fmt.Sprintf("key%d", i)
		}
		d.Apply(guard.FeedEntry{Seq: int64(i + 1), Kind: kind, Value: v, At: now, ExpiresAt: now.Add(time.Hour)})
	}
	return d
}

func throughput(ctx context.Context, c *cluster, o options) error {
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	empty, full := guard.NewDenyList(nil), fullDenyList(o.entries)
	if full.Len() < o.entries*9/10 {
		return fmt.Errorf("the deny list holds %d entries, want about %d", full.Len(), o.entries)
	}
	// The keys as every replica publishes them; fetched once, then cached.
	keys := guard.NewRemoteKeySet(c.issuer+"/.well-known/jwks.json", c.http, 0, nil)
	if err := keys.Refresh(ctx); err != nil {
		return err
	}
	mk := func(name string, rc guard.RevocationChecker, cache int) (*target, error) {
		g, err := guard.New(guard.Config{Issuer: c.issuer, Audience: c.issuer, Keys: keys, Revocations: rc, TokenCacheSize: cache})
		if err != nil {
			return nil, err
		}
		return &target{name: name, h: g.Require("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))}, nil
	}
	type pair struct {
		label       string
		empty, full *target
	}
	var pairs []pair
	for _, cache := range []int{0, -1} {
		label := "token cache on"
		if cache < 0 {
			label = "token cache off (ES256 verify per request)"
		}
		e, err := mk("empty", empty, cache)
		if err != nil {
			return err
		}
		f, err := mk(fmt.Sprintf("%d entries", o.entries), full, cache)
		if err != nil {
			return err
		}
		pairs = append(pairs, pair{label: label, empty: e, full: f})
	}
	workers := runtime.GOMAXPROCS(0)
	for range o.rounds {
		for _, p := range pairs {
			for _, t := range []*target{p.empty, p.full} {
				if err := ctx.Err(); err != nil {
					return err
				}
				runRound(t, tok, workers, o.round)
			}
		}
	}
	fmt.Printf("## Guard throughput with %d live revocation entries vs none (guard.DenyList, %d interleaved rounds of %s, %d workers)\n\n",
		o.entries, o.rounds, o.round, workers)
	fmt.Println("| guard | empty req/s | full req/s | full / empty |")
	fmt.Println("|---|---:|---:|---:|")
	for _, p := range pairs {
		e, f := p.empty.rate(), p.full.rate()
		fmt.Printf("| %s | %.0f | %.0f | %.2f× |\n", p.label, e, f, f/e)
	}
	fmt.Println()
	return nil
}

func (t *target) rate() float64 { return float64(t.reqs.Load()) / t.busy.Seconds() }

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// runRound drives t with workers goroutines for d.
func runRound(t *target, tok string, workers int, d time.Duration) {
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			r, _ := http.NewRequest(http.MethodGet, "http://resource.example/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := &discard{h: http.Header{}}
			n := int64(0)
			for ; n%64 != 0 || time.Now().Before(stop); n++ {
				t.h.ServeHTTP(w, r)
			}
			t.reqs.Add(n)
		})
	}
	wg.Wait()
	t.busy += time.Since(start)
}
