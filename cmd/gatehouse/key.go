package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/rest"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (e *env) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "manage JWT signing keys"}
	list := &cobra.Command{
		Use:   "list",
		Short: "list signing keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				ks, err := m.ListSigningKeys(ctx)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					out := make([]rest.SigningKey, len(ks))
					for i, k := range ks {
						out[i] = rest.NewSigningKey(k)
					}
					return e.printJSON(out)
				}
				rows := make([][]string, len(ks))
				for i, k := range ks {
					rows[i] = []string{k.ID, k.Algorithm, k.Status, k.CreatedAt.Format(time.RFC3339), fmtTime(k.RetiredAt), fmtTime(k.ExpiresAt)}
				}
				e.table([]string{"KID", "ALG", "STATUS", "CREATED", "RETIRED", "LEAVES JWKS"}, rows)
				return nil
			})
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "create a new signing key; the old one stays published until its tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				k, err := m.RotateSigningKey(ctx, audit.CLI())
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					v, err := rest.RotatedSigningKey(ctx, m, k)
					if err != nil {
						return err
					}
					return e.printJSON(v)
				}
				fmt.Fprintf(e.stdout, "new signing key %s (%s) signs from %s\n", k.ID, k.Algorithm, k.ActivatesAt.Format(time.RFC3339))
				return nil
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke KID",
		Short: "withdraw a signing key: it leaves the JWKS and every token it signed is refused, on every replica",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				if err := m.RevokeSigningKey(ctx, audit.CLI(), args[0]); err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(rest.RevokedSigningKey{ID: args[0], Revoked: true})
				}
				fmt.Fprintf(e.stdout, "signing key %s revoked; every token it signed is refused\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(list, rotate, revoke)
	return cmd
}
