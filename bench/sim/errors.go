package sim

import (
	"math/rand/v2"
	"strconv"

	"github.com/valyala/fasthttp"
)

// codeInfo is one row of Meta's error table: the title that goes into
// "message" as "(#code) title", the default error_data.details, and the
// HTTP status of the older table (400 where it gives none).
type codeInfo struct {
	title   string
	details string
	status  int
}

// codes is the part of Meta's error table the simulator answers with
// (WHATSAPP-CLOUD-API.md §5.2). A code not listed, scripted by a test,
// gets a generic title and status 400.
var codes = map[int]codeInfo{
	0:       {"AuthException", "We were unable to authenticate the app user.", 401},
	1:       {"API Unknown", "Invalid request or possible server error.", 400},
	2:       {"API Service", "Temporary due to downtime or due to being overloaded.", 503},
	3:       {"API Method", "Capability or permissions issue.", 500},
	4:       {"API Too Many Calls", "The app has reached its API call rate limit.", 400},
	10:      {"Permission Denied", "Permission is either not granted or has been removed.", 403},
	33:      {"Parameter value is not valid", "The business phone number has been deleted.", 400},
	100:     {"Invalid parameter", "The request included one or more unsupported or misspelled parameters.", 400},
	190:     {"Access token has expired", "Your access token has expired.", 401},
	368:     {"Temporarily blocked for policies violations", "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.", 403},
	80007:   {"Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400},
	130429:  {"Rate limit hit", "Cloud API message throughput has been reached.", 400},
	130472:  {"User's number is part of an experiment", "Failed to send message because this user's phone number is part of an experiment.", 400},
	131000:  {"Something went wrong", "Message failed to send due to an unknown error.", 500},
	131005:  {"Access denied", "Permission is either not granted or has been removed.", 403},
	131008:  {"Required parameter is missing", "The request is missing a required parameter.", 400},
	131009:  {"Parameter value is not valid", "One or more parameter values are invalid.", 400},
	131016:  {"Service unavailable", "A service is temporarily unavailable.", 500},
	131021:  {"Recipient cannot be sender", "Sender and recipient phone number is the same.", 400},
	131026:  {"Message Undeliverable", "Unable to deliver message.", 400},
	131031:  {"Account has been locked", "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.", 403},
	131042:  {"Business eligibility payment issue", "Message failed to send because there were one or more errors related to your payment method.", 400},
	131045:  {"Incorrect certificate", "Message failed to send due to a phone number registration error.", 500},
	131047:  {"Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number.", 400},
	131048:  {"Spam rate limit hit", "Message failed to send because there are restrictions on how many messages can be sent from this phone number.", 400},
	131049:  {"This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.", 400},
	131050:  {"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "The user has stopped marketing messages from this business.", 400},
	131051:  {"Unsupported message type", "Message type is not currently supported.", 400},
	131052:  {"Media download error", "Unable to download the media sent by the user.", 400},
	131053:  {"Media upload error", "Unable to upload the media used in the message.", 400},
	131056:  {"(Business Account, Consumer Account) pair rate limit hit", "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.", 400},
	131057:  {"Account in maintenance mode", "Business Account is in maintenance mode.", 500},
	132000:  {"Template Param Count Mismatch", "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template.", 400},
	132001:  {"Template does not exist", "The template does not exist in the specified language or the template has not been approved.", 404},
	132005:  {"Template Hydrated Text Too Long", "Translated text is too long.", 400},
	132007:  {"Template Format Character Policy Violated", "Template content violates a WhatsApp policy.", 400},
	132012:  {"Template Parameter Format Mismatch", "Variable parameter values formatted incorrectly.", 400},
	132015:  {"Template is Paused", "Template is paused due to low quality so it cannot be sent in a template message.", 400},
	132016:  {"Template is Disabled", "Template has been paused too many times due to low quality and is now permanently disabled.", 400},
	133000:  {"Incomplete Deregistration", "A previous deregistration attempt failed.", 500},
	133004:  {"Server Temporarily Unavailable", "Server is temporarily unavailable.", 503},
	133005:  {"Two step verification PIN Mismatch", "Two-step verification PIN incorrect.", 400},
	133006:  {"Phone number re-verification needed", "Phone number needs to be verified before registering.", 400},
	133008:  {"Too Many two step verification PIN Guesses", "Too many incorrect two-step verification PIN guesses for this phone number.", 400},
	133009:  {"Two step verification PIN Guessed Too Fast", "Two-step verification PIN was entered too quickly.", 400},
	133010:  {"Phone number Not Registered", "Phone number not registered on the WhatsApp Business Platform.", 400},
	133015:  {"Please wait a few minutes before attempting to register this phone number", "The phone number you are attempting to register was recently deleted, and deletion has not yet completed.", 400},
	133016:  {"Account register deregister rate limit exceeded", "Registration or Deregistration failed because there were too many attempts for this phone number in a short period of time.", 400},
	135000:  {"Generic user error", "Message failed to send because of an unknown error with your request parameters.", 400},
	136024:  {"Request code error", "The verification code could not be requested.", 400},
	136025:  {"Verify code error", "The verification code could not be verified.", 400},
	2388019: {"Message Template Limit Exceeded", "The WhatsApp Business Account has reached its limit of 250 message templates.", 400},
}

// subcodes Meta still sends with some codes, as in its published examples.
var subcodes = map[int]int{130429: 2494055}

// info returns the table row of code, or a generic one.
func info(code int) codeInfo {
	if c, ok := codes[code]; ok {
		return c
	}
	return codeInfo{"Something went wrong", "", 400}
}

// apiError is one error answer of the Graph API.
type apiError struct {
	code    int
	details string // error_data.details; "" means the table's
	// Graph-level errors (bad token, unknown object, unknown path) carry
	// their own message and type and no error_data.
	message string
	typ     string
	subcode int
	status  int
}

// newError returns a WhatsApp error with code and details ("" for the
// table's), shaped {"error":{"message":"(#code) title","type":"OAuthException",
// "code":…,"error_data":{"messaging_product":"whatsapp","details":…},"fbtrace_id":…}}.
func newError(code int, details string) *apiError {
	return &apiError{code: code, details: details}
}

// errTokenInvalid is Graph's answer to a missing or unknown access token.
func errTokenInvalid() *apiError {
	return &apiError{code: 190, message: "Invalid OAuth access token - Cannot parse access token", status: 401}
}

// errUnknownObject is Graph's answer for an id that does not exist (or an
// operation the object does not support): code 100, subcode 33.
func errUnknownObject(method []byte, id string) *apiError {
	m := "get"
	switch string(method) {
	case fasthttp.MethodPost:
		m = "post"
	case fasthttp.MethodDelete:
		m = "delete"
	}
	return &apiError{
		code: 100, subcode: 33, typ: "GraphMethodException", status: 400,
		message: "Unsupported " + m + " request. Object with ID '" + id + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
	}
}

// errUnknownPath is Graph's answer for a path it does not route.
func errUnknownPath(path string) *apiError {
	return &apiError{code: 2500, message: "Unknown path components: " + path, status: 400}
}

// httpStatus is the status the error is answered with.
func (e *apiError) httpStatus() int {
	if e.status != 0 {
		return e.status
	}
	return info(e.code).status
}

// appendBody appends the error's JSON body.
func (e *apiError) appendBody(b []byte) []byte {
	typ := e.typ
	if typ == "" {
		typ = "OAuthException"
	}
	b = append(b, `{"error":{"message":`...)
	if e.message != "" {
		b = appendString(b, e.message)
	} else {
		b = appendString(b, "(#"+strconv.Itoa(e.code)+") "+info(e.code).title)
	}
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(e.code), 10)
	if e.message == "" {
		details := e.details
		if details == "" {
			details = info(e.code).details
		}
		b = append(b, `,"error_data":{"messaging_product":"whatsapp","details":`...)
		b = appendString(b, details)
		b = append(b, '}')
	}
	sub := e.subcode
	if sub == 0 {
		sub = subcodes[e.code]
	}
	if sub != 0 {
		b = append(b, `,"error_subcode":`...)
		b = strconv.AppendInt(b, int64(sub), 10)
	}
	b = append(b, `,"fbtrace_id":"`...)
	b = appendTrace(b)
	return append(b, `"}}`...)
}

// write answers ctx with the error. Like Graph, it repeats the error in a
// WWW-Authenticate header.
func (e *apiError) write(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(e.httpStatus())
	kind, msg := "invalid_request", e.message
	if e.code == 190 {
		kind = "invalid_token"
	}
	if msg == "" {
		msg = "(#" + strconv.Itoa(e.code) + ") " + info(e.code).title
	}
	ctx.Response.Header.Set("WWW-Authenticate", `OAuth "Facebook Platform" "`+kind+`" "`+headerSafe(msg)+`"`)
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.Response.SetBodyRaw(e.appendBody(make([]byte, 0, 320)))
}

// appendWebhookError appends the error object of a failed status webhook:
// {code, title, message, error_data{details}, href}.
func appendWebhookError(b []byte, code int) []byte {
	c := info(code)
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = appendField(b, false, "title", c.title)
	b = appendField(b, false, "message", c.title)
	b = append(b, `,"error_data":{"details":`...)
	b = appendString(b, c.details)
	b = append(b, `},"href":"/documentation/business-messaging/whatsapp/support/error-codes"}`...)
	return b
}

// headerSafe drops what may not go into a quoted header value (the message
// may echo an id taken from the path).
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if c := s[j]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
					b = append(b, c)
				}
			}
			return string(b)
		}
	}
	return s
}

const traceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// appendTrace appends a fresh fbtrace_id, 23 characters like Meta's.
func appendTrace(b []byte) []byte {
	var r uint64
	for i := range 23 {
		if i%10 == 0 {
			r = rand.Uint64()
		}
		b = append(b, traceAlphabet[r&63])
		r >>= 6
	}
	return b
}
