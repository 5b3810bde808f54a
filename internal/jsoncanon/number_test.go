package jsoncanon

import (
	"errors"
	"math"
	"testing"
)

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1, "-1"},
		{1.5, "1.5"},
		{-1.5, "-1.5"},
		{0.1, "0.1"},
		{0.30000000000000004, "0.30000000000000004"}, // 0.1+0.2 at run time
		{100, "100"},
		{123.456, "123.456"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{-1e21, "-1e+21"},
		{1.5e21, "1.5e+21"},
		{123456789012345680000, "123456789012345680000"},
		{999999999999999900000, "999999999999999900000"},
		{1e-6, "0.000001"},
		{1.5e-6, "0.0000015"},
		{1e-7, "1e-7"},
		{-1e-7, "-1e-7"},
		{1.2345e-7, "1.2345e-7"},
		{5e-324, "5e-324"},
		{-5e-324, "-5e-324"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{1 << 53, "9007199254740992"},
		{1<<53 - 1, "9007199254740991"},
		{1<<53 + 2, "9007199254740994"},
		{1e15, "1000000000000000"},
		{1e16, "10000000000000000"},
		{4294967295, "4294967295"},
		{0.000001234, "0.000001234"},
		{12345678.9, "12345678.9"},
	}
	for _, tt := range tests {
		got, err := FormatNumber(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		// Marshal of a float64 is the same text.
		b, err := Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%v) = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
}

func TestFormatNumberRejectsNonFinite(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if s, err := FormatNumber(f); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("FormatNumber(%v) = %q, %v; want ErrUnsupportedValue", f, s, err)
		}
		if b, err := Marshal(f); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("Marshal(%v) = %q, %v; want ErrUnsupportedValue", f, b, err)
		}
	}
}

func TestMarshalFloat32(t *testing.T) {
	// A float32 prints its own shortest digits; JavaScript re-reads them as a float64 and
	// prints the same digits.
	tests := []struct {
		in   float32
		want string
	}{
		{0.1, "0.1"},
		{float32(math.Copysign(0, -1)), "0"},
		{1.5, "1.5"},
		{123456789, "123456790"},
		{16777216, "16777216"},
		{1e-7, "1e-7"},
		{3.4028235e38, "3.4028235e+38"},
		{1e-45, "1e-45"},
		{1e21, "1e+21"},
	}
	for _, tt := range tests {
		b, err := Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(float32(%v)) = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
	if _, err := Marshal(float32(math.Inf(1))); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("Marshal(float32(+Inf)) error = %v; want ErrUnsupportedValue", err)
	}
}

func TestMarshalIntegers(t *testing.T) {
	type myInt int16
	tests := []struct {
		in      any
		want    string
		wantErr bool
	}{
		{0, "0", false},
		{-42, "-42", false},
		{int8(-128), "-128", false},
		{myInt(7), "7", false},
		{uint8(255), "255", false},
		{uintptr(9), "9", false},
		{int64(1<<53 - 1), "9007199254740991", false},
		{int64(-(1<<53 - 1)), "-9007199254740991", false},
		{int64(1 << 53), "", true},
		{int64(-(1 << 53)), "", true},
		{uint64(1<<53 - 1), "9007199254740991", false},
		{uint64(1 << 53), "", true},
		{uint64(math.MaxUint64), "", true},
		{int64(math.MinInt64), "", true},
	}
	for _, tt := range tests {
		b, err := Marshal(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrUnsupportedValue) {
				t.Errorf("Marshal(%T(%v)) = %q, %v; want ErrUnsupportedValue", tt.in, tt.in, b, err)
			}
			continue
		}
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%T(%v)) = %q, %v; want %q", tt.in, tt.in, b, err, tt.want)
		}
	}
}
