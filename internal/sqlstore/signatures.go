package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// PutDeviceSignatures writes each signature into its device's row (a later one of the
// same device and slot wins), skipping devices that do not exist. Where rows are locked
// (PostgreSQL), every device row is locked first, in id order, as the last-check flush
// and license resets lock them; then each slot's signatures are written 100 rows a
// statement.
func (t *Tx) PutDeviceSignatures(ctx context.Context, sigs []licensing.DeviceSignature) error {
	const per = 100
	type key struct {
		device int64
		slot   int
	}
	last := make(map[key]int, len(sigs))
	var ids []int64
	seen := make(map[int64]bool, len(sigs))
	for i, s := range sigs {
		if _, _, err := memoSlotCols(s.Slot); err != nil {
			return err
		}
		last[key{s.DeviceID, s.Slot}] = i
		if !seen[s.DeviceID] {
			seen[s.DeviceID] = true
			ids = append(ids, s.DeviceID)
		}
	}
	if t.D.LockSuffix != "" {
		slices.Sort(ids)
		for lo := 0; lo < len(ids); lo += per {
			chunk := ids[lo:min(lo+per, len(ids))]
			var in strings.Builder
			args := make([]any, len(chunk))
			for i, id := range chunk {
				if i > 0 {
					in.WriteString(", ")
				}
				fmt.Fprintf(&in, "$%d", i+1)
				args[i] = id
			}
			rows, err := t.Q.QueryContext(ctx, `SELECT id FROM devices WHERE id IN (`+in.String()+`) ORDER BY id`+t.D.LockSuffix, args...)
			if err != nil {
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
	}
	for slot := licensing.SlotLicenseSignature; slot <= licensing.SlotVariables; slot++ {
		var group []licensing.DeviceSignature
		for i, s := range sigs {
			if s.Slot == slot && last[key{s.DeviceID, slot}] == i {
				group = append(group, s)
			}
		}
		for lo := 0; lo < len(group); lo += per {
			if err := t.putMemoSlot(ctx, slot, group[lo:min(lo+per, len(group))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// putMemoSlot writes one slot of distinct devices in one statement. Each CASE ends in the
// column itself, which gives PostgreSQL the parameters' types. Parameters are numbered
// in the order they first appear (SQLite numbers $N by appearance): ids and digests
// alternate, then the signatures.
func (t *Tx) putMemoSlot(ctx context.Context, slot int, sigs []licensing.DeviceSignature) error {
	digest, sig := memoCols[slot].digest, memoCols[slot].sig
	n := len(sigs)
	var d, g, in strings.Builder
	args := make([]any, 3*n)
	for i, s := range sigs {
		fmt.Fprintf(&d, " WHEN $%d THEN $%d", 2*i+1, 2*i+2)
		fmt.Fprintf(&g, " WHEN $%d THEN $%d", 2*i+1, 2*n+i+1)
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, "$%d", 2*i+1)
		args[2*i], args[2*i+1], args[2*n+i] = s.DeviceID, s.Digest, s.Signature
	}
	_, err := t.Q.ExecContext(ctx, `UPDATE devices SET `+digest+` = CASE id`+d.String()+` ELSE `+digest+` END, `+
		sig+` = CASE id`+g.String()+` ELSE `+sig+` END WHERE id IN (`+in.String()+`)`, args...)
	return err
}
