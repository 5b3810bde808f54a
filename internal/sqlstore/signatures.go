package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/licensor/licensor/internal/licensing"
)

func (t *Tx) DeviceSignatures(ctx context.Context, deviceID int64) ([]licensing.DeviceSignature, error) {
	rows, err := t.Q.QueryContext(ctx, `SELECT slot, digest, signature FROM device_signatures WHERE device_id = $1 ORDER BY slot`, deviceID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (licensing.DeviceSignature, error) {
		s := licensing.DeviceSignature{DeviceID: deviceID}
		err := r.Scan(&s.Slot, &s.Digest, &s.Signature)
		return s, err
	})
}

// PutDeviceSignatures upserts in the order given, in statements of at most 100 rows.
func (t *Tx) PutDeviceSignatures(ctx context.Context, sigs []licensing.DeviceSignature) error {
	const per = 100
	for lo := 0; lo < len(sigs); lo += per {
		chunk := sigs[lo:min(lo+per, len(sigs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO device_signatures (device_id, slot, digest, signature) VALUES `)
		args := make([]any, 0, 4*len(chunk))
		for i, s := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := 4 * i
			q.WriteString("($" + strconv.Itoa(n+1) + ", $" + strconv.Itoa(n+2) + ", $" + strconv.Itoa(n+3) + ", $" + strconv.Itoa(n+4) + ")")
			args = append(args, s.DeviceID, s.Slot, s.Digest, s.Signature)
		}
		q.WriteString(` ON CONFLICT (device_id, slot) DO UPDATE SET digest = excluded.digest, signature = excluded.signature`)
		if _, err := t.Q.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
