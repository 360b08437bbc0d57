package main

import (
	"context"
	"fmt"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/store/postgres"
)

func openPostgres(ctx context.Context, url string, migrate bool, opts ...postgres.Option) (conncred.Store, error) {
	if !migrate {
		opts = append(opts, postgres.WithoutMigrations())
	}
	s, err := postgres.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL %s: %w", redactURL(url), err)
	}
	return s, nil
}
