package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clidb"
	"github.com/gatehouse/gatehouse/internal/service"
)

func newRootCommand(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "gatehouse: API keys, OAuth2 and JWT access tokens for your HTTP API",
		Version:       readVersion().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(
		e.serveCommand(),
		e.migrateCommand(),
		e.versionCommand(),
		e.userCommand(),
		e.apikeyCommand(),
		e.clientCommand(),
		e.keyCommand(),
		e.auditCommand(),
	)
	addFlags(root)
	return root
}

// addFlags gives every command below c its flags from the configuration:
// serve the server's settings, migrate what it needs, every command that
// works on the database --database-url, --secret-file and the few
// settings it uses, and every command but serve --json. A command group
// refuses a subcommand it does not have.
func addFlags(c *cobra.Command) {
	for _, sub := range c.Commands() {
		addFlags(sub)
	}
	if !c.HasParent() {
		return
	}
	if c.HasSubCommands() {
		c.Args = unknownSubcommand
		c.SuggestionsMinimumDistance = 2 // as cobra's default for the root
	}
	if !c.Runnable() {
		// A group: it shows its help, and refuses a mistyped subcommand
		// instead of showing the help too and exiting 0.
		c.Annotations = map[string]string{groupAnnotation: "true"}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		c.DisableFlagsInUseLine = true
		return
	}
	addSettingFlags(c, c.Flags())
	if commandName(c) != "serve" {
		c.Flags().Bool("json", false, "print JSON for scripts")
	}
}

// groupAnnotation marks a command that only groups subcommands.
const groupAnnotation = "gatehouse.group"

// isGroup reports whether cmd only groups subcommands.
func isGroup(cmd *cobra.Command) bool { return cmd.Annotations[groupAnnotation] == "true" }

// unknownSubcommand refuses the arguments of a command with subcommands
// and no arguments of its own: the first one names no subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return fmt.Errorf("%s\nRun '%s --help' for usage.", msg, cmd.CommandPath())
}

func jsonFlag(cmd *cobra.Command) bool {
	b, _ := cmd.Flags().GetBool("json")
	return b
}

// exclusive refuses boolean flags that contradict each other when more
// than one of them is on.
func exclusive(cmd *cobra.Command, names ...string) error {
	var on []string
	for _, n := range names {
		if b, _ := cmd.Flags().GetBool(n); b {
			on = append(on, "--"+n)
		}
	}
	if len(on) > 1 {
		return fmt.Errorf("%s contradict each other: use one", strings.Join(on, " and "))
	}
	return nil
}

// createsDatabase reports whether cmd may create the database (and its
// master secret) when there is none: only the commands that can do their
// work on an empty one. Every other command, reading or writing, needs an
// existing database, so that one run in the wrong directory fails instead
// of leaving a new database behind. serve and migrate create it too.
func createsDatabase(cmd *cobra.Command) bool {
	switch commandName(cmd) {
	case "user create", "client create", "key rotate":
		return true
	}
	return false
}

// withManager opens the database for a command that works on it, as the
// command's settings say, and runs f with the service layer on it; it
// opens nothing of a server (no routes, limiters, Redis or metrics) and
// closes the database when f returns.
func (e *env) withManager(cmd *cobra.Command, f func(ctx context.Context, m *service.Manager) error) error {
	cfg, err := e.loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	db, err := clidb.Open(ctx, toolConfig(cfg, createsDatabase(cmd)))
	if errors.Is(err, clidb.ErrNoDatabase) {
		return fmt.Errorf("%w (set --database-url)", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return f(ctx, db.Manager)
}

// toolConfig is what a command that works on the database takes of the
// server's configuration.
func toolConfig(cfg gatehouse.Config, create bool) clidb.Config {
	return clidb.Config{
		DatabaseURL: cfg.DatabaseURL, Secret: cfg.Secret, SecretFile: cfg.SecretFile, Create: create,
		SigningAlg: cfg.SigningAlg, JWTSecret: cfg.JWTSecret, KeyPublishDelay: cfg.KeyPublishDelay,
		APIKeyPrefix: cfg.APIKeyPrefix, MaxTokenTTL: cfg.AccessTokenTTL + cfg.ClockSkew, Logger: cfg.Logger,
	}
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, aligned.
func (e *env) table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// readPassword reads a password from stdin (one line, line ending
// stripped) or prompts for it on the terminal without echo.
func (e *env) readPassword(fromStdin bool, prompt string) (string, error) {
	if fromStdin {
		r := bufio.NewReader(e.stdin)
		line, err := r.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read password from stdin: nothing to read")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to prompt for the password: use --password-stdin")
	}
	fmt.Fprint(e.stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(e.stderr, "Repeat: ")
	b2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(b) != string(b2) {
		return "", errors.New("passwords do not match")
	}
	return string(b), nil
}

func (e *env) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "apply pending schema migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			n, err := gatehouse.Migrate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if jsonFlag(cmd) {
				return e.printJSON(map[string]int{"applied": n})
			}
			fmt.Fprintf(e.stdout, "applied %d migration(s)\n", n)
			return nil
		},
	}
}

// scopesFlag reads a command's --scopes flag: nil when the flag was not
// given (the command's default applies), otherwise the scopes it lists,
// an empty list for "" (none, never "all").
func scopesFlag(cmd *cobra.Command) []string {
	if !cmd.Flags().Changed("scopes") {
		return nil
	}
	v, _ := cmd.Flags().GetString("scopes")
	return splitList(v)
}

// splitList splits a list flag on commas and white space alike ("a,b",
// "a b" and "a, b" are two items), so that no list is taken for one item
// named "a,b". It never returns nil; "" gives an empty list.
func splitList(s string) []string {
	return append([]string{}, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
