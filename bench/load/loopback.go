package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNotLoopback is returned (wrapped) for a URL or a connection whose host
// is not on the local machine.
var ErrNotLoopback = errors.New("not a loopback address")

// CheckLoopback reports whether rawURL may be load-tested: an http or https
// URL whose host is an IP address in 127.0.0.0/8, ::1 (or its IPv4-mapped
// form), or the name "localhost". Any other name is refused, even one that
// resolves to a loopback address, because what it resolves to can change.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parse target URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target URL %q: scheme must be http or https", rawURL)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Unmap().IsLoopback() {
		return fmt.Errorf("target URL %q: host %q: %w", rawURL, host, ErrNotLoopback)
	}
	return nil
}

// checkDialAddress is a net.Dialer Control function: it runs after name
// resolution and before connecting, so it also catches a "localhost" that
// resolves elsewhere.
func checkDialAddress(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("dial %s %s: %w", network, address, ErrNotLoopback)
	}
	return nil
}

// NewClient returns an HTTP client suited to load generation on loopback:
// it keeps up to concurrency idle connections to the host (the default
// transport keeps 2, which makes a closed-loop test churn connections and
// measure TCP set-up instead of the server), ignores proxy settings, does
// not follow redirects (the redirect response itself is the result), and
// refuses to connect to any address that is not loopback. A timeout of 0
// means no per-request timeout beyond the context.
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, ControlContext: checkDialAddress}
	return newClient(concurrency, timeout, dialer.DialContext)
}

// NewClientFrom is [NewClient] whose connections leave from the given
// local addresses, taking them in turn for each new connection, so that
// the server sees several clients (on Linux every address of 127.0.0.0/8
// is on the loopback interface and needs no set-up). Every address must
// be loopback; none means [NewClient].
func NewClientFrom(concurrency int, timeout time.Duration, from []netip.Addr) (*http.Client, error) {
	if len(from) == 0 {
		return NewClient(concurrency, timeout), nil
	}
	dialers := make([]*net.Dialer, len(from))
	for i, a := range from {
		if !a.Unmap().IsLoopback() {
			return nil, fmt.Errorf("local address %s: %w", a, ErrNotLoopback)
		}
		dialers[i] = &net.Dialer{
			Timeout:        5 * time.Second,
			ControlContext: checkDialAddress,
			LocalAddr:      &net.TCPAddr{IP: a.Unmap().AsSlice()},
		}
	}
	var next atomic.Uint64
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		d := dialers[(next.Add(1)-1)%uint64(len(dialers))]
		return d.DialContext(ctx, network, address)
	}
	return newClient(concurrency, timeout, dial), nil
}

// LoopbackRange returns n consecutive addresses starting at first, all of
// them in 127.0.0.0/8; it fails if they would leave that range.
func LoopbackRange(first netip.Addr, n int) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, n)
	a := first
	for range n {
		if !a.Is4() || !a.IsLoopback() {
			return nil, fmt.Errorf("%d addresses from %s: %s: %w", n, first, a, ErrNotLoopback)
		}
		out = append(out, a)
		a = a.Next()
	}
	return out, nil
}

func newClient(concurrency int, timeout time.Duration, dial func(context.Context, string, string) (net.Conn, error)) *http.Client {
	concurrency = max(concurrency, 1)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
