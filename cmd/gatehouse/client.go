package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/rest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (e *env) printClients(cmd *cobra.Command, single bool, cs ...store.Client) error {
	if jsonFlag(cmd) {
		out := make([]rest.Client, len(cs))
		for i, c := range cs {
			out[i] = rest.NewClient(c)
		}
		if single && len(out) == 1 {
			return e.printJSON(out[0])
		}
		return e.printJSON(out)
	}
	rows := make([][]string, len(cs))
	for i, c := range cs {
		rows[i] = []string{c.ID, c.Name, strings.Join(c.GrantTypes, ","), strconv.FormatBool(c.Public),
			orDash(strings.Join(c.RedirectURIs, " ")), orDash(store.JoinScopes(c.Scopes))}
	}
	e.table([]string{"CLIENT ID", "NAME", "GRANTS", "PUBLIC", "REDIRECT URIS", "SCOPES"}, rows)
	return nil
}

func (e *env) clientCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "manage OAuth2 clients"}

	create := &cobra.Command{
		Use:   "create --name NAME --grant TYPE...",
		Short: "register a client (its secret is shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, _ := cmd.Flags().GetString("name")
			var grants []string
			grantFlags, _ := cmd.Flags().GetStringArray("grant")
			for _, g := range grantFlags {
				grants = append(grants, splitList(g)...)
			}
			uris, _ := cmd.Flags().GetStringArray("redirect-uri")
			public, _ := cmd.Flags().GetBool("public")
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				c, err := m.CreateClient(ctx, audit.CLI(), service.NewClient{
					Name: name, GrantTypes: grants, RedirectURIs: uris, Public: public, Scopes: scopesFlag(cmd),
				})
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(rest.NewCreatedClient(c))
				}
				fmt.Fprintf(e.stdout, "client %s (%s) created\n  client_id:     %s\n", c.Name, strings.Join(c.GrantTypes, ", "), c.ID)
				if c.Secret != "" {
					fmt.Fprintf(e.stdout, "  client_secret: %s\n\nThis is the only time the secret is shown: store it now.\n", c.Secret)
				}
				return nil
			})
		},
	}
	create.Flags().String("name", "", "client name")
	create.Flags().StringArray("grant", nil, "grant type (repeatable, or a list separated by commas or spaces): password, client_credentials, authorization_code, refresh_token")
	create.Flags().StringArray("redirect-uri", nil, "exact redirect URI (repeatable)")
	create.Flags().Bool("public", false, "a public client (no secret; PKCE required)")
	create.Flags().String("scopes", "", `scopes the client may ask for, separated by spaces or commas (default: none, i.e. any scope its user has)`)

	list := &cobra.Command{
		Use:   "list",
		Short: "list clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				// The built-in first-party client is a client like any other.
				if err := m.EnsureFirstPartyClient(ctx); err != nil {
					return err
				}
				cs, err := m.ListClients(ctx, "", 0)
				if err != nil {
					return err
				}
				return e.printClients(cmd, false, cs...)
			})
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "show a client",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				c, err := m.GetClient(ctx, args[0])
				if err != nil {
					return err
				}
				return e.printClients(cmd, true, c)
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "delete a client and revoke its tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				if err := m.DeleteClient(ctx, audit.CLI(), args[0]); err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(map[string]any{"client_id": args[0], "deleted": true})
				}
				fmt.Fprintf(e.stdout, "client %s deleted\n", args[0])
				return nil
			})
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate-secret ID",
		Short: "give a confidential client a new secret (the old one stops working)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				c, err := m.RotateClientSecret(ctx, audit.CLI(), args[0])
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(rest.NewCreatedClient(c))
				}
				fmt.Fprintf(e.stdout, "new client_secret: %s\n\nThis is the only time the secret is shown: store it now.\n", c.Secret)
				return nil
			})
		},
	}
	setGrant := func(use, short string, on bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID GRANT",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
					if err := m.EnsureFirstPartyClient(ctx); err != nil {
						return err
					}
					c, err := m.SetClientGrant(ctx, audit.CLI(), args[0], args[1], on)
					if err != nil {
						return err
					}
					if jsonFlag(cmd) {
						return e.printJSON(rest.NewClient(c))
					}
					fmt.Fprintf(e.stdout, "client %s grants: %s\n", c.ID, strings.Join(c.GrantTypes, ", "))
					return nil
				})
			},
		}
	}
	enable := setGrant("enable-grant", "allow a client a grant type", true)
	disable := setGrant("disable-grant", "stop a client using a grant type (e.g. gatehouse's password grant)", false)
	cmd.AddCommand(create, list, show, del, rotate, enable, disable)
	return cmd
}
