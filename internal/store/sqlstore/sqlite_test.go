package sqlstore_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func openSQLite(t *testing.T) store.Store { return sqlstoretest.NewSQLite(t) }

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

func TestSQLiteConcurrent(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrent(t, openSQLite)
}
