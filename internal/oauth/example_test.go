package oauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// A token endpoint parses the form once, reads each parameter once, and
// writes every failure through WriteError.
func ExampleWriteError() {
	body := "grant_type=client_credentials&scope=read&scope=write"
	r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("my-client", "s3cret")

	handle := func(r *http.Request) error {
		form, err := oauth.ParseForm(r, 0)
		if err != nil {
			return err
		}
		gt, err := oauth.Required(form, "grant_type")
		if err != nil {
			return err
		}
		fmt.Println("grant_type:", gt)
		if _, err := oauth.Single(form, "scope"); err != nil {
			return err
		}
		return nil
	}

	w := httptest.NewRecorder()
	if err := handle(r); err != nil {
		oauth.WriteError(w, err)
	}
	fmt.Println(w.Code, w.Header().Get("Cache-Control"))
	fmt.Print(w.Body.String())
	// Output:
	// grant_type: client_credentials
	// 400 no-store
	// {"error":"invalid_request","error_description":"duplicate parameter: scope"}
}

// An authorization endpoint checks redirect_uri against the registration
// and sends the code back with the registered query kept.
func ExampleMatchRedirectURI() {
	registered := []string{"https://app.example.com/cb?tenant=7", "http://127.0.0.1/native"}

	for _, got := range []string{"https://app.example.com/cb?tenant=7", "http://127.0.0.1:49152/native", "https://app.example.com/cb"} {
		redirect, ok := oauth.MatchRedirectURI(registered, got)
		if !ok {
			fmt.Println("refused:", got)
			continue
		}
		fmt.Println(oauth.AppendQuery(redirect, url.Values{"code": {"c0de"}, "state": {"xyz"}}))
	}
	// Output:
	// https://app.example.com/cb?tenant=7&code=c0de&state=xyz
	// http://127.0.0.1:49152/native?code=c0de&state=xyz
	// refused: https://app.example.com/cb
}

func ExampleVerifyPKCE() {
	// RFC 7636 Appendix B.
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	fmt.Println(oauth.ValidChallenge(challenge, oauth.PKCES256) == nil)
	fmt.Println(oauth.VerifyPKCE(verifier, challenge, oauth.PKCES256))
	fmt.Println(oauth.VerifyPKCE(verifier, verifier, "plain"))
	// Output:
	// true
	// true
	// false
}
