package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/rest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (e *env) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "show the audit log, newest first",
		Long: `Show the audit log, newest first (--reverse: oldest first). --limit keeps
the newest events. --actor takes a username, a client id, an id, cli or
apikey:<key id>; --action must be a known action and --result success or
failure. --since and --until take a duration back from now (1h, 7d) or an
RFC 3339 time. Users and clients are named beside their ids.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := store.AuditFilter{Desc: true}
			f.Actor, _ = cmd.Flags().GetString("actor")
			f.Action, _ = cmd.Flags().GetString("action")
			f.Result, _ = cmd.Flags().GetString("result")
			f.Limit, _ = cmd.Flags().GetInt("limit")
			reverse, _ := cmd.Flags().GetBool("reverse")
			now := time.Now()
			for _, b := range []struct {
				name string
				t    *time.Time
			}{{"since", &f.Since}, {"until", &f.Until}} {
				if s, _ := cmd.Flags().GetString(b.name); s != "" {
					t, err := service.ParseTimeBound("--"+b.name, s, now)
					if err != nil {
						return err
					}
					*b.t = t
				}
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				evs, err := m.ListAudit(ctx, f)
				if err != nil {
					return err
				}
				if reverse {
					slices.Reverse(evs)
				}
				if jsonFlag(cmd) {
					if evs == nil {
						evs = []rest.AuditEntry{}
					}
					return e.printJSON(evs)
				}
				rows := make([][]string, len(evs))
				for i, ev := range evs {
					rows[i] = []string{ev.Time.Format(time.RFC3339), ev.Action, named(ev.ActorName, ev.Actor),
						named(ev.TargetName, ev.Target), orDash(ev.IP), ev.Result, orDash(ev.Reason)}
				}
				e.table([]string{"TIME", "ACTION", "ACTOR", "TARGET", "IP", "RESULT", "REASON"}, rows)
				return nil
			})
		},
	}
	cmd.Flags().String("since", "", "only events at or after this: a duration back from now (1h, 7d) or an RFC 3339 time")
	cmd.Flags().String("until", "", "only events before this: a duration back from now (30m) or an RFC 3339 time")
	cmd.Flags().String("actor", "", "only events by this actor: a username, client id, id, cli or apikey:<key id>")
	cmd.Flags().String("action", "", "only this action, e.g. login.failed (an unknown one is refused)")
	cmd.Flags().String("result", "", "success or failure")
	cmd.Flags().Int("limit", 0, "at most this many events, the newest (0 = all)")
	cmd.Flags().Bool("reverse", false, "oldest first")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "check the audit log's hash chain and its stored head for edited, deleted or added events; says how many it checked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				rep, err := m.VerifyAudit(ctx)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					if err := e.printJSON(rep); err != nil {
						return err
					}
				}
				if !rep.OK {
					return fmt.Errorf("audit log is broken: %s", rep.String())
				}
				if !jsonFlag(cmd) {
					fmt.Fprintln(e.stdout, rep.String())
				}
				return nil
			})
		},
	}
	prune := &cobra.Command{
		Use:   "prune --older-than 365d",
		Short: "delete old audit events, keeping the chain verifiable (serve does it with --audit-retention)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			older, _ := cmd.Flags().GetString("older-than")
			d, err := service.ParseDuration(older)
			if err != nil || d <= 0 {
				return fmt.Errorf("--older-than %q: want a duration such as 365d", older)
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				n, err := m.PruneAudit(ctx, time.Now().Add(-d))
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(map[string]int64{"pruned": n})
				}
				fmt.Fprintf(e.stdout, "pruned %d audit events\n", n)
				return nil
			})
		},
	}
	prune.Flags().String("older-than", "", "delete events older than this, e.g. 365d")
	cmd.AddCommand(verify, prune)
	return cmd
}

// named shows an id with its name beside it ("alice (3qkv…)"), or the id
// alone when it has none.
func named(name, id string) string {
	if name == "" {
		return orDash(id)
	}
	return name + " (" + id + ")"
}
