package cfind

import (
	"errors"
)

// C-FIND statuses (PS3.4 C.4.1.1.4).
const (
	StatusPending            = 0xFF00
	StatusSuccess            = 0x0000
	StatusIdentifierMismatch = 0xA900 // identifier does not match the SOP class
	StatusUnableToProcess    = 0xC000
	StatusOutOfResources     = 0xA700
)

// Status is the failure status for a Decode error.
func Status(err error) uint16 {
	if errors.Is(err, ErrLevel) || errors.Is(err, ErrUnsupported) {
		return StatusIdentifierMismatch
	}
	return StatusUnableToProcess
}
