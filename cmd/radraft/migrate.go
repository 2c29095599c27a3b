package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/radraft/radraft/drafts"
)

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	url := fs.String("database-url", env("RADRAFT_DATABASE_URL", "postgres://localhost:5432/radraft"), "Postgres URL (RADRAFT_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := drafts.Open(ctx, *url, false)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Println("schema is current")
	}
	for _, name := range applied {
		fmt.Println("applied", name)
	}
	return nil
}
