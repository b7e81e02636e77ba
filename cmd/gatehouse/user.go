package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// userJSON is the `user ... --json` shape.
type userJSON struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Scopes    []string  `json:"scopes"`
	Admin     bool      `json:"admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func toUserJSON(u store.User) userJSON {
	sc := u.Scopes
	if sc == nil {
		sc = []string{}
	}
	return userJSON{ID: u.ID, Username: u.Username, Scopes: sc, Admin: u.Admin, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func (e *env) printUsers(cmd *cobra.Command, us ...store.User) error {
	if jsonFlag(cmd) {
		out := make([]userJSON, len(us))
		for i, u := range us {
			out[i] = toUserJSON(u)
		}
		if cmd.Name() != "list" && len(out) == 1 {
			return e.printJSON(out[0])
		}
		return e.printJSON(out)
	}
	rows := make([][]string, len(us))
	for i, u := range us {
		rows[i] = []string{u.ID, u.Username, orDash(store.JoinScopes(u.Scopes)), strconv.FormatBool(u.Admin),
			strconv.FormatBool(u.Disabled), u.CreatedAt.Format(time.RFC3339)}
	}
	e.table([]string{"ID", "USERNAME", "SCOPES", "ADMIN", "DISABLED", "CREATED"}, rows)
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
			if _, err := manage.NewUsername(args[0]); err != nil {
				return err
			}
			var pw string
			if !noPassword {
				var err error
				if pw, err = e.readPassword(fromStdin, "Password for "+args[0]+": "); err != nil {
					return err
				}
			}
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				u, err := s.Manager().CreateUser(ctx, manage.CLI(), manage.NewUser{
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				us, err := s.Manager().ListUsers(ctx, "", 0)
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
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				u, err := s.Manager().FindUser(ctx, args[0])
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
				return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
					u, err := s.Manager().SetDisabled(ctx, manage.CLI(), args[0], disabled)
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
		Short: "set a user's password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fromStdin, _ := cmd.Flags().GetBool("password-stdin")
			pw, err := e.readPassword(fromStdin, "New password for "+args[0]+": ")
			if err != nil {
				return err
			}
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				u, err := s.Manager().SetPassword(ctx, manage.CLI(), args[0], pw)
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(toUserJSON(u))
				}
				fmt.Fprintf(e.stdout, "password of %s changed\n", u.Username)
				return nil
			})
		},
	}
	passwd.Flags().Bool("password-stdin", false, "read the password from stdin (one line)")

	logout := &cobra.Command{
		Use:   "logout NAME",
		Short: "log a user out everywhere: revoke every token issued so far",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withServer(cmd, func(ctx context.Context, s *gatehouse.Server) error {
				u, err := s.Manager().Logout(ctx, manage.CLI(), args[0])
				if err != nil {
					return err
				}
				if jsonFlag(cmd) {
					return e.printJSON(toUserJSON(u))
				}
				fmt.Fprintf(e.stdout, "%s logged out everywhere\n", u.Username)
				return nil
			})
		},
	}

	cmd.AddCommand(create, list, show,
		setDisabled("disable", "disable a user: refuse logins and revoke their tokens", true),
		setDisabled("enable", "enable a disabled user", false),
		passwd, logout)
	return cmd
}
