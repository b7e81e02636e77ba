package api

import (
	"net/http"
	"strconv"
)

// Page is a cursor-pagination request: ?after=<cursor>&limit=<n>. Fetch
// Limit+1 items after After and hand them to [WritePage], which learns from
// the extra item whether another page exists.
type Page struct {
	After string
	Limit int
}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ParsePage reads ?after and ?limit; a bad limit or an overlong cursor is
// a 400 invalid_limit or invalid_cursor.
func ParsePage(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{After: q.Get("after"), Limit: DefaultPageSize}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
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

// WritePage writes {"items","next_cursor"} with status 200. items were
// fetched with limit+1; when there are more than limit, the extra one is
// dropped and the cursor of the last item shown becomes next_cursor.
func WritePage[T any](w http.ResponseWriter, items []T, limit int, cursor func(T) string) {
	if items == nil {
		items = []T{}
	}
	body := pageBody[T]{Items: items}
	if len(items) > limit {
		body.Items = items[:limit]
		body.NextCursor = cursor(items[limit-1])
	}
	writeJSON(w, http.StatusOK, body)
}
