package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envPrefix is the prefix of the environment variables that set flags:
// --max-active-credentials reads CONNCRED_MAX_ACTIVE_CREDENTIALS.
const envPrefix = "CONNCRED_"

// envName returns the environment variable for a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags applies the environment, then the command line, to fs, so a
// flag overrides its variable. Errors name the variable they came from.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
