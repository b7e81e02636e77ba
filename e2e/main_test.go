// Package e2e_test holds gatehouse's end-to-end tests: the real server
// (gatehouse.New) on SQLite and PostgreSQL, driven over HTTP the way
// clients, browsers, remote guards, replicas and the CLI drive it, a file
// per subject (token_test.go, authorize_test.go, revocation_test.go,
// replicas_test.go, limits_test.go, hygiene_test.go, …). helpers_test.go
// holds what every subject shares: the test server, the one settable
// clock and the one waitFor.
//
// The tests see the server through its public API only. What a test
// needs beyond it, it opens itself on the same database: a second service
// layer through internal/clidb (the way the CLI does, whose changes reach
// the server through the revocation feed) and an internal/store/sqlstore
// handle to read or edit records.
package e2e_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestMain drops the per-run PostgreSQL scratch database after the tests.
// Started as a server's password worker (passwordworker_test.go), the test
// binary hashes instead.
func TestMain(m *testing.M) {
	password.RunWorkerIfChild()
	sqlstoretest.Main(m)
}
