package stream

import "errors"

var (
	// ErrClosed is returned by a Log or Consumer used after Close.
	ErrClosed = errors.New("stream: closed")
	// ErrFull is returned by Append when the log cannot take more data: the
	// disk is full or read-only. Retrying later may succeed.
	ErrFull = errors.New("stream: log full or not writable")
	// ErrNoGroup is returned by Commit on a consumer without a group.
	ErrNoGroup = errors.New("stream: a consumer without a group cannot commit")
)
