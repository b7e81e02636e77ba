package password

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Length limits of [Validate], in bytes.
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

// Validate checks a new password: MinLen to MaxLen bytes, valid UTF-8 and
// not only white space. The password is checked as given, without any
// normalisation, and lengths are counted in bytes: a password of fewer than
// eight multi-byte characters can pass. The errors are [ErrTooShort], [ErrTooLong],
// [ErrInvalidUTF8] and [ErrBlank]. It says nothing about strength beyond
// length; a breached-password check belongs to the caller.
func Validate(password string) error {
	switch {
	case len(password) < MinLen:
		return ErrTooShort
	case len(password) > MaxLen:
		return ErrTooLong
	case !utf8.ValidString(password):
		return ErrInvalidUTF8
	}
	for _, r := range password {
		if !unicode.IsSpace(r) {
			return nil
		}
	}
	return ErrBlank
}
