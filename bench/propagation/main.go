// Command propagation measures how fast a revocation reaches the other
// replicas of a gatehouse cluster and a remote guard, and what a large
// deny list costs the guard.
//
// It starts -replicas gatehouse servers in this process on a fresh schema
// of the PostgreSQL database -postgres (each with its own listener on
// 127.0.0.1, all sharing issuer and master secret, exactly as `gatehouse
// serve` replicas would), and a remote guard (guard.NewRemote) that knows
// only the issuer URL and follows the revocation feed of the last replica
// over HTTP. Then:
//
//  1. Propagation: -n times, it revokes a live access token (by jti) on
//     replica 0 and measures, from just before the revoking call, the time
//     until replica 1's guard and the remote guard refuse the token (each
//     polled in its own goroutine every 100µs). It reports p50, p99 and max.
//  2. Guard throughput with a large deny list: guards that differ only in
//     their revocation state (the server's revocation.Set and the remote
//     guard's DenyList, each empty and holding -entries live entries) verify
//     the same valid token through Require, in interleaved rounds, on every
//     core; it reports requests per second and the ratio full/empty. It
//     does so with the verified-token cache on (the default) and off (every
//     request checks the ES256 signature).
//
// Usage:
//
//	go run ./bench/propagation [-postgres URL] [-n 200] [-replicas 3]
//	    [-entries 100000] [-rounds 6] [-round 500ms]
//
// The schema is dropped on exit.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

type options struct {
	pg       string
	n        int
	replicas int
	entries  int
	rounds   int
	round    time.Duration
}

func run() error {
	var o options
	def := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	flag.StringVar(&o.pg, "postgres", def, "PostgreSQL URL (a scratch schema is created and dropped)")
	flag.IntVar(&o.n, "n", 200, "revocations to measure")
	flag.IntVar(&o.replicas, "replicas", 3, "gatehouse replicas")
	flag.IntVar(&o.entries, "entries", 100_000, "live deny-list entries for the throughput comparison")
	flag.IntVar(&o.rounds, "rounds", 6, "interleaved rounds per throughput target")
	flag.DurationVar(&o.round, "round", 500*time.Millisecond, "length of one throughput round")
	flag.Parse()
	if o.replicas < 2 {
		return fmt.Errorf("-replicas must be at least 2")
	}
	ctx := context.Background()

	dbURL, drop, err := scratchSchema(ctx, o.pg)
	if err != nil {
		return err
	}
	defer drop()

	c, err := startCluster(ctx, dbURL, o.replicas)
	if err != nil {
		return err
	}
	defer c.close()
	fmt.Printf("gatehouse revocation propagation: %d replicas on PostgreSQL, 1 remote guard, GOMAXPROCS=%d, %s\n\n",
		o.replicas, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))

	if err := propagation(ctx, c, o); err != nil {
		return err
	}
	return throughput(ctx, c, o)
}

// scratchSchema creates a fresh schema and returns a URL that uses it.
func scratchSchema(ctx context.Context, root string) (string, func(), error) {
	db, err := sql.Open("pgx", root)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(root)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}, nil
}

type cluster struct {
	nodes  []*gatehouse.Server
	https  []*httptest.Server
	remote *guard.Remote
	tokens []string
	secret string
}

func (c *cluster) close() {
	if c.remote != nil {
		c.remote.Close()
	}
	for i := range c.nodes {
		c.nodes[i].CloseStreams()
		c.https[i].Close()
		c.nodes[i].Close()
	}
}

func startCluster(ctx context.Context, dbURL string, n int) (*cluster, error) {
	c := &cluster{}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var issuer string
	for i := range n {
		hs := httptest.NewUnstartedServer(nil)
		if i == 0 {
			issuer = "http://" + hs.Listener.Addr().String()
		}
		s, err := gatehouse.New(ctx, gatehouse.Config{
			DatabaseURL: dbURL, Issuer: issuer, Secret: secret, Logger: quiet,
			InsecureFastPasswordHashing: true,
		})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("start replica %d: %w", i, err)
		}
		hs.Config.Handler = s
		hs.Start()
		c.nodes, c.https = append(c.nodes, s), append(c.https, hs)
	}
	n0 := c.nodes[0]
	if _, err := n0.CreateUser(ctx, "bench", "bench-password-1", []string{"read"}, false); err != nil {
		return nil, err
	}
	cc, err := n0.Manager().CreateClient(ctx, manage.CLI(), manage.NewClient{Name: "follower", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		return nil, err
	}
	// The remote guard follows the last replica; it knows only the issuer.
	last := c.https[len(c.https)-1].URL
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := guard.NewRemote(sctx, guard.RemoteConfig{
		Issuer: issuer, ClientID: cc.ID, ClientSecret: cc.Secret, FeedURL: last + "/oauth2/revocations",
	})
	if err != nil {
		return nil, err
	}
	c.remote = r
	return c, nil
}

// token gets an access token with the password grant from replica 0.
func (c *cluster) token() (string, error) {
	form := url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"bench-password-1"}}
	res, err := http.PostForm(c.https[0].URL+"/oauth2/token", form)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token: status %d: %v", res.StatusCode, err)
	}
	return body.AccessToken, nil
}

func propagation(ctx context.Context, c *cluster, o options) error {
	var toReplica, toRemote []time.Duration
	other := c.nodes[1]
	for i := range o.n {
		tok, err := c.token()
		if err != nil {
			return err
		}
		p, err := other.Guard().VerifyAccessToken(ctx, tok)
		if err != nil {
			return fmt.Errorf("fresh token refused by replica 1: %w", err)
		}
		if _, err := c.remote.VerifyAccessToken(ctx, tok); err != nil {
			return fmt.Errorf("fresh token refused by the remote guard: %w", err)
		}
		var wg sync.WaitGroup
		var dReplica, dRemote time.Duration
		start := time.Now()
		if err := c.nodes[0].Manager().Revoker.Revoke(ctx, store.RevokeToken, p.TokenID, time.Time{}, p.ExpiresAt.Add(time.Minute)); err != nil {
			return err
		}
		wg.Go(func() {
			dReplica = waitRefused(func() bool { _, err := other.Guard().VerifyAccessToken(ctx, tok); return err != nil }, start)
		})
		wg.Go(func() {
			dRemote = waitRefused(func() bool { _, err := c.remote.VerifyAccessToken(ctx, tok); return err != nil }, start)
		})
		wg.Wait()
		if dReplica < 0 || dRemote < 0 {
			return fmt.Errorf("revocation %d not seen within 10s (replica %v, remote %v)", i, dReplica, dRemote)
		}
		toReplica, toRemote = append(toReplica, dReplica), append(toRemote, dRemote)
	}
	fmt.Printf("## Propagation of %d revocations (revoke on replica 0)\n\n", o.n)
	fmt.Println("| to | p50 | p99 | max |")
	fmt.Println("|---|---:|---:|---:|")
	for _, row := range []struct {
		name string
		ds   []time.Duration
	}{{"replica 1 (LISTEN/NOTIFY → feed)", toReplica}, {"remote guard (SSE from replica " + fmt.Sprint(len(c.nodes)-1) + ")", toRemote}} {
		fmt.Printf("| %s | %s | %s | %s |\n", row.name, ms(quantile(row.ds, 0.5)), ms(quantile(row.ds, 0.99)), ms(quantile(row.ds, 1)))
	}
	fmt.Println()
	return nil
}

// waitRefused polls refused until it holds and returns the time since
// start, or -1 after 10s.
func waitRefused(refused func() bool, start time.Time) time.Duration {
	for !refused() {
		if time.Since(start) > 10*time.Second {
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

func throughput(ctx context.Context, c *cluster, o options) error {
	tok, err := c.token()
	if err != nil {
		return err
	}
	now := time.Now()
	// The server's deny list (what every replica's embedded guard uses),
	// empty and full, and the remote guard's, empty and full.
	emptySet, fullSet := revocation.NewSet(nil), revocation.NewSet(nil)
	emptyDeny, fullDeny := guard.NewDenyList(nil), guard.NewDenyList(nil)
	for i := range o.entries {
		// A realistic mix: mostly single tokens, some families, users
		// logged out, keys and clients.
		kind, v := store.RevokeToken, fmt.Sprintf("f%d.t%d", i, i)
		switch i % 10 {
		case 7:
			kind, v = store.RevokeFamily, fmt.Sprintf("fam%d", i)
		case 8:
			kind, v = store.RevokeUser, fmt.Sprintf("user%d", i)
		case 9:
			kind, v = store.RevokeAPIKey, fmt.Sprintf("key%d", i)
		}
		e := store.Revocation{Seq: int64(i + 1), Kind: kind, Value: v, At: now, ExpiresAt: now.Add(time.Hour)}
		fullSet.Apply(e)
		fullDeny.Apply(guard.FeedEntry{Seq: e.Seq, Kind: e.Kind, Value: e.Value, At: e.At, ExpiresAt: e.ExpiresAt})
	}
	if fullSet.Len() < o.entries*9/10 || fullDeny.Len() < o.entries*9/10 {
		return fmt.Errorf("deny lists hold %d and %d entries, want about %d", fullSet.Len(), fullDeny.Len(), o.entries)
	}
	keys := c.nodes[0].Keys()
	cfg := c.nodes[0].Config()
	mk := func(name string, rc guard.RevocationChecker, cache int) (*target, error) {
		g, err := guard.New(guard.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: keys, Revocations: rc, TokenCacheSize: cache})
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
		for _, dl := range []struct {
			name        string
			empty, full guard.RevocationChecker
		}{{"server revocation.Set", emptySet, fullSet}, {"remote guard DenyList", emptyDeny, fullDeny}} {
			e, err := mk(dl.name+", empty", dl.empty, cache)
			if err != nil {
				return err
			}
			f, err := mk(fmt.Sprintf("%s, %d entries", dl.name, o.entries), dl.full, cache)
			if err != nil {
				return err
			}
			pairs = append(pairs, pair{label: label, empty: e, full: f})
		}
	}
	workers := runtime.GOMAXPROCS(0)
	for range o.rounds {
		for _, p := range pairs {
			for _, t := range []*target{p.empty, p.full} {
				runRound(t, tok, workers, o.round)
			}
		}
	}
	fmt.Printf("## Guard throughput with %d live revocation entries vs none (%d interleaved rounds of %s, %d workers)\n\n",
		o.entries, o.rounds, o.round, workers)
	fmt.Println("| guard | deny list | empty req/s | full req/s | full / empty |")
	fmt.Println("|---|---|---:|---:|---:|")
	for _, p := range pairs {
		e, f := p.empty.rate(), p.full.rate()
		name, _, _ := strings.Cut(p.empty.name, ",")
		fmt.Printf("| %s | %s | %.0f | %.0f | %.2f× |\n", p.label, name, e, f, f/e)
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
