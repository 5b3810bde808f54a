package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

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

// allSlots is every slot that has memo columns, in order.
var allSlots = []int{licensing.SlotLicenseSignature, licensing.SlotCheck, licensing.SlotTrack, licensing.SlotVariables}

// checkSlot refuses a slot that has no memo columns.
func checkSlot(slot int) error {
	if slot < licensing.SlotLicenseSignature || slot > licensing.SlotVariables {
		return fmt.Errorf("no signature slot %d", slot)
	}
	return nil
}

// memoColumns lists the slots' memo columns (digest, signature, slot after slot),
// each prefixed with table ("d." or "").
func memoColumns(table string, slots []int) string {
	var b strings.Builder
	for i, slot := range slots {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(table + memoCols[slot].digest + ", " + table + memoCols[slot].sig)
	}
	return b.String()
}

// memoScan is where the memo columns of some slots (memoColumns) are scanned to.
type memoScan struct {
	slots   []int
	digests [][]byte
	sigs    []sql.NullString
}

func newMemoScan(slots []int) *memoScan {
	return &memoScan{slots: slots, digests: make([][]byte, len(slots)), sigs: make([]sql.NullString, len(slots))}
}

func (m *memoScan) dest() []any {
	dest := make([]any, 0, 2*len(m.slots))
	for i := range m.slots {
		dest = append(dest, &m.digests[i], &m.sigs[i])
	}
	return dest
}

// signatures are the remembered ones among the scanned slots, in slot order.
func (m *memoScan) signatures(deviceID int64) []licensing.DeviceSignature {
	var out []licensing.DeviceSignature
	for i, slot := range m.slots {
		if m.sigs[i].Valid && m.digests[i] != nil {
			out = append(out, licensing.DeviceSignature{DeviceID: deviceID, Slot: slot, Digest: m.digests[i], Signature: m.sigs[i].String})
		}
	}
	return out
}

var deviceSignaturesSQL = `SELECT ` + memoColumns("", allSlots) + ` FROM devices WHERE id = $1`

func (t *Tx) DeviceSignatures(ctx context.Context, deviceID int64) ([]licensing.DeviceSignature, error) {
	m := newMemoScan(allSlots)
	err := t.Q.QueryRowContext(ctx, deviceSignaturesSQL, deviceID).Scan(m.dest()...)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return m.signatures(deviceID), nil
}

// PutDeviceSignatures writes each signature into its device's row, in the order given
// (the flush sorts by device, so device rows are locked in id order, as
// DeactivateDevices locks them). A device that does not exist is skipped.
func (t *Tx) PutDeviceSignatures(ctx context.Context, sigs []licensing.DeviceSignature) error {
	for _, s := range sigs {
		if err := checkSlot(s.Slot); err != nil {
			return err
		}
		c := memoCols[s.Slot]
		if _, err := t.Q.ExecContext(ctx, `UPDATE devices SET `+c.digest+` = $1, `+c.sig+` = $2 WHERE id = $3`, s.Digest, s.Signature, s.DeviceID); err != nil {
			return err
		}
	}
	return nil
}
