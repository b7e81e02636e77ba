package route

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestList(t *testing.T) {
	ok := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }
	}
	l := List{
		Func("POST", "/oauth2/token", ok("token")).Advertised("token_endpoint"),
		Func("POST", "/token", ok("alias")),
		New("GET", "/api-keys/{id}", ok("get key")),
		New("DELETE", "/api-keys/{id}", ok("revoke key")),
	}
	if r, found := l.Advertised("token_endpoint"); !found || r.Path != "/oauth2/token" {
		t.Errorf("Advertised(token_endpoint) = %+v, %v; want /oauth2/token", r, found)
	}
	if _, found := l.Advertised("userinfo_endpoint"); found {
		t.Error("Advertised(userinfo_endpoint) found a route the list does not have")
	}
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/token", true}, {"GET", "/token", false}, {"DELETE", "/api-keys/{id}", true}, {"DELETE", "/api-keys/x", false},
	} {
		if got := l.Has(tc.method, tc.path); got != tc.want {
			t.Errorf("Has(%q, %q) = %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
	if got, want := l.Paths(), []string{"/oauth2/token", "/token", "/api-keys/{id}"}; !slices.Equal(got, want) {
		t.Errorf("Paths() = %v, want %v", got, want)
	}
	mux := http.NewServeMux()
	l.Register(mux)
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/oauth2/token", "token"}, {"DELETE", "/api-keys/k1", "revoke key"}, {"GET", "/api-keys/k1", "get key"},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Body.String() != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.method, tc.path, w.Body.String(), tc.want)
		}
	}
}

// TestRegisterRefusesConflicts: two routes with one pattern are a
// programming error, caught when the server is built.
func TestRegisterRefusesConflicts(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Register with a duplicated pattern did not panic")
		}
	}()
	h := http.NotFoundHandler()
	List{New("GET", "/x", h), New("GET", "/x", h)}.Register(http.NewServeMux())
}
