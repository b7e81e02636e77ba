package gatehouse_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestMain drops the per-run PostgreSQL scratch database after the tests.
func TestMain(m *testing.M) { sqlstoretest.Main(m) }
