package rest

import (
	"net/http"
	"strconv"
)

// page is a cursor-pagination request: ?after=<cursor>&limit=<n>. Fetch
// limit+1 items after after and hand them to [pageOf], which learns from
// the extra item whether another page exists.
type page struct {
	after string
	limit int
}

// Page sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 500
	maxCursorLen    = 200
)

// parsePage reads ?after and ?limit; a bad limit or an overlong cursor is
// a 400 invalid_limit or invalid_cursor.
func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{after: q.Get("after"), limit: defaultPageSize}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return p, errorf(http.StatusBadRequest, "invalid_limit", "limit must be a number from 1 to 500")
		}
		p.limit = n
	}
	if len(p.after) > maxCursorLen {
		return p, errorf(http.StatusBadRequest, "invalid_cursor", "cursor is too long")
	}
	return p, nil
}

// Page is the body of every list response.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageOf returns the page of items, which were fetched with limit+1: when
// there are more than limit, the extra one is dropped and the cursor of
// the last item shown becomes NextCursor.
func pageOf[T any](items []T, limit int, cursor func(T) string) Page[T] {
	if items == nil {
		items = []T{}
	}
	body := Page[T]{Items: items}
	if len(items) > limit {
		body.Items = items[:limit]
		body.NextCursor = cursor(items[limit-1])
	}
	return body
}

// views converts each of in with view.
func views[S, T any](in []S, view func(S) T) []T {
	out := make([]T, len(in))
	for i, s := range in {
		out[i] = view(s)
	}
	return out
}
