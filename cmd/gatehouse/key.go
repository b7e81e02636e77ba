package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

func (e *env) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "manage JWT signing keys"}
	list := &cobra.Command{
		Use:   "list",
		Short: "list signing keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				ks, err := s.Manager().ListSigningKeys(ctx)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(ks)
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				k, err := s.Manager().RotateSigningKey(ctx, manage.CLI())
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(map[string]any{"kid": k.ID, "alg": k.Algorithm, "activates_at": k.ActivatesAt})
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				if err := s.Manager().RevokeSigningKey(ctx, manage.CLI(), args[0]); err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(map[string]any{"kid": args[0], "revoked": true})
				}
				fmt.Fprintf(e.stdout, "signing key %s revoked; every token it signed is refused\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(list, rotate, revoke)
	return cmd
}
