package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/rest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// printKey prints the view of k, with its owner's username.
func (e *env) printKey(ctx context.Context, m *service.Manager, k store.APIKey) error {
	views, err := rest.APIKeys(ctx, m, []store.APIKey{k})
	if err != nil {
		return err
	}
	return e.printJSON(views[0])
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func keyStatus(k store.APIKey, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

func (e *env) apikeyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "manage API keys"}

	create := &cobra.Command{
		Use:   "create --user NAME",
		Short: "create an API key (the key is shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			user, _ := cmd.Flags().GetString("user")
			name, _ := cmd.Flags().GetString("name")
			expires, _ := cmd.Flags().GetString("expires")
			rate, _ := cmd.Flags().GetString("rate-limit")
			if user == "" {
				return fmt.Errorf("--user is required")
			}
			in := service.NewAPIKey{Owner: user, Name: name, Scopes: scopesFlag(cmd), RateLimit: rate}
			if expires != "" {
				d, err := service.ParseDuration(expires)
				if err != nil || d == 0 {
					return fmt.Errorf("--expires %q: want a duration such as 90d or 12h", expires)
				}
				in.ExpiresIn = d
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				k, err := m.CreateAPIKey(ctx, audit.CLI(), in)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(rest.NewCreatedAPIKey(k))
				}
				fmt.Fprintf(e.stdout, "API key %s created for %s (scopes: %s, expires: %s)\n\n  %s\n\n"+
					"This is the only time the key is shown: store it now.\n",
					k.ID, k.Username, orDash(store.JoinScopes(k.Scopes)), fmtTime(k.ExpiresAt), k.Secret)
				return nil
			})
		},
	}
	create.Flags().String("user", "", "owner (username or id)")
	create.Flags().String("name", "", "a label for the key")
	create.Flags().String("scopes", "", `scopes, separated by spaces or commas (default: all of the owner's; "" = none)`)
	create.Flags().String("expires", "", "lifetime, e.g. 90d (default: never)")
	create.Flags().String("rate-limit", "", "per-key rate limit, e.g. 10/s")

	list := &cobra.Command{
		Use:   "list",
		Short: "list API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			user, _ := cmd.Flags().GetString("user")
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				ks, err := m.ListAPIKeys(ctx, user, "", 0)
				if err != nil {
					return err
				}
				views, err := rest.APIKeys(ctx, m, ks)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(views)
				}
				now := time.Now()
				rows := make([][]string, len(ks))
				for i, k := range ks {
					rows[i] = []string{k.ID, k.Prefix + "…", k.Name, views[i].User, orDash(store.JoinScopes(k.Scopes)),
						keyStatus(k, now), k.CreatedAt.Format(time.RFC3339), fmtTime(k.ExpiresAt), fmtTime(k.LastUsedAt)}
				}
				e.table([]string{"ID", "PREFIX", "NAME", "USER", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED"}, rows)
				return nil
			})
		},
	}
	list.Flags().String("user", "", "only this user's keys")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "revoke an API key at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				k, err := m.RevokeAPIKey(ctx, audit.CLI(), args[0], "")
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printKey(ctx, m, k)
				}
				fmt.Fprintf(e.stdout, "API key %s revoked\n", k.ID)
				return nil
			})
		},
	}

	rotate := &cobra.Command{
		Use:   "rotate ID",
		Short: "give an API key a new secret; the old one works until --grace ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			graceS, _ := cmd.Flags().GetString("grace")
			grace, err := service.ParseDuration(graceS)
			if err != nil {
				return fmt.Errorf("--grace: %w", err)
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				k, err := m.RotateAPIKey(ctx, audit.CLI(), args[0], grace)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					names, err := m.Usernames(ctx, k.UserID)
					if err != nil {
						return err
					}
					return e.printJSON(rest.NewRotatedAPIKey(k, names[k.UserID]))
				}
				fmt.Fprintf(e.stdout, "API key %s rotated; the old secret works until %s\n\n  %s\n\n"+
					"This is the only time the new key is shown: store it now.\n", k.ID, fmtTime(k.PrevExpiresAt), k.Secret)
				return nil
			})
		},
	}
	rotate.Flags().String("grace", "24h", "how long the old secret keeps working (0s = not at all)")

	setRate := &cobra.Command{
		Use:   "set-rate-limit ID RATE",
		Short: `change an API key's rate limit, e.g. 20/s, 100/m:20, unlimited, or "default" for the server's`,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rate := args[1]
			if rate == "default" {
				rate = ""
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				k, err := m.SetAPIKeyRateLimit(ctx, audit.CLI(), args[0], "", rate)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printKey(ctx, m, k)
				}
				shown := k.RateLimit
				if shown == "" {
					shown = "server default"
				}
				fmt.Fprintf(e.stdout, "API key %s rate limit: %s\n", k.ID, shown)
				return nil
			})
		},
	}

	cmd.AddCommand(create, list, revoke, rotate, setRate)
	return cmd
}
