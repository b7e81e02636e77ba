package password

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Length limits of [Validate]: MinLen counts characters (Unicode code
// points), MaxLen bytes (it bounds the work of hashing).
const (
	MinLen = 8
	MaxLen = 1024
)

// Errors of [Validate]. Their messages are meant to be shown to users.
var (
	ErrTooShort    = errors.New("password must be at least 8 characters long")
	ErrTooLong     = errors.New("password must be at most 1024 bytes long")
	ErrInvalidUTF8 = errors.New("password must be valid UTF-8 text")
	ErrBlank       = errors.New("password must not consist only of spaces")
)

// Validate checks a new password: valid UTF-8, at least MinLen characters
// (Unicode code points, so "éééé" is four, not eight), at most MaxLen
// bytes, and not only white space. The password is checked as given,
// without any normalisation. The errors are [ErrTooShort], [ErrTooLong],
// [ErrInvalidUTF8] and [ErrBlank]. It says nothing about strength beyond
// length; a breached-password check belongs to the caller.
func Validate(password string) error {
	switch {
	case len(password) > MaxLen:
		return ErrTooLong
	case !utf8.ValidString(password):
		return ErrInvalidUTF8
	case utf8.RuneCountInString(password) < MinLen:
		return ErrTooShort
	}
	for _, r := range password {
		if !unicode.IsSpace(r) {
			return nil
		}
	}
	return ErrBlank
}
