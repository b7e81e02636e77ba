package deploy_test

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse"
)

// Package deploy_test checks the deployment examples in deploy/: they are
// read as text (no YAML parser, no docker) and checked against what the
// code really has; docker_test.go runs the documented container's commands
// with the real binary. The tests run in deploy/ and name files from the
// repository root.

// repoPath returns the path of a file named from the repository root
// ("deploy/README.md", "cmd/gatehouse/config.go").
func repoPath(path string) string { return filepath.Join("..", filepath.FromSlash(path)) }

func mustRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// dashboardExprs returns every PromQL expression of the Grafana dashboard,
// by panel title, and fails on a panel without one.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Type    string   `json:"type"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, "deploy/grafana/gatehouse-dashboard.json")), &d); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard needs a title and a uid")
	}
	out := map[string][]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q has an empty query", p.Title)
				}
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			out["variable "+v.Name] = append(out["variable "+v.Name], v.Definition)
		}
	}
	return out
}

// metricName matches the metric names the dashboard may use.
var metricName = regexp.MustCompile(`\b(?:gatehouse|go|process)_[a-z0-9_]+\b`)

func TestDeployDashboardMetricsExist(t *testing.T) {
	srv, err := gatehouse.New(t.Context(), gatehouse.Config{
		DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"), Issuer: "http://gatehouse.test",
		Secret: make([]byte, 32), InsecureFastPasswordHashing: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	defer srv.Close()
	serve := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "127.0.0.1:40000" // /metrics answers local clients
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
		}
		return w
	}
	serve("/healthz") // the HTTP series exist once a request was served
	parser := expfmt.NewTextParser(model.UTF8Validation)
	exported, err := parser.TextToMetricFamilies(serve("/metrics").Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	exists := func(name string) bool {
		if _, ok := exported[name]; ok {
			return true
		}
		// A histogram's series carry suffixes; counters are exposed with
		// their _total name.
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && exported[base].GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	used := map[string]bool{}
	for title, exprs := range dashboardExprs(t) {
		for _, e := range exprs {
			names := metricName.FindAllString(e, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no gatehouse metric", title, e)
			}
			for _, n := range names {
				used[n] = true
				if !exists(n) {
					t.Errorf("panel %q: metric %s is not exported by the server", title, n)
				}
			}
			if strings.Contains(e, "histogram_quantile(") && (!strings.Contains(e, "_bucket") || !strings.Contains(e, "le")) {
				t.Errorf("panel %q: quantile query %q must aggregate _bucket series by le", title, e)
			}
		}
	}
	// Everything an operator needs to see is charted.
	for _, want := range []string{
		"gatehouse_auth_total", "gatehouse_auth_duration_seconds_bucket",
		"gatehouse_tokens_issued_total", "gatehouse_token_requests_total", "gatehouse_token_request_duration_seconds_bucket",
		"gatehouse_password_hash_queue_depth", "gatehouse_password_hash_wait_seconds_bucket",
		"gatehouse_rate_limited_total", "gatehouse_revocation_entries", "gatehouse_revocation_lag_seconds_bucket",
		"gatehouse_revocation_feed_staleness_seconds", "gatehouse_store_errors_total", "gatehouse_store_up",
		"gatehouse_http_requests_total", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !used[want] {
			t.Errorf("the dashboard does not chart %s", want)
		}
	}
}

// knownSettings returns the flags of the server settings table in
// cmd/gatehouse/config.go and their GATEHOUSE_* names, plus the secrets
// that exist only as environment variables.
func knownSettings(t *testing.T) (flags, envs map[string]bool) {
	t.Helper()
	src := mustRead(t, "cmd/gatehouse/config.go")
	flags, envs = map[string]bool{}, map[string]bool{"GATEHOUSE_SECRET": true, "GATEHOUSE_JWT_SECRET": true}
	for _, m := range regexp.MustCompile(`\{name: "([a-z0-9-]+)"|\b(?:str|duration|integer|boolean|list)\("([a-z0-9-]+)"`).FindAllStringSubmatch(src, -1) {
		f := m[1] + m[2]
		flags[f] = true
		envs["GATEHOUSE_"+strings.ToUpper(strings.ReplaceAll(f, "-", "_"))] = true
	}
	if !flags["addr"] || !flags["database-url"] || !flags["trusted-proxies"] || !flags["metrics-allow"] {
		t.Fatalf("could not read the settings table, found %v", flags)
	}
	return flags, envs
}

var deployFiles = []string{
	"deploy/Dockerfile", "deploy/compose/compose.yaml", "deploy/compose/nginx.conf", "deploy/compose/prometheus.yml",
	"deploy/systemd/gatehouse.service", "deploy/systemd/gatehouse.env.example", "deploy/README.md",
}

func TestDeployNamesAreReal(t *testing.T) {
	_, envs := knownSettings(t)
	cmdSrc := ""
	files, _ := filepath.Glob(repoPath("cmd/gatehouse/*.go"))
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			cmdSrc += mustRead(t, "cmd/gatehouse/"+filepath.Base(f))
		}
	}
	envRef := regexp.MustCompile(`GATEHOUSE_[A-Z0-9_]+`)
	// "gatehouse NOUN VERB ... --flag": a CLI call shown in a file.
	cliCall := regexp.MustCompile(`\bgatehouse\s+([a-z]+)\b([^\n|;&]*)`)
	flagRef := regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`)
	for _, path := range deployFiles {
		text := mustRead(t, path)
		for _, name := range envRef.FindAllString(text, -1) {
			if !envs[name] {
				t.Errorf("%s: %s is not a gatehouse setting", path, name)
			}
		}
		for _, m := range cliCall.FindAllStringSubmatch(text, -1) {
			cmd := m[1]
			if !strings.Contains(cmdSrc, `Use:   "`+cmd) && !strings.Contains(cmdSrc, `Use: "`+cmd) {
				continue // prose ("gatehouse is ..."), not a command
			}
			for _, f := range flagRef.FindAllStringSubmatch(m[2], -1) {
				if f[1] != "help" && !strings.Contains(cmdSrc, `"`+f[1]+`"`) { // cobra adds --help
					t.Errorf("%s: gatehouse %s ... --%s: no such flag", path, cmd, f[1])
				}
			}
		}
	}
}

// env returns the environment entries (KEY: "value" lines) of compose.yaml.
func composeEnv(text string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(GATEHOUSE_[A-Z0-9_]+):\s*"?([^"\n]*)"?\s*$`).FindAllStringSubmatch(text, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func TestDeployCompose(t *testing.T) {
	compose := mustRead(t, "deploy/compose/compose.yaml")
	nginx := mustRead(t, "deploy/compose/nginx.conf")
	prom := mustRead(t, "deploy/compose/prometheus.yml")

	replicas := regexp.MustCompile(`(?m)^  (gatehouse-\d+):\n    <<: \*gatehouse$`).FindAllStringSubmatch(compose, -1)
	if len(replicas) != 3 {
		t.Fatalf("compose defines %d gatehouse replicas, want 3", len(replicas))
	}
	for _, svc := range []string{"proxy", "postgres", "redis"} {
		if !regexp.MustCompile(`(?m)^  ` + svc + `:$`).MatchString(compose) {
			t.Errorf("compose has no %s service", svc)
		}
	}
	upstream := regexp.MustCompile(`(?m)^\s*server\s+(gatehouse-\d+):8080\b`).FindAllStringSubmatch(nginx, -1)
	var ups []string
	for _, u := range upstream {
		ups = append(ups, u[1])
	}
	for _, r := range replicas {
		if !slices.Contains(ups, r[1]) {
			t.Errorf("nginx upstream does not list %s (has %v)", r[1], ups)
		}
		if !strings.Contains(prom, `"`+r[1]+`:8080"`) {
			t.Errorf("prometheus.yml does not scrape %s", r[1])
		}
	}
	if len(ups) != len(replicas) {
		t.Errorf("nginx upstream lists %v, want exactly the %d replicas", ups, len(replicas))
	}
	if !strings.Contains(nginx, "proxy_set_header X-Forwarded-For") {
		t.Errorf("nginx does not pass X-Forwarded-For")
	}
	if !regexp.MustCompile(`location = /metrics \{\s*return 404;`).MatchString(nginx) {
		t.Errorf("nginx must refuse /metrics from the outside")
	}

	env := composeEnv(compose)
	addrOf := func(svc string) string {
		m := regexp.MustCompile(`(?ms)^  ` + svc + `:\n.*?ipv4_address: ([0-9.]+)`).FindStringSubmatch(compose)
		if m == nil {
			t.Fatalf("compose gives %s no fixed address", svc)
		}
		return m[1]
	}
	if got, want := env["GATEHOUSE_TRUSTED_PROXIES"], addrOf("proxy"); got != want {
		t.Errorf("GATEHOUSE_TRUSTED_PROXIES = %q, want the proxy's address %q", got, want)
	}
	if got, want := env["GATEHOUSE_METRICS_ALLOW"], addrOf("prometheus"); got != want {
		t.Errorf("GATEHOUSE_METRICS_ALLOW = %q, want Prometheus's address %q", got, want)
	}
	if !strings.HasPrefix(env["GATEHOUSE_DATABASE_URL"], "postgres://") || !strings.Contains(env["GATEHOUSE_DATABASE_URL"], "@postgres:5432/") {
		t.Errorf("GATEHOUSE_DATABASE_URL = %q, want the compose PostgreSQL", env["GATEHOUSE_DATABASE_URL"])
	}
	if env["GATEHOUSE_REDIS_URL"] != "redis://redis:6379/0" {
		t.Errorf("GATEHOUSE_REDIS_URL = %q, want the compose Redis", env["GATEHOUSE_REDIS_URL"])
	}
	if _, port, err := net.SplitHostPort(env["GATEHOUSE_ADDR"]); err != nil || port != "8080" {
		t.Errorf("GATEHOUSE_ADDR = %q, want port 8080 (the nginx upstream port)", env["GATEHOUSE_ADDR"])
	}
	if env["GATEHOUSE_SECRET"] == "" || strings.Contains(compose, "GATEHOUSE_SECRET: \"0") {
		t.Errorf("GATEHOUSE_SECRET must come from the operator's environment, not be written in the file")
	}
	// The values are ones the server accepts.
	cfg := gatehouse.Config{
		Issuer: "http://127.0.0.1:8080", DatabaseURL: "postgres://x@postgres:5432/gatehouse", RedisURL: env["GATEHOUSE_REDIS_URL"],
		TrustedProxies: strings.Split(env["GATEHOUSE_TRUSTED_PROXIES"], ","), MetricsAllow: strings.Split(env["GATEHOUSE_METRICS_ALLOW"], ","),
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("compose settings rejected: %v", err)
	}
	for _, published := range regexp.MustCompile(`(?m)^\s+- "([0-9.]+):\d+:\d+"$`).FindAllStringSubmatch(compose, -1) {
		if published[1] != "127.0.0.1" {
			t.Errorf("compose publishes a port on %s, want 127.0.0.1 only", published[1])
		}
	}
}

func TestDeployDockerfile(t *testing.T) {
	df := mustRead(t, "deploy/Dockerfile")
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/gatehouse", "USER nonroot", `CMD ["serve"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("Dockerfile is not multi-stage: %v", froms)
	}
	final := froms[len(froms)-1][1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final image %s, want distroless/static or scratch", final)
	}
	if _, err := os.Stat(repoPath("cmd/gatehouse/main.go")); err != nil {
		t.Errorf("the Dockerfile builds ./cmd/gatehouse: %v", err)
	}
	expose := regexp.MustCompile(`(?m)^EXPOSE\s+(\d+)`).FindStringSubmatch(df)
	addr := dockerfileEnv(t)["GATEHOUSE_ADDR"]
	if expose == nil || addr == "" {
		t.Fatalf("Dockerfile needs EXPOSE and GATEHOUSE_ADDR")
	}
	if _, port, _ := net.SplitHostPort(addr); port != expose[1] {
		t.Errorf("EXPOSE %s but GATEHOUSE_ADDR=%s", expose[1], addr)
	}
	if strings.Contains(df, "GATEHOUSE_SECRET=") && !strings.Contains(df, "GATEHOUSE_SECRET=$(") {
		t.Errorf("the Dockerfile must not bake in a secret")
	}
}

// dockerfileEnv returns the variables the final stage of the Dockerfile
// sets with ENV (KEY=VALUE pairs, lines continued with a backslash).
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	df := mustRead(t, "deploy/Dockerfile")
	final := df[strings.LastIndex(df, "\nFROM "):]
	joined := strings.ReplaceAll(final, "\\\n", " ")
	env := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ENV\s+(.+)$`).FindAllStringSubmatch(joined, -1) {
		for _, kv := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Dockerfile: ENV %q is not KEY=VALUE", kv)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	if len(env) == 0 {
		t.Fatal("the Dockerfile's final stage sets no ENV")
	}
	return env
}

func TestDeploySystemdUnit(t *testing.T) {
	unit := map[string][]string{}
	for line := range strings.Lines(mustRead(t, "deploy/systemd/gatehouse.service")) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("unit line %q is not key=value", line)
			continue
		}
		unit[k] = append(unit[k], v)
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "StateDirectory": "gatehouse", "KillSignal": "SIGTERM",
	} {
		if !slices.Contains(unit[k], want) {
			t.Errorf("unit: %s=%v, want %s", k, unit[k], want)
		}
	}
	if len(unit["EnvironmentFile"]) == 0 {
		t.Errorf("unit has no EnvironmentFile for GATEHOUSE_SECRET")
	}
	if e := unit["ExecStart"]; len(e) != 1 || !strings.HasSuffix(e[0], "gatehouse serve") {
		t.Errorf("ExecStart = %v, want .../gatehouse serve", e)
	}
	for _, e := range unit["Environment"] {
		if strings.HasPrefix(e, "GATEHOUSE_DATABASE_URL=sqlite:") && !strings.HasPrefix(e, "GATEHOUSE_DATABASE_URL=sqlite:/var/lib/gatehouse/") {
			t.Errorf("%s: the SQLite file must live in the StateDirectory", e)
		}
		if strings.HasPrefix(e, "GATEHOUSE_SECRET") {
			t.Errorf("the secret belongs in the EnvironmentFile, not the unit")
		}
	}
}

func TestDeployReadmeLinks(t *testing.T) {
	readme := mustRead(t, "deploy/README.md")
	links := regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(readme, -1)
	seen := map[string]bool{}
	for _, l := range links {
		p := filepath.Join("deploy", filepath.FromSlash(l[1]))
		seen[filepath.ToSlash(p)] = true
		if _, err := os.Stat(repoPath(p)); err != nil {
			t.Errorf("deploy/README.md links %s: %v", l[1], err)
		}
	}
	for _, f := range slices.Concat(deployFiles[:len(deployFiles)-1], []string{"deploy/grafana/gatehouse-dashboard.json"}) {
		if !seen[f] {
			t.Errorf("deploy/README.md does not link %s", f)
		}
	}
}
