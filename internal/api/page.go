package api

import (
	"net/http"
	"strconv"
)

// page is a cursor-pagination request: ?after=<cursor>&limit=<n>.
type page struct {
	After string
	Limit int
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{After: q.Get("after"), Limit: defaultPageSize}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return p, errorf(http.StatusBadRequest, "invalid_limit", "limit must be a number from 1 to 500")
		}
		p.Limit = n
	}
	if len(p.After) > 200 {
		return p, errorf(http.StatusBadRequest, "invalid_cursor", "cursor is too long")
	}
	return p, nil
}

// pageBody is the shape of every list response.
type pageBody[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// writePage writes items (fetched with limit+1 to learn whether more exist).
func writePage[T any](w http.ResponseWriter, items []T, limit int, cursor func(T) string) {
	body := pageBody[T]{Items: items}
	if len(items) > limit {
		body.Items = items[:limit]
		body.NextCursor = cursor(items[limit-1])
	}
	writeJSON(w, http.StatusOK, body)
}
