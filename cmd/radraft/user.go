package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
)

// runUser: radraft user add --username U --role R    (password from stdin)
//
//	radraft user passwd --username U         (password from stdin)
//	radraft user token --username U [--name N] (prints a new bearer token)
//	radraft user list
func runUser(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: radraft user add|passwd|token|list [flags]")
	}
	sub := args[0]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	url := fs.String("database-url", env("RADRAFT_DATABASE_URL", "postgres://localhost:5432/radraft"), "Postgres URL (RADRAFT_DATABASE_URL)")
	username := fs.String("username", "", "user name")
	role := fs.String("role", "", "radiologist, qa_lead or admin")
	name := fs.String("name", "", "what the token is for (token)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if sub != "list" && *username == "" {
		return errors.New("--username is required")
	}
	store, err := drafts.Open(ctx, *url, true)
	if err != nil {
		return err
	}
	defer store.Close()
	accounts, auditLog := auth.New(store.DB()), audit.New(store.DB())
	switch sub {
	case "add":
		return userAdd(ctx, accounts, auditLog, *username, *role)
	case "passwd":
		return userPasswd(ctx, accounts, auditLog, *username)
	case "token":
		return userToken(ctx, accounts, auditLog, *username, *name)
	case "list":
		return userList(ctx, accounts)
	}
	return fmt.Errorf("unknown user subcommand %q", sub)
}

// userAdd creates an account with the password read from stdin.
func userAdd(ctx context.Context, accounts *auth.Store, auditLog *audit.Log, username, role string) error {
	if !auth.ValidRole(role) {
		return fmt.Errorf("--role must be one of %s", strings.Join(auth.Roles, ", "))
	}
	pw, err := readPassword(os.Stdin)
	if err != nil {
		return err
	}
	u, err := accounts.CreateUser(ctx, username, role, pw)
	if err != nil {
		return err
	}
	if err := auditLog.Append(ctx, audit.Entry{Actor: "cli", Action: "user.create", ObjectRef: "user:" + u.Username,
		Detail: map[string]any{"role": u.Role}}); err != nil {
		return unaudited("user "+u.Username+" added", err)
	}
	fmt.Printf("user %s (%s) added\n", u.Username, u.Role)
	return nil
}

// userPasswd sets an account's password from stdin, ending its sessions.
func userPasswd(ctx context.Context, accounts *auth.Store, auditLog *audit.Log, username string) error {
	pw, err := readPassword(os.Stdin)
	if err != nil {
		return err
	}
	if err := accounts.SetPassword(ctx, username, pw); err != nil {
		return err
	}
	if err := auditLog.Append(ctx, audit.Entry{Actor: "cli", Action: "user.passwd", ObjectRef: "user:" + username}); err != nil {
		return unaudited("password of "+username+" changed", err)
	}
	fmt.Printf("password of %s changed; their sessions ended\n", username)
	return nil
}

// userToken issues a bearer token and prints it once, only after its audit
// row is written.
func userToken(ctx context.Context, accounts *auth.Store, auditLog *audit.Log, username, name string) error {
	tok, t, err := accounts.CreateAPIToken(ctx, username, name)
	if err != nil {
		return err
	}
	if err := auditLog.Append(ctx, audit.Entry{Actor: "cli", Action: "token.create", ObjectRef: fmt.Sprintf("token:%d", t.ID),
		Detail: map[string]any{"for": username}}); err != nil {
		// The token is not printed: an unaudited credential is not handed out.
		if rerr := accounts.RevokeAPIToken(ctx, t.ID); rerr != nil {
			return fmt.Errorf("token %d created, its audit row not written (%w) and revoking it failed: %v", t.ID, err, rerr)
		}
		return fmt.Errorf("token not issued: audit row not written: %w", err)
	}
	fmt.Fprintf(os.Stderr, "token %d for %s (shown once; send it as Authorization: Bearer <token>):\n", t.ID, username)
	fmt.Println(tok)
	return nil
}

// userList prints each account's name and role, marking disabled ones.
func userList(ctx context.Context, accounts *auth.Store) error {
	users, err := accounts.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		state := ""
		if u.Disabled {
			state = " (disabled)"
		}
		fmt.Printf("%s\t%s%s\n", u.Username, u.Role, state)
	}
	return nil
}

// readPassword reads one line from stdin (no echo control: pipe it in, e.g.
// from a secret file).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("give the password on stdin")
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

// unaudited is the error of an account change that was made but whose audit
// row was not written. The CLI fails (non-zero exit) rather than logging:
// the operator is at the terminal, and an administrative change without its
// audit row must be noticed and redone or recorded by hand.
func unaudited(done string, err error) error {
	return fmt.Errorf("%s, but its audit row was not written: %w", done, err)
}
