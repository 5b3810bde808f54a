package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/licensor/licensor/internal/licensing"
)

// memoCols names, by slot (licensing.Slot…), the device row's columns that remember
// the digest and signature of its last answer of that kind.
var memoCols = [licensing.SlotVariables + 1]struct{ digest, sig string }{
	licensing.SlotLicenseSignature: {"memo_license_digest", "memo_license_sig"},
	licensing.SlotCheck:            {"memo_check_digest", "memo_check_sig"},
	licensing.SlotTrack:            {"memo_track_digest", "memo_track_sig"},
	licensing.SlotVariables:        {"memo_variables_digest", "memo_variables_sig"},
}

// memoSlotCols returns a slot's memo columns; only licensing's slots have them.
func memoSlotCols(slot int) (digest, sig string, err error) {
	if slot < licensing.SlotLicenseSignature || slot > licensing.SlotVariables {
		return "", "", fmt.Errorf("no signature slot %d", slot)
	}
	c := memoCols[slot]
	return c.digest, c.sig, nil
}

// memoSelect is every slot's memo columns, in slot order, for a SELECT.
var memoSelect = func() string {
	s := ""
	for slot := licensing.SlotLicenseSignature; slot <= licensing.SlotVariables; slot++ {
		if s != "" {
			s += ", "
		}
		s += memoCols[slot].digest + ", " + memoCols[slot].sig
	}
	return s
}()

func (t *Tx) DeviceSignatures(ctx context.Context, deviceID int64) ([]licensing.DeviceSignature, error) {
	const n = licensing.SlotVariables
	digests := make([][]byte, n)
	sigs := make([]sql.NullString, n)
	dest := make([]any, 0, 2*n)
	for i := range n {
		dest = append(dest, &digests[i], &sigs[i])
	}
	err := t.Q.QueryRowContext(ctx, `SELECT `+memoSelect+` FROM devices WHERE id = $1`, deviceID).Scan(dest...)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []licensing.DeviceSignature
	for i := range n {
		if sigs[i].Valid && digests[i] != nil {
			out = append(out, licensing.DeviceSignature{DeviceID: deviceID, Slot: i + 1, Digest: digests[i], Signature: sigs[i].String})
		}
	}
	return out, nil
}

// PutDeviceSignatures writes each signature into its device's row, in the order given
// (the flush sorts by device, so device rows are locked in id order, as the last-check
// flush locks them). A device that does not exist is skipped.
func (t *Tx) PutDeviceSignatures(ctx context.Context, sigs []licensing.DeviceSignature) error {
	for _, s := range sigs {
		digest, sig, err := memoSlotCols(s.Slot)
		if err != nil {
			return err
		}
		if _, err := t.Q.ExecContext(ctx, `UPDATE devices SET `+digest+` = $1, `+sig+` = $2 WHERE id = $3`, s.Digest, s.Signature, s.DeviceID); err != nil {
			return err
		}
	}
	return nil
}
