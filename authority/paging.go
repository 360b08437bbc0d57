package authority

import (
	"encoding/base64"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// Page sizes: ConductorOne's lists default to a modest page and coerce large
// requests down rather than refusing them (AIP-158).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageRequest is a caller's page_size and page_token.
type PageRequest struct {
	Size  int
	Token string
}

// pageTokenPrefix versions the token format, so it can change without old
// tokens being misread.
const pageTokenPrefix = "v1."

// listOptions validates a page request and turns it into store options. The
// page token is opaque to callers; it carries the id of the last record
// returned. It is checked strictly so a forged token is a clear 400, never a
// query with attacker-chosen input.
func listOptions(p PageRequest) (conncred.ListOptions, error) {
	if p.Size < 0 {
		return conncred.ListOptions{}, conncred.Errorf(conncred.EInvalid, "page_size must not be negative")
	}
	size := p.Size
	if size == 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		size = MaxPageSize
	}
	opt := conncred.ListOptions{Limit: size + 1} // one extra says whether a next page exists
	if p.Token != "" {
		raw, err := base64.RawURLEncoding.Strict().DecodeString(p.Token)
		id, ok := strings.CutPrefix(string(raw), pageTokenPrefix)
		if err != nil || !ok || !ksuid.Valid(id) {
			return conncred.ListOptions{}, conncred.Errorf(conncred.EInvalid, "page_token is not valid; pass the nextPageToken of the previous page, or none for the first page")
		}
		opt.After = id
	}
	return opt, nil
}

// page trims the extra record listOptions asked for and returns the token of
// the next page ("" on the last page).
func page[T any](items []T, opt conncred.ListOptions, id func(T) string) ([]T, string) {
	if len(items) < opt.Limit {
		return items, ""
	}
	items = items[:opt.Limit-1]
	return items, base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + id(items[len(items)-1])))
}
