package signing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// RotateIfDue rotates (see [Keys.Rotate]) when the newest current key of
// the first algorithm in use was created period or longer ago, and reports
// whether this call rotated. Every replica may call it on the same
// schedule: it re-reads the store first, so a rotation made by another
// replica makes the key young again, and when two replicas find it due at
// the same moment exactly one wins; the loser gets no error (false, nil).
func (k *Keys) RotateIfDue(ctx context.Context, period time.Duration) (bool, store.SigningKey, error) {
	if period <= 0 {
		return false, store.SigningKey{}, errors.New("rotate if due: period must be positive")
	}
	recs, err := k.reload(ctx)
	if err != nil {
		return false, store.SigningKey{}, fmt.Errorf("rotate if due: %w", err)
	}
	algs := k.keyAlgs()
	if len(algs) == 0 {
		return false, store.SigningKey{}, nil
	}
	cur := currentKeys(recs, algs[0])
	if len(cur) > 0 && k.now().Sub(cur[0].CreatedAt) < period {
		return false, store.SigningKey{}, nil
	}
	nk, err := k.Rotate(ctx)
	if errors.Is(err, store.ErrConflict) {
		return false, store.SigningKey{}, nil // another replica rotated
	}
	if err != nil {
		return false, store.SigningKey{}, err
	}
	return true, nk, nil
}

// PublishDelay returns how long a key made by [Keys.Rotate] is published
// before it signs (see [Config.PublishDelay]).
func (k *Keys) PublishDelay() time.Duration { return k.publishDelay }
