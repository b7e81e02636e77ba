package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/rest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (e *env) printUsers(cmd *cobra.Command, us ...store.User) error {
	if jsonFlag(cmd) {
		now := time.Now()
		out := make([]rest.User, len(us))
		for i, u := range us {
			out[i] = rest.NewUser(u, now)
		}
		if cmd.Name() != "list" && len(out) == 1 {
			return e.printJSON(out[0])
		}
		return e.printJSON(out)
	}
	rows := make([][]string, len(us))
	for i, u := range us {
		locked := "-"
		if t := service.LockedUntil(u, time.Now()); t != nil {
			locked = t.Format(time.RFC3339)
		}
		rows[i] = []string{u.ID, u.Username, orDash(store.JoinScopes(u.Scopes)), strconv.FormatBool(u.Admin),
			strconv.FormatBool(u.Disabled), u.CreatedAt.Format(time.RFC3339), locked}
	}
	e.table([]string{"ID", "USERNAME", "SCOPES", "ADMIN", "DISABLED", "CREATED", "LOCKED UNTIL"}, rows)
	return nil
}

func (e *env) userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "manage users"}

	create := &cobra.Command{
		Use:   "create NAME",
		Short: "create a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fromStdin, _ := cmd.Flags().GetBool("password-stdin")
			noPassword, _ := cmd.Flags().GetBool("no-password")
			admin, _ := cmd.Flags().GetBool("admin")
			if err := exclusive(cmd, "no-password", "password-stdin"); err != nil {
				return err
			}
			if _, err := service.NewUsername(args[0]); err != nil {
				return err
			}
			var pw string
			if !noPassword {
				var err error
				if pw, err = e.readPassword(fromStdin, "Password for "+args[0]+": "); err != nil {
					return err
				}
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				u, err := m.CreateUser(ctx, audit.CLI(), service.NewUser{
					Username: args[0], Password: pw, Scopes: scopesFlag(cmd), Admin: admin,
				})
				if err != nil {
					return err
				}
				return e.printUsers(cmd, u)
			})
		},
	}
	create.Flags().Bool("password-stdin", false, "read the password from stdin (one line)")
	create.Flags().Bool("no-password", false, "create the user without a password (API keys only)")
	create.Flags().String("scopes", "", `scopes, separated by spaces or commas, e.g. "read write"`)
	create.Flags().Bool("admin", false, "make the user an administrator (adds the admin scope)")

	list := &cobra.Command{
		Use:   "list",
		Short: "list users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				us, err := m.ListUsers(ctx, "", 0)
				if err != nil {
					return err
				}
				return e.printUsers(cmd, us...)
			})
		},
	}

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "show a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				u, err := m.FindUser(ctx, args[0])
				if err != nil {
					return err
				}
				return e.printUsers(cmd, u)
			})
		},
	}

	setDisabled := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
					u, err := m.SetDisabled(ctx, audit.CLI(), args[0], disabled)
					if err != nil {
						return err
					}
					return e.printUsers(cmd, u)
				})
			},
		}
	}

	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "set a user's password (also ends the throttling of their failed logins)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fromStdin, _ := cmd.Flags().GetBool("password-stdin")
			pw, err := e.readPassword(fromStdin, "New password for "+args[0]+": ")
			if err != nil {
				return err
			}
			return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
				u, err := m.SetPassword(ctx, audit.CLI(), args[0], pw)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(rest.NewUser(u, time.Now()))
				}
				fmt.Fprintf(e.stdout, "password of %s changed\n", u.Username)
				return nil
			})
		},
	}
	passwd.Flags().Bool("password-stdin", false, "read the password from stdin (one line)")

	// userAction is a command NAME that runs one manager operation on a
	// user and says done (or prints the user with --json).
	userAction := func(use, short, long, done string,
		action func(*service.Manager, context.Context, audit.Actor, string) (store.User, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Long: long,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withManager(cmd, func(ctx context.Context, m *service.Manager) error {
					u, err := action(m, ctx, audit.CLI(), args[0])
					if err != nil {
						return err
					}
					if jsonFlag(cmd) {
						return e.printJSON(rest.NewUser(u, time.Now()))
					}
					fmt.Fprintf(e.stdout, "%s %s\n", u.Username, done)
					return nil
				})
			},
		}
	}
	logout := userAction("logout", "log a user out everywhere: revoke every token issued so far", "", "logged out everywhere",
		(*service.Manager).Logout)
	unlock := userAction("unlock", "end the throttling of a user's failed logins (every address's lock and the slow-down)",
		"End the throttling of a user's failed logins: the lock of every address that failed too often and\n"+
			"the account's slow-down, on every running server within a second. `user enable` and `user passwd`\n"+
			"do this too.", "unlocked",
		(*service.Manager).Unlock)

	cmd.AddCommand(create, list, show,
		setDisabled("disable", "disable a user: refuse logins and revoke their tokens", true),
		setDisabled("enable", "enable a disabled user (also ends the throttling of their failed logins)", false),
		passwd, logout, unlock)
	return cmd
}
