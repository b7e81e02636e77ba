package guard

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CodeUnavailable is the error code of a request refused because a remote
// guard lost its revocation feed for longer than [RemoteConfig.MaxStale]
// (status 503; the code is RFC 6749 §4.1.2.1's temporarily_unavailable).
const CodeUnavailable = "temporarily_unavailable"

// StaleError is the cause of a request refused by a remote guard whose
// revocation feed has been unreachable (or silent) for longer than
// [RemoteConfig.MaxStale]: it can no longer vouch that a credential was not
// revoked meanwhile.
type StaleError struct {
	Since time.Duration // time since the feed was last heard from
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("revocation feed not heard from for %s", e.Since.Round(time.Millisecond))
}

// RemoteConfig configures [NewRemote].
type RemoteConfig struct {
	// Issuer is the gatehouse server's issuer URL. Required.
	Issuer string
	// Audience is the "aud" access tokens must carry; default Issuer.
	Audience string
	// ClientID and ClientSecret are a confidential client of the issuer.
	// Required: the revocation feed and introspection authenticate with
	// them (HTTP Basic).
	ClientID     string
	ClientSecret string
	// HTTPClient makes every request; default a client with a 10s timeout.
	// The revocation feed is a long-lived stream: it uses the client's
	// Transport without the Timeout.
	HTTPClient *http.Client
	// MaxStale is how long the guard keeps serving after it last heard
	// from the revocation feed (an entry or a heartbeat; the server sends
	// one every 2s while its own feed is healthy). After that every
	// credential is refused with 503 temporarily_unavailable, until the
	// feed is back. Default 30s.
	MaxStale time.Duration
	// InsecureIgnoreStale keeps accepting credentials however long the
	// feed has been lost. It is unsafe: a revoked token is then accepted
	// until it expires.
	InsecureIgnoreStale bool
	// JWKSMinInterval is the least time between JWKS fetches caused by an
	// unknown kid; default 1s.
	JWKSMinInterval time.Duration
	// IntrospectionTTL and NegativeTTL are how long an API key found
	// active (never past its expiry) or any credential found inactive is
	// cached; defaults 10s and 2s. Revocations on the feed end a positive
	// entry at once.
	IntrospectionTTL time.Duration
	NegativeTTL      time.Duration
	// IntrospectionCacheSize bounds the introspection answers kept (API
	// keys and the usernames of access tokens). Zero means
	// [DefaultIntrospectionCacheSize].
	IntrospectionCacheSize int
	// SkipUsernames stops the guard from learning usernames. By default
	// (false) the first request with a user's access token introspects the
	// token, once per token (requests for it meanwhile wait for that one
	// answer, which is cached by jti until the token expires), so that
	// [Principal.Username] is filled in as by the embedded guard; a token
	// the issuer calls inactive is refused (401), and while the issuer
	// cannot be asked such a request gets 503 temporarily_unavailable
	// rather than an empty username. A client's own token
	// (client_credentials) has no user and is never introspected. Set it
	// for a service that does not use usernames: bearer requests then
	// never wait for the issuer, and Username stays "" for them.
	SkipUsernames bool
	// JWKSURL, IntrospectionURL and FeedURL override the endpoints found by
	// discovery (the feed: Issuer + "/oauth2/revocations").
	JWKSURL          string
	IntrospectionURL string
	FeedURL          string
	// OnStatus, if set, is called whenever the feed connects, disconnects,
	// goes stale or recovers; it suits metrics and must not block.
	OnStatus func(RemoteStatus)
	// Guard holds the remaining [Config] options (APIKeyPrefix, Leeway,
	// Now, Realm, Logger, OnResult, Enrich, Admit, TokenCacheSize). Its
	// Issuer, Audience, Keys, APIKeys and Revocations are set by NewRemote.
	// APIKeyPrefix must be the server's API-key prefix (default "gk_"): a
	// value with it whose length or checksum is wrong is refused without
	// asking the server.
	Guard Config
}

// RemoteStatus describes a remote guard's revocation feed.
type RemoteStatus struct {
	Connected   bool      // a stream is open
	Synced      bool      // the initial catch-up finished
	Stale       bool      // beyond MaxStale: credentials are refused
	Cursor      int64     // last feed entry applied
	LastContact time.Time // last entry or heartbeat (Guard.Now clock)
	Entries     int       // deny-list entries held
	Err         string    // the last connection error, if any
}

// Remote is a [Guard] for a service that only knows gatehouse's issuer
// URL: it verifies access tokens with the published JWKS, checks API keys
// by introspection, learns the username of a user's access token by
// introspecting it once, and follows the revocation feed into an
// in-memory [DenyList], so that a revoked credential is refused within
// about a second with no call to the server per request (beyond the
// cached introspections). Close it when done.
type Remote struct {
	*Guard
	Keys       *RemoteKeySet
	APIKeys    *Introspector
	DenyList   *DenyList
	feedURL    string
	clientID   string
	secret     string
	stream     *http.Client
	now        func() time.Time
	maxStale   time.Duration
	ignoreSt   bool
	log        *slog.Logger
	onStatus   func(RemoteStatus)
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	synced     chan struct{}
	syncedOnce sync.Once
	refused    chan error // the feed's first error that cannot heal, before it synced

	cursor      atomic.Int64
	lastContact atomic.Int64 // unix nanoseconds on the Now clock; 0 never
	connected   atomic.Bool
	wasStale    atomic.Bool
	errMu       sync.Mutex
	lastErr     string
}

// discoveryDoc is the part of RFC 8414 / OIDC discovery the guard reads.
type discoveryDoc struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// NewRemote reads the issuer's discovery document, fetches its JWKS, asks
// its introspection endpoint once, connects to its revocation feed and
// waits (within ctx) until the feed has caught up, then returns a guard
// ready to serve. The feed is followed in the background, reconnecting
// with backoff and resuming from the last entry seen, until Close.
//
// What can heal — network errors and 5xx (408, 429) answers — is retried
// with backoff and logged until ctx ends, so give ctx a deadline. A 401 or
// 403 (the client's id or secret is wrong, or it is not confidential),
// another 4xx or an unusable answer is a configuration error: NewRemote
// returns it at once, as a [*StatusError] naming the endpoint and the
// client, never the secret. Later, a feed that refuses the client is
// logged at error level and retried every 5s, and the guard turns stale
// after MaxStale.
func NewRemote(ctx context.Context, cfg RemoteConfig) (*Remote, error) {
	var problems []error
	if cfg.Issuer == "" {
		problems = append(problems, errors.New("Issuer is required"))
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		problems = append(problems, errors.New("ClientID and ClientSecret are required"))
	}
	if cfg.MaxStale < 0 {
		problems = append(problems, errors.New("MaxStale must not be negative"))
	}
	if cfg.IntrospectionCacheSize < 0 {
		problems = append(problems, errors.New("IntrospectionCacheSize must not be negative"))
	}
	prefix := cmp.Or(cfg.Guard.APIKeyPrefix, defaultAPIKeyPrefix)
	if !validCredentialPrefix(prefix) {
		problems = append(problems, errors.New(`Guard.APIKeyPrefix must be a gatehouse credential prefix (^[a-z][a-z0-9]{0,15}_$, e.g. "gk_")`))
	}
	if len(problems) > 0 {
		return nil, errors.Join(append([]error{errors.New("guard: invalid remote config")}, problems...)...)
	}
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	now := cfg.Guard.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Guard.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var doc discoveryDoc
	err := untilHealed(ctx, log, "remote: discovery", func() (err error) {
		doc, err = discover(ctx, hc, issuer)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("guard: remote: %w", err)
	}
	jwksURL := firstNonEmpty(cfg.JWKSURL, doc.JWKSURI, issuer+"/.well-known/jwks.json")
	introURL := firstNonEmpty(cfg.IntrospectionURL, doc.IntrospectionEndpoint, issuer+"/oauth2/introspect")
	r := &Remote{
		feedURL:  firstNonEmpty(cfg.FeedURL, issuer+"/oauth2/revocations"),
		clientID: cfg.ClientID, secret: cfg.ClientSecret,
		stream:   &http.Client{Transport: hc.Transport, Jar: hc.Jar, CheckRedirect: hc.CheckRedirect},
		now:      now,
		maxStale: cfg.MaxStale, ignoreSt: cfg.InsecureIgnoreStale,
		log: log, onStatus: cfg.OnStatus,
		synced: make(chan struct{}), refused: make(chan error, 1),
	}
	if r.maxStale == 0 {
		r.maxStale = 30 * time.Second
	}
	r.DenyList = NewDenyList(now)
	r.Keys = NewRemoteKeySet(jwksURL, hc, cfg.JWKSMinInterval, now)
	posTTL, negTTL := cfg.IntrospectionTTL, cfg.NegativeTTL
	if posTTL <= 0 {
		posTTL = 10 * time.Second
	}
	if negTTL <= 0 {
		negTTL = 2 * time.Second
	}
	r.APIKeys = &Introspector{
		issuer: issuer, endpoint: introURL, prefix: prefix, clientID: cfg.ClientID, secret: cfg.ClientSecret,
		client: hc, positiveTTL: posTTL, negTTL: negTTL, now: now, deny: r.DenyList,
		maxEntries: cmp.Or(cfg.IntrospectionCacheSize, DefaultIntrospectionCacheSize),
		cache:      make(map[string]introEntry),
	}
	gc := cfg.Guard
	gc.Issuer, gc.Keys, gc.APIKeys, gc.Revocations = issuer, r.Keys, r.APIKeys, r.DenyList
	gc.Audience = firstNonEmpty(cfg.Audience, issuer)
	hooks := remoteHooks{gate: r.gate}
	if !cfg.SkipUsernames {
		hooks.learn = r.learnUsername
	}
	g, err := newGuard(gc, hooks)
	if err != nil {
		return nil, err
	}
	r.Guard = g
	// Every endpoint is tried before the guard serves: a refusal (a wrong
	// client secret, a client that may not introspect) is a configuration
	// error found now rather than on the first request.
	if err := untilHealed(ctx, log, "remote: JWKS", func() error { return r.Keys.Refresh(ctx) }); err != nil {
		return nil, fmt.Errorf("guard: remote: %w", err)
	}
	if err := untilHealed(ctx, log, "remote: introspection", func() error { return r.APIKeys.probe(ctx) }); err != nil {
		return nil, fmt.Errorf("guard: remote: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.follow(bg) }()
	go func() { defer r.wg.Done(); r.watchStale(bg) }()
	select {
	case <-r.synced:
		return r, nil
	case err := <-r.refused:
		r.Close()
		return nil, fmt.Errorf("guard: remote: %w", err)
	case <-ctx.Done():
		r.Close()
		return nil, fmt.Errorf("guard: remote: revocation feed did not sync: %w (last error: %s)", ctx.Err(), r.Status().Err)
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// discover reads the issuer's metadata: the OpenID document, or the RFC
// 8414 one when the first is not found.
func discover(ctx context.Context, hc *http.Client, issuer string) (discoveryDoc, error) {
	var err error
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		var doc discoveryDoc
		if err = getJSON(ctx, hc, issuer+path, &doc); err == nil {
			// RFC 8414 §3.3: the document must name the issuer asked for.
			if strings.TrimSuffix(doc.Issuer, "/") != issuer {
				return doc, fmt.Errorf("%w: %s names issuer %q, want %q", errBadAnswer, issuer+path, doc.Issuer, issuer)
			}
			return doc, nil
		}
		if se := (*StatusError)(nil); !errors.As(err, &se) || se.Status != http.StatusNotFound {
			break
		}
	}
	return discoveryDoc{}, fmt.Errorf("discovery: %w", err)
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Method: http.MethodGet, URL: u, Status: resp.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, badAnswer(err))
	}
	return nil
}

// Close stops following the feed. The guard keeps its state but turns
// stale after MaxStale.
func (r *Remote) Close() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// Status reports the state of the revocation feed.
func (r *Remote) Status() RemoteStatus {
	st := RemoteStatus{
		Connected: r.connected.Load(),
		Cursor:    r.cursor.Load(),
		Entries:   r.DenyList.Len(),
	}
	select {
	case <-r.synced:
		st.Synced = true
	default:
	}
	if n := r.lastContact.Load(); n != 0 {
		st.LastContact = time.Unix(0, n).UTC()
	}
	st.Stale = r.staleFor() > r.maxStale
	r.errMu.Lock()
	st.Err = r.lastErr
	r.errMu.Unlock()
	return st
}

// staleFor is the time since the feed was last heard from (a very long
// time before the first contact).
func (r *Remote) staleFor() time.Duration {
	n := r.lastContact.Load()
	if n == 0 {
		return 1<<63 - 1
	}
	return r.now().Sub(time.Unix(0, n))
}

// gate refuses every credential while the feed is stale.
func (r *Remote) gate() *Error {
	if r.ignoreSt {
		return nil
	}
	if d := r.staleFor(); d > r.maxStale {
		return newError(http.StatusServiceUnavailable, CodeUnavailable,
			"the revocation feed is unreachable; credentials cannot be checked", &StaleError{Since: d})
	}
	return nil
}

// learnUsername fills in the username of a user's verified access token
// from the issuer's introspection endpoint (see RemoteConfig.SkipUsernames).
func (r *Remote) learnUsername(ctx context.Context, p *Principal, token string) *Error {
	if p.IsClient() || p.Subject == "" {
		return nil
	}
	name, err := r.APIKeys.username(ctx, p, token)
	switch {
	case err == nil:
		p.Username = name
		return nil
	case errors.Is(err, ErrInactive):
		return invalidToken("token is not active", err)
	default:
		return unavailable(err)
	}
}

func (r *Remote) contact() { r.lastContact.Store(r.now().UnixNano()) }

func (r *Remote) setErr(err error) {
	r.errMu.Lock()
	r.lastErr = err.Error()
	r.errMu.Unlock()
}

func (r *Remote) notify() {
	if r.onStatus != nil {
		r.onStatus(r.Status())
	}
}

// watchStale logs and reports the moments the guard turns stale and
// recovers (the gate itself is evaluated per request).
func (r *Remote) watchStale(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stale := r.staleFor() > r.maxStale
		if r.wasStale.Swap(stale) == stale {
			continue
		}
		if stale {
			r.log.Error("guard: revocation feed lost for longer than MaxStale; refusing credentials",
				"max_stale", r.maxStale, "feed", r.feedURL)
		} else {
			r.log.Info("guard: revocation feed back; accepting credentials", "cursor", r.cursor.Load())
		}
		r.notify()
	}
}

// follow keeps a stream to the feed open, reconnecting with backoff. An
// error that cannot heal (the feed refuses the client) is logged at error
// level and retried at the longest interval, while the stale gate closes
// after MaxStale; before the first sync it ends NewRemote instead.
func (r *Remote) follow(ctx context.Context) {
	var b backoff
	for ctx.Err() == nil {
		got, err := r.session(ctx)
		if r.connected.Swap(false) {
			r.notify()
		}
		if ctx.Err() != nil {
			return
		}
		if got {
			b.reset()
		}
		if err == nil {
			err = errors.New("revocation feed: stream ended")
		}
		r.setErr(err)
		d := b.next(err)
		if retryable(err) {
			r.log.Warn("guard: revocation feed disconnected; reconnecting", "err", err, "backoff", d)
		} else {
			r.log.Error("guard: revocation feed refused or unusable: fix the configuration (retrying slowly; credentials are refused after MaxStale)",
				"err", err, "client_id", r.clientID, "feed", r.feedURL, "backoff", d)
			select {
			case <-r.synced:
			default:
				select {
				case r.refused <- err:
				default:
				}
			}
		}
		if !sleep(ctx, d) {
			return
		}
	}
}

// feedIdle is how long a stream may stay silent (the server sends a
// heartbeat every 2s) before the guard drops it and reconnects.
const feedIdle = 10 * time.Second

// session runs one stream; it reports whether any event arrived.
func (r *Remote) session(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.feedURL, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	if c := r.cursor.Load(); c > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(c, 10))
	}
	resp, err := r.stream.Do(req)
	if err != nil {
		return false, fmt.Errorf("revocation feed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("revocation feed: %w",
			&StatusError{Method: http.MethodGet, URL: r.feedURL, ClientID: r.clientID, Status: resp.StatusCode})
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("revocation feed %s: %w: content type %q", r.feedURL, errBadAnswer, ct)
	}
	r.connected.Store(true)
	r.notify()

	// Drop a stream that went silent (a dead peer keeps TCP open).
	var lastRead atomic.Int64
	lastRead.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, lastRead.Load())) > feedIdle {
					cancel()
					return
				}
			}
		}
	}()

	got := false
	br := bufio.NewReaderSize(resp.Body, 4096)
	var event, data, id string
	for {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("revocation feed: stream ended")
			}
			return got, err
		}
		lastRead.Store(time.Now().UnixNano())
		if line == "" { // dispatch (WHATWG HTML §9.2.6)
			if event != "" || data != "" {
				if err := r.dispatch(ctx, event, id, data); err != nil {
					return got, err
				}
				got = true
			}
			event, data, id = "", "", ""
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			event = value
		case "data":
			if data != "" {
				data += "\n"
			}
			data += value
		case "id":
			id = value
		}
	}
}

// maxFeedLine bounds one line of the stream.
const maxFeedLine = 64 << 10

func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxFeedLine {
			return "", errors.New("revocation feed: line too long")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func (r *Remote) dispatch(ctx context.Context, event, id, data string) error {
	switch event {
	case "revocation":
		var e FeedEntry
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("revocation feed %s: bad entry: %w", r.feedURL, badAnswer(err))
		}
		r.apply(ctx, e)
		if seq, err := strconv.ParseInt(id, 10, 64); err == nil && seq > r.cursor.Load() {
			r.cursor.Store(seq)
		} else if e.Seq > r.cursor.Load() {
			r.cursor.Store(e.Seq)
		}
	case "ready":
		// Record the contact before NewRemote, waiting on synced, returns
		// the guard: its first request must not find the feed silent.
		r.contact()
		r.syncedOnce.Do(func() { close(r.synced) })
	case "heartbeat":
	default:
		return nil // an event of a newer server: ignore
	}
	r.contact()
	return nil
}

// apply applies one entry and drops what it makes out of date.
func (r *Remote) apply(ctx context.Context, e FeedEntry) {
	r.DenyList.Apply(e)
	switch e.Kind {
	case RevokeAPIKey:
		r.APIKeys.Forget(e.Value, "")
	case RevokeUser:
		// A disabled user's API keys stop: ask again.
		r.APIKeys.Forget("", e.Value)
	case RevokeKey:
		r.refreshKeys(ctx)
	case RevokeEvent:
		switch {
		case e.Value == "keys":
			r.refreshKeys(ctx)
		case strings.HasPrefix(e.Value, "apikey:"):
			r.APIKeys.Forget(strings.TrimPrefix(e.Value, "apikey:"), "")
		}
	}
}

// refreshKeys refetches the JWKS without holding up the feed.
func (r *Remote) refreshKeys(ctx context.Context) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.Keys.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("guard: refetch JWKS after key notice", "err", err)
		}
	}()
}
