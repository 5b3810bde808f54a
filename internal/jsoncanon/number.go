package jsoncanon

import (
	"fmt"
	"math"
	"strconv"
)

// maxSafeInteger is Number.MAX_SAFE_INTEGER (2^53-1): the largest integer a JavaScript client
// reads back exactly. Larger integers are refused rather than silently rounded by Node.
const maxSafeInteger = 1<<53 - 1

// FormatNumber returns JavaScript's Number.prototype.toString / String(v) for finite v
// ("1", "1.5", "1e+21", "1e-7", "0" for -0). NaN and ±Inf have no JSON form and are an error.
func FormatNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%w: %v", ErrUnsupportedValue, f)
	}
	var buf [32]byte
	return string(appendFloat(buf[:0], f, 64)), nil
}

// appendFloat appends the JavaScript form of the finite value f. bits is 32 or 64: a float32
// is printed with its own shortest digits (what encoding/json does), which Node re-reads as a
// float64 and prints with the same digits (≤9 significant digits survive the round trip).
func appendFloat(dst []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(dst, '0') // also -0: JS prints "0"
	}
	// float64 integers below 2^53 print as themselves: their shortest round-trip digits are
	// exact. (Not so for float32: float32(123456789) prints as 123456790, its shortest form.)
	if bits == 64 && f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, bits) // "-d.ddde±xx", shortest round trip
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	// Split mantissa digits and exponent.
	var digits [24]byte
	k := 0
	i := 0
	for ; i < len(s) && s[i] != 'e'; i++ {
		if s[i] != '.' {
			digits[k] = s[i]
			k++
		}
	}
	exp := 0
	neg := s[i+1] == '-'
	for j := i + 2; j < len(s); j++ {
		exp = exp*10 + int(s[j]-'0')
	}
	if neg {
		exp = -exp
	}
	return appendJSLayout(dst, digits[:k], exp+1)
}

// appendJSLayout lays out value 0.d1d2…dk × 10^n the way Number::toString does (ECMA-262
// 6.1.6.1.20): plain decimal for 1e-7 < |v| < 1e21, otherwise exponent form with explicit sign.
func appendJSLayout(dst, d []byte, n int) []byte {
	k := len(d)
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for ; k < n; k++ {
			dst = append(dst, '0')
		}
		return dst
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		return append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for ; n < 0; n++ {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	dst = append(dst, d[0])
	if k > 1 {
		dst = append(dst, '.')
		dst = append(dst, d[1:]...)
	}
	dst = append(dst, 'e')
	e := n - 1
	if e < 0 {
		dst = append(dst, '-')
		e = -e
	} else {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(e), 10)
}

// appendInt appends an integer, refusing values a JavaScript client would round.
func appendInt(dst []byte, v int64) ([]byte, error) {
	if v > maxSafeInteger || v < -maxSafeInteger {
		return dst, fmt.Errorf("%w: integer %d exceeds 2^53-1 (JavaScript would round it)", ErrUnsupportedValue, v)
	}
	return strconv.AppendInt(dst, v, 10), nil
}

func appendUint(dst []byte, v uint64) ([]byte, error) {
	if v > maxSafeInteger {
		return dst, fmt.Errorf("%w: integer %d exceeds 2^53-1 (JavaScript would round it)", ErrUnsupportedValue, v)
	}
	return strconv.AppendUint(dst, v, 10), nil
}

func appendFloatChecked(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("%w: %v", ErrUnsupportedValue, f)
	}
	return appendFloat(dst, f, bits), nil
}
