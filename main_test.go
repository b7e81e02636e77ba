package gatehouse_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestMain drops the per-run PostgreSQL scratch database after the tests.
// Started as a server's password worker (passwordworker_test.go), the test
// binary hashes instead.
func TestMain(m *testing.M) {
	gatehouse.RunPasswordWorkerIfChild()
	sqlstoretest.Main(m)
}
