package sqlstore

import "testing"

func TestSQLiteFile(t *testing.T) {
	for _, tc := range []struct {
		url, want string
		ok        bool
	}{
		{"sqlite:./gatehouse.db", "./gatehouse.db", true},
		{"sqlite:///var/lib/gatehouse/gatehouse.db", "/var/lib/gatehouse/gatehouse.db", true},
		{"sqlite://rel.db", "rel.db", true},
		{"sqlite:x.db?_pragma=foo", "x.db", true},
		{"/tmp/a b/x.db", "/tmp/a b/x.db", true},
		{"file:/tmp/x.db?cache=shared", "/tmp/x.db", true},
		{"sqlite:file:x.db?mode=rwc", "x.db", true},
		{"postgres://u@h/db", "", false},
		{"POSTGRESQL://u@h/db", "", false},
		{"sqlite::memory:", "", false},
		{"file::memory:", "", false},
		{"sqlite:", "", false},
	} {
		got, ok := SQLiteFile(tc.url)
		if got != tc.want || ok != tc.ok {
			t.Errorf("SQLiteFile(%q) = %q, %v; want %q, %v", tc.url, got, ok, tc.want, tc.ok)
		}
	}
}
