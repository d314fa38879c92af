package hook

import (
	"errors"
	"fmt"
)

// Error codes. The API maps each to an HTTP status at its edge.
const (
	EInvalid  = "invalid"   // the input breaks a rule (422)
	ENotFound = "not_found" // no such object (404)
	EConflict = "conflict"  // the input collides with the state (409)
	EInternal = "internal"  // a failure that is not the caller's (500)
)

// Error is a domain error: a code, a human message, and, where one field of
// the input is at fault, its name (e.g. "url", "event_types[2]").
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf returns an *Error with the given code and field.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports that the named kind of object with the given id does not exist.
func NotFound(kind, id string) *Error {
	return &Error{Code: ENotFound, Message: fmt.Sprintf("%s %q not found", kind, id)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
