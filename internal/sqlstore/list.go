package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/licensor/licensor/internal/licensing"
)

// where is a list query's WHERE clause, its placeholders numbered as they are added.
type where struct {
	conds []string
	args  []any
}

// scopedTo starts a WHERE clause with "<column> = $1" for the company.
func scopedTo(column string, companyID int64) *where {
	return &where{conds: []string{column + " = $1"}, args: []any{companyID}}
}

// add appends cond, in which "?" stands for the placeholder of arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// listPage counts the rows of `FROM from WHERE w` and returns the page p of them,
// selected as cols, in order.
func listPage[T any](ctx context.Context, t *Tx, cols, from string, w *where, order string, p licensing.Page,
	scan func(interface{ Scan(...any) error }) (T, error)) ([]T, int64, error) {
	cond := strings.Join(w.conds, " AND ")
	var n int64
	if err := t.Q.QueryRowContext(ctx, `SELECT count(*) FROM `+from+` WHERE `+cond, w.args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	lim, off := limitOffset(p)
	args := append(w.args[:len(w.args):len(w.args)], lim, off)
	k := len(args)
	rows, err := t.Q.QueryContext(ctx, `SELECT `+cols+` FROM `+from+` WHERE `+cond+` ORDER BY `+order+
		` LIMIT $`+strconv.Itoa(k-1)+` OFFSET $`+strconv.Itoa(k), args...)
	if err != nil {
		return nil, 0, err
	}
	out, err := collect(rows, scan)
	return out, n, err
}
