package licenseapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/signing"
)

func TestSignerReusesOnlyIdenticalBytesOfOneCompany(t *testing.T) {
	keys := map[int64][2]string{}
	for _, id := range []int64{1, 2} {
		priv, pub, err := signing.Generate(signing.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		keys[id] = [2]string{priv, pub}
	}
	s := newSigner(2, func(_ context.Context, id int64) (string, error) {
		k, ok := keys[id]
		if !ok {
			return "", fmt.Errorf("no company %d", id)
		}
		return k[0], nil
	})
	ctx := context.Background()
	sign := func(company int64, msg string) string {
		t.Helper()
		sig, err := s.sign(ctx, company, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if err := signing.Verify(keys[company][1], []byte(msg), sig); err != nil {
			t.Fatalf("company %d %q: %v", company, msg, err)
		}
		return sig
	}
	a := sign(1, "body")
	if sign(1, "body") != a || s.made.Load() != 1 || s.reused.Load() != 1 {
		t.Fatalf("identical bytes were signed again: made %d reused %d", s.made.Load(), s.reused.Load())
	}
	sign(2, "body") // same bytes, other company: its own key
	sign(1, "body2")
	if s.made.Load() != 3 {
		t.Fatalf("made %d, want 3", s.made.Load())
	}
	sign(1, "body3") // evicts the oldest of a 2-entry cache
	sign(2, "body")
	if s.made.Load() != 5 {
		t.Fatalf("bounded cache kept an evicted entry: made %d", s.made.Load())
	}
	if _, err := s.sign(ctx, 9, []byte("x")); err == nil {
		t.Fatal("unknown company signed")
	}
}

// TestSignerQueuesForASlot: at most one signature per core is computed at once; a
// request waiting for a slot leaves when its context ends, and signs once a slot frees.
func TestSignerQueuesForASlot(t *testing.T) {
	priv, pub, err := signing.Generate(signing.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s := newSigner(16, func(context.Context, int64) (string, error) { return priv, nil })
	if cap(s.slots) != runtime.GOMAXPROCS(0) {
		t.Fatalf("%d signing slots, want one per core (%d)", cap(s.slots), runtime.GOMAXPROCS(0))
	}
	for range cap(s.slots) { // every slot busy
		s.slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.sign(ctx, 1, []byte("queued")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with every slot busy: %v, want the context's error", err)
	}
	if s.made.Load() != 0 {
		t.Fatal("signed without a slot")
	}
	done := make(chan error, 1)
	go func() {
		sig, err := s.sign(context.Background(), 1, []byte("queued"))
		if err == nil {
			err = signing.Verify(pub, []byte("queued"), sig)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("signed while every slot was busy: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	<-s.slots // one slot frees
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(s.slots) != cap(s.slots)-1 {
		t.Fatalf("%d slots busy after the signature, want %d", len(s.slots), cap(s.slots)-1)
	}
}

// TestDoorkeeper: a digest is seen again while its slot keeps it; a stream of distinct
// digests as long as the table, gone round in turn as a large fleet's heartbeats are,
// is almost never seen again, and a few digests recalled in turn always are.
func TestDoorkeeper(t *testing.T) {
	digest := func(i int) [32]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	k := newDoorkeeper(1000)
	if len(k.tags) != 1024 {
		t.Fatalf("table of %d, want 1024", len(k.tags))
	}
	for round := range 3 {
		again := 0
		for i := range 8 * len(k.tags) {
			if k.again(digest(i)) {
				again++
			}
		}
		if again > len(k.tags)/100 {
			t.Errorf("large fleet, round %d: %d of %d seen again", round, again, 8*len(k.tags))
		}
	}
	k = newDoorkeeper(1000)
	for round := range 3 {
		for i := range 10 {
			if got, want := k.again(digest(i)), round > 0; got != want {
				t.Errorf("small fleet, round %d, digest %d: again %v, want %v", round, i, got, want)
			}
		}
	}
}
