package main

import (
	"context"
	"errors"

	"github.com/conncred/conncred"
)

func openPostgres(ctx context.Context, url string, migrate bool) (conncred.Store, error) {
	return nil, errors.New("PostgreSQL support is not in this build yet")
}
