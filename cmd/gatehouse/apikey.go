package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// apiKeyJSON is the `apikey create --json` shape (SPEC §2).
type apiKeyJSON struct {
	ID         string     `json:"id"`
	Key        string     `json:"key,omitempty"`
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name"`
	User       string     `json:"user"`
	Scopes     []string   `json:"scopes"`
	RateLimit  string     `json:"rate_limit,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	GraceEnds  *time.Time `json:"old_key_valid_until,omitempty"`
}

func toKeyJSON(k store.APIKey, user string) apiKeyJSON {
	sc := k.Scopes
	if sc == nil {
		sc = []string{}
	}
	return apiKeyJSON{ID: k.ID, Prefix: k.Prefix, Name: k.Name, User: user, Scopes: sc, RateLimit: k.RateLimit,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt,
		GraceEnds: k.PrevExpiresAt}
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
			in := manage.NewAPIKey{Owner: user, Name: name, Scopes: scopesFlag(cmd), RateLimit: rate}
			if expires != "" {
				d, err := manage.ParseDuration(expires)
				if err != nil || d == 0 {
					return fmt.Errorf("--expires %q: want a duration such as 90d or 12h", expires)
				}
				in.ExpiresIn = d
			}
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				k, err := s.Manager().CreateAPIKey(ctx, manage.CLI(), in)
				if err != nil {
					return err
				}
				out := toKeyJSON(k.APIKey, k.Username)
				out.Key = k.Secret
				if jsonFlag(cmd) {
					return e.printJSON(out)
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				ks, err := s.Manager().ListAPIKeys(ctx, user, "", 0)
				if err != nil {
					return err
				}
				ids := make([]string, len(ks))
				for i, k := range ks {
					ids[i] = k.UserID
				}
				names, err := s.Manager().Usernames(ctx, ids...)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					out := make([]apiKeyJSON, len(ks))
					for i, k := range ks {
						out[i] = toKeyJSON(k, names[k.UserID])
					}
					return e.printJSON(out)
				}
				now := time.Now()
				rows := make([][]string, len(ks))
				for i, k := range ks {
					rows[i] = []string{k.ID, k.Prefix + "…", k.Name, names[k.UserID], orDash(store.JoinScopes(k.Scopes)),
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				k, err := s.Manager().RevokeAPIKey(ctx, manage.CLI(), args[0], "")
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(toKeyJSON(k, ""))
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
			grace, err := manage.ParseDuration(graceS)
			if err != nil {
				return fmt.Errorf("--grace: %w", err)
			}
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				k, err := s.Manager().RotateAPIKey(ctx, manage.CLI(), args[0], grace)
				if err != nil {
					return err
				}
				out := toKeyJSON(k.APIKey, "")
				out.Key = k.Secret
				if jsonFlag(cmd) {
					return e.printJSON(out)
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				k, err := s.Manager().SetAPIKeyRateLimit(ctx, manage.CLI(), args[0], "", rate)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(toKeyJSON(k, ""))
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
