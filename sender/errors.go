package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"

	"wasp/schemas"
)

// ErrInvalid is matched (errors.Is) by every error of the local checks of
// a message (see ValidateBody): the message breaks one of Meta's content
// limits and was not sent.
var ErrInvalid = errors.New("invalid message")

// InvalidError is a message that breaks one of Meta's content limits.
type InvalidError struct {
	// Field is the JSON path of the field in the body, such as
	// "interactive.action.buttons[1].reply.title".
	Field string
	// Reason says what is wrong, such as "has 25 characters; the limit is 20".
	Reason string
}

func invalid(field, reason string) error { return &InvalidError{Field: field, Reason: reason} }

// Error returns "cannot send: <field> <reason>".
func (e *InvalidError) Error() string { return "cannot send: " + e.Field + " " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// NoCode is APIError.Code when the answer held no Meta error object (a
// proxy's HTML page, an empty body): Meta's own codes start at 0.
const NoCode = -1

// APIError is an error answer of the Graph API:
//
//	{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
//	  "error_data":{"messaging_product":"whatsapp","details":"…"},"error_subcode":2494055,
//	  "fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}
//
// Build decisions on Code and Details (see Class), not on the title in
// Message, the subcode or the HTTP status. Message and Details never hold
// the access token: the client removes it if Meta echoes it.
type APIError struct {
	// HTTPStatus is the status of the answer.
	HTTPStatus int
	// Code is Meta's error code, NoCode without an error object.
	Code int
	// Subcode is error_subcode (deprecated by Meta, still sent at times).
	Subcode int
	// Type is Meta's error type, such as "OAuthException".
	Type string
	// Message is "(#code) title".
	Message string
	// Details is error_data.details (or error_data itself when it is a
	// string, or error_user_msg): what went wrong, in words.
	Details string
	// FBTraceID identifies the request for Meta's support.
	FBTraceID string
	// IsTransient is Meta's is_transient flag.
	IsTransient bool
}

// Error describes the error without the token, as
// "graph error 130429 (HTTP 400, fbtrace_id …): (#130429) Rate limit hit: <details>".
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Code == NoCode {
		fmt.Fprintf(&b, "graph answered HTTP %d without an error object", e.HTTPStatus)
	} else {
		fmt.Fprintf(&b, "graph error %d (HTTP %d", e.Code, e.HTTPStatus)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, ", subcode %d", e.Subcode)
		}
		if e.FBTraceID != "" {
			fmt.Fprintf(&b, ", fbtrace_id %s", e.FBTraceID)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	return b.String()
}

// Class returns what to do with the message, from the error-code table in
// schemas. The HTTP status alone never decides, except for an answer
// without a Meta error object: a 5xx or 429 one is ClassRetry (a proxy or
// an overloaded front end), any other ClassFixFirst. A code the table does
// not know is ClassRetry when Meta flags it is_transient, else
// ClassFixFirst (see schemas.ClassOf).
func (e *APIError) Class() schemas.ErrorClass {
	if e.Code == NoCode {
		if e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests {
			return schemas.ClassRetry
		}
		return schemas.ClassFixFirst
	}
	if _, known := schemas.LookupError(e.Code); !known && e.IsTransient {
		return schemas.ClassRetry
	}
	return schemas.ClassOf(e.Code)
}

// Classify returns the retry class of an error of this package:
//
//   - an *APIError: its Class;
//   - an *InvalidError (ErrInvalid): ClassFixFirst, the payload needs a fix;
//   - a timeout or a connection error (refused, reset, closed before the
//     answer, no free connection, DNS failure): ClassRetry. A timeout is
//     the earlier of GraphConfig.Timeout and the context's deadline
//     passing while the request is in flight. After a timeout or a
//     connection lost mid-request the message may have been sent, and a
//     retry can duplicate it (Meta has no idempotency key; the status
//     webhooks echo biz_opaque_callback_data, which tells);
//   - the caller's context already canceled or past its deadline when the
//     call began (errors.Is context.Canceled or context.DeadlineExceeded):
//     "" (no class). Nothing was sent and the caller chose to stop: that
//     is no verdict on the message and not retryable by itself; the caller
//     knows why it stopped and decides (on shutdown: leave the command for
//     the next run);
//   - nil: "";
//   - anything else (a bad base URL or id, a TLS certificate error, a 2xx
//     answer that is not JSON): ClassFixFirst.
func Classify(err error) schemas.ErrorClass {
	if err == nil {
		return ""
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class()
	}
	if errors.Is(err, ErrInvalid) {
		return schemas.ClassFixFirst
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	if isConnError(err) {
		return schemas.ClassRetry
	}
	return schemas.ClassFixFirst
}

// isConnError reports whether err is a timeout or a failed connection.
func isConnError(err error) bool {
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	for _, target := range []error{
		fasthttp.ErrConnectionClosed, fasthttp.ErrNoFreeConns, fasthttp.ErrDialTimeout,
		fasthttp.ErrTLSHandshakeTimeout, io.EOF, io.ErrUnexpectedEOF,
		syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// parseAPIError reads an error answer. token is removed from every text
// Meta sent back.
func parseAPIError(status int, contentType string, data []byte, token string) *APIError {
	var env struct {
		Error *struct {
			Message      string          `json:"message"`
			Type         string          `json:"type"`
			Code         *int            `json:"code"`
			Subcode      int             `json:"error_subcode"`
			ErrorData    json.RawMessage `json:"error_data"`
			FBTraceID    string          `json:"fbtrace_id"`
			IsTransient  bool            `json:"is_transient"`
			UserTitle    string          `json:"error_user_title"`
			UserMessage  string          `json:"error_user_msg"`
			ErrorDetails string          `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &env) != nil || env.Error == nil || (env.Error.Code == nil && env.Error.Message == "") {
		if contentType == "" {
			contentType = "no content type"
		}
		return &APIError{HTTPStatus: status, Code: NoCode, Message: http.StatusText(status),
			Details: fmt.Sprintf("the answer is not a Graph error (%s, %d bytes)", contentType, len(data))}
	}
	e := env.Error
	ae := &APIError{HTTPStatus: status, Code: NoCode, Subcode: e.Subcode, Type: e.Type,
		Message: e.Message, FBTraceID: e.FBTraceID, IsTransient: e.IsTransient}
	if e.Code != nil {
		ae.Code = *e.Code
	}
	var details string
	if json.Unmarshal(e.ErrorData, &details) != nil {
		var obj struct {
			Details string `json:"details"`
		}
		json.Unmarshal(e.ErrorData, &obj)
		details = obj.Details
	}
	for _, d := range []string{e.ErrorDetails, e.UserMessage, e.UserTitle} {
		if details == "" {
			details = d
		}
	}
	ae.Details = details
	if token != "" {
		ae.Message = strings.ReplaceAll(ae.Message, token, "[token]")
		ae.Details = strings.ReplaceAll(ae.Details, token, "[token]")
	}
	return ae
}
