package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse"
)

func newRootCommand(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "gatehouse: API keys, OAuth2 and JWT access tokens for your HTTP API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addSettingFlags(root.PersistentFlags())
	root.PersistentFlags().Bool("json", false, "print JSON for scripts")
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
	return root
}

func jsonFlag(cmd *cobra.Command) bool {
	b, _ := cmd.Flags().GetBool("json")
	return b
}

// createsDatabase reports whether cmd may create the database (and its
// master secret) when there is none: only the commands that can do their
// work on an empty one. Every other command, reading or writing, needs an
// existing database, so that one run in the wrong directory fails instead
// of leaving a new database behind. serve and migrate create it too.
func createsDatabase(cmd *cobra.Command) bool {
	switch cmd.CommandPath() {
	case "gatehouse user create", "gatehouse client create", "gatehouse key rotate":
		return true
	}
	return false
}

// withServer opens the server's database for a CLI command.
func (e *env) withServer(cmd *cobra.Command, f func(ctx context.Context, s *gatehouse.Server) error) error {
	cfg, err := e.loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	open := gatehouse.OpenExisting
	if createsDatabase(cmd) {
		open = gatehouse.Open
	}
	s, err := open(ctx, cfg)
	if errors.Is(err, gatehouse.ErrNoDatabase) {
		return fmt.Errorf("%w (set --database-url)", err)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	return f(ctx, s)
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

func (e *env) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version()
			if jsonFlag(cmd) {
				return e.printJSON(map[string]string{"version": v})
			}
			fmt.Fprintln(e.stdout, "gatehouse", v)
			return nil
		},
	}
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
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
