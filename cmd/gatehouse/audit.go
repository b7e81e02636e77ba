package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// auditJSON is the `audit --json` shape (SPEC §2).
type auditJSON struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"`
	Actor     string    `json:"actor"`
	Target    string    `json:"target"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	RequestID string    `json:"request_id"`
	Result    string    `json:"result"`
	Reason    string    `json:"reason"`
}

func (e *env) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "show the audit log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f store.AuditFilter
			since, _ := cmd.Flags().GetString("since")
			f.Actor, _ = cmd.Flags().GetString("actor")
			f.Action, _ = cmd.Flags().GetString("action")
			f.Result, _ = cmd.Flags().GetString("result")
			f.Limit, _ = cmd.Flags().GetInt("limit")
			if since != "" {
				d, err := manage.ParseDuration(since)
				if err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				f.Since = time.Now().Add(-d)
			}
			if until, _ := cmd.Flags().GetString("until"); until != "" {
				d, err := manage.ParseDuration(until)
				if err != nil {
					return fmt.Errorf("--until: %w", err)
				}
				f.Until = time.Now().Add(-d)
			}
			if f.Result != "" && f.Result != audit.ResultSuccess && f.Result != audit.ResultFailure {
				return fmt.Errorf("--result %q: want success or failure", f.Result)
			}
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				evs, err := s.Manager().ListAudit(ctx, f)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					out := make([]auditJSON, len(evs))
					for i, ev := range evs {
						out[i] = auditJSON{Seq: ev.Seq, Time: ev.Time, Action: ev.Action, Actor: ev.Actor, Target: ev.Target,
							IP: ev.IP, UserAgent: ev.UserAgent, RequestID: ev.RequestID, Result: ev.Result, Reason: ev.Reason}
					}
					return e.printJSON(out)
				}
				rows := make([][]string, len(evs))
				for i, ev := range evs {
					rows[i] = []string{ev.Time.Format(time.RFC3339), ev.Action, orDash(ev.Actor), orDash(ev.Target),
						orDash(ev.IP), ev.Result, orDash(ev.Reason)}
				}
				e.table([]string{"TIME", "ACTION", "ACTOR", "TARGET", "IP", "RESULT", "REASON"}, rows)
				return nil
			})
		},
	}
	cmd.Flags().String("since", "", "only events newer than this, e.g. 1h or 7d")
	cmd.Flags().String("until", "", "only events older than this, e.g. 30m")
	cmd.Flags().String("actor", "", "only events by this actor id")
	cmd.Flags().String("action", "", "only this action, e.g. login.failed")
	cmd.Flags().String("result", "", "success or failure")
	cmd.Flags().Int("limit", 0, "at most this many events (0 = all)")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "check the audit log's hash chain and its stored head for edited, deleted or added events; says how many it checked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				rep, err := s.Manager().VerifyAudit(ctx)
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
			d, err := manage.ParseDuration(older)
			if err != nil || d <= 0 {
				return fmt.Errorf("--older-than %q: want a duration such as 365d", older)
			}
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				n, err := s.Manager().PruneAudit(ctx, time.Now().Add(-d))
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
