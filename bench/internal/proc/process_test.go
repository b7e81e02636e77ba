package proc

import (
	"slices"
	"strings"
	"testing"
)

func TestServerEnv(t *testing.T) {
	base := []string{"PATH=/bin", "GATEHOUSE_SECRET=mine", "HOME=/h", "GATEHOUSE_REDIS_URL=redis://x", "XGATEHOUSE_KEEP=1"}
	got := ServerEnv(base, "sqlite:/tmp/x/gatehouse.db", "127.0.0.1:5555", "ab12")
	want := []string{"PATH=/bin", "HOME=/h", "XGATEHOUSE_KEEP=1",
		"GATEHOUSE_DATABASE_URL=sqlite:/tmp/x/gatehouse.db", "GATEHOUSE_ADDR=127.0.0.1:5555", "GATEHOUSE_SECRET=ab12"}
	if !slices.Equal(got, want) {
		t.Errorf("ServerEnv() = %q, want %q", got, want)
	}
}

func TestRandomHexIsASecret(t *testing.T) {
	a, b := RandomHex(32), RandomHex(32)
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Errorf("RandomHex(32) = %q then %q, want two different strings of 64 hex characters", a, b)
	}
}
