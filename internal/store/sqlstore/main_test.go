package sqlstore_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }
