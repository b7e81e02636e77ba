package shelltest

import (
	"io"
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	vars := map[string]string{"TOKEN": "ey.J", "KEY": "gk_1"}
	for _, tc := range []struct {
		name, line string
		want       []string
		wantErr    bool
	}{
		{"blanks", "  curl  -s\thttp://x/ \n", []string{"curl", "-s", "http://x/"}, false},
		{"single quotes keep everything", `echo 'a b $KEY "c"'`, []string{"echo", `a b $KEY "c"`}, false},
		{"double quotes expand", `-H "Authorization: Bearer $TOKEN"`, []string{"-H", "Authorization: Bearer ey.J"}, false},
		{"bare variable", `-H X-API-Key:$KEY`, []string{"-H", "X-API-Key:gk_1"}, false},
		{"quotes join a word", `a'b c'"d"`, []string{"ab cd"}, false},
		{"empty quotes are a word", `x ''`, []string{"x", ""}, false},
		{"pipe", `echo 'pw' | go run ./cmd/gatehouse`, []string{"echo", "pw", "|", "go", "run", "./cmd/gatehouse"}, false},
		{"lone dollar", `cost $ 5`, []string{"cost", "$", "5"}, false},
		{"unset variable", `echo "$NOPE"`, nil, true},
		{"unbalanced quote", `echo 'abc`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Words(tc.line, vars)
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("Words(%q) = %q, %v, want %q (error %v)", tc.line, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCurlRequest(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		method, url string
		body, ctype string
		header      [2]string
		wantErr     bool
	}{
		{"get", []string{"-s", "http://h/users/me"}, "GET", "http://h/users/me", "", "", [2]string{}, false},
		{"form data as written", []string{"-s", "-d", "grant_type=password&password=a b", "http://h/token"}, "POST", "http://h/token", "grant_type=password&password=a b", "application/x-www-form-urlencoded", [2]string{}, false},
		{"several -d joined", []string{"-d", "a=1", "-d", "b=2", "http://h/t"}, "POST", "http://h/t", "a=1&b=2", "application/x-www-form-urlencoded", [2]string{}, false},
		{"header", []string{"-H", "X-API-Key: gk_1", "http://h/"}, "GET", "http://h/", "", "", [2]string{"X-API-Key", "gk_1"}, false},
		{"method", []string{"-s", "-X", "POST", "http://h/logout"}, "POST", "http://h/logout", "", "", [2]string{}, false},
		{"json content type kept", []string{"-H", "Content-Type: application/json", "-d", `{"a":1}`, "http://h/"}, "POST", "http://h/", `{"a":1}`, "application/json", [2]string{}, false},
		{"unknown option", []string{"-u", "id:secret", "http://h/"}, "", "", "", "", [2]string{}, true},
		{"no url", []string{"-s"}, "", "", "", "", [2]string{}, true},
		{"bad header", []string{"-H", "nocolon", "http://h/"}, "", "", "", "", [2]string{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := CurlRequest(t.Context(), tc.args)
			if tc.wantErr {
				if err == nil {
					t.Errorf("CurlRequest(%q) error = nil, want one", tc.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("CurlRequest(%q) error = %v", tc.args, err)
			}
			body := ""
			if req.Body != nil {
				b, _ := io.ReadAll(req.Body)
				body = string(b)
			}
			if req.Method != tc.method || req.URL.String() != tc.url || body != tc.body || req.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("CurlRequest(%q) = %s %s %q (%s), want %s %s %q (%s)", tc.args, req.Method, req.URL, body, req.Header.Get("Content-Type"), tc.method, tc.url, tc.body, tc.ctype)
			}
			if tc.header[0] != "" && req.Header.Get(tc.header[0]) != tc.header[1] {
				t.Errorf("CurlRequest(%q) header %s = %q, want %q", tc.args, tc.header[0], req.Header.Get(tc.header[0]), tc.header[1])
			}
		})
	}
}
