package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"wasp/schemas"
	"wasp/sender"
)

// Exit codes of `wasp admin`.
const (
	adminExitGraph = 1 // the Graph API answered an error, or could not be reached
	adminExitUsage = 2 // bad usage or input, found before any request
	adminExitAuth  = 3 // the access token was refused (190, 0 or HTTP 401)
)

const adminUsageHead = `wasp admin — the Graph API's management calls, from the terminal

Usage:
  wasp admin GROUP COMMAND [flags]
  wasp admin GROUP -h            the commands of a group
  wasp admin GROUP COMMAND -h    the flags of a command

Commands:
`

const adminUsageTail = `
Flags of every command:
  --config FILE          YAML configuration, as for wasp run; WASP_GRAPH_URL,
                         WASP_GRAPH_VERSION, WASP_ACCESS_TOKEN,
                         WASP_PHONE_NUMBER_ID and WASP_WABA_ID override it
  --tenant NAME          the tenant whose token and ids are used (needed when
                         the configuration has several and no id tells)
  --phone-number-id ID   the number (phone, profile, media upload); default:
                         the tenant's only number. With media get, download
                         and delete: only if the media is this number's
  --waba-id ID           the WhatsApp Business Account (phone list, webhook,
                         templates); default: the tenant's
  --json                 print one JSON document instead of a table

The token is never printed. Input is checked against Meta's limits before
any request; Meta's errors are printed with their code and the fix.

Exit codes:
  0  done
  1  the Graph API answered an error, or could not be reached
  2  bad usage or input: nothing was sent
  3  the access token was refused (error 190 or HTTP 401): set WASP_ACCESS_TOKEN
`

// adminScope is what a command acts on, so which ids it needs.
type adminScope int

const (
	scopePhone adminScope = iota // a phone number: --phone-number-id or the tenant's
	scopeWABA                    // a WABA: --waba-id or the tenant's
	scopeMedia                   // a media id; the number only when --phone-number-id is given
)

// adminCommand is one `wasp admin GROUP NAME`.
type adminCommand struct {
	group, name string
	// flags is the synopsis of the command's own flags.
	flags   string
	summary string
	scope   adminScope
	// setup declares the command's flags on fs and returns the action.
	setup func(fs *flag.FlagSet) adminAction
}

// adminAction is a command once its flags are declared.
type adminAction struct {
	// check validates the flags before anything is read or sent; nil when
	// there is nothing to check.
	check func() error
	// run makes the calls. It may still refuse its input (a *usageError)
	// before the first request.
	run func(ctx context.Context, t *adminTarget) (tabular, error)
}

var adminCommands = []adminCommand{
	{"phone", "list", "", "the WABA's numbers: name, quality, limits, status", scopeWABA, phoneList},
	{"phone", "request-code", "[--method SMS|VOICE] [--language en_US]", "have Meta send the number its verification code", scopePhone, phoneRequestCode},
	{"phone", "verify-code", "--code 123456", "verify the number with the code Meta sent", scopePhone,
		phoneSixDigits("code", "the 6-digit code Meta sent", (*sender.GraphClient).VerifyCode, "phone number %s verified")},
	{"phone", "register", "--pin 123456 [--region DE]", "register the number for the Cloud API (10 attempts per 72 h)", scopePhone, phoneRegister},
	{"phone", "deregister", "", "deregister the number (counts towards the 10 per 72 h)", scopePhone, phoneDeregister},
	{"phone", "set-pin", "--pin 123456", "set the two-step verification PIN", scopePhone,
		phoneSixDigits("pin", "the new two-step verification PIN, 6 digits", (*sender.GraphClient).SetPIN, "two-step verification PIN set for %s")},
	{"profile", "get", "", "the number's business profile", scopePhone, profileGet},
	{"profile", "set", "[--about T] [--address T] [--description T] [--email E] [--website URL]... [--vertical V]", "change the given fields of the business profile", scopePhone, profileSet},
	{"webhook", "subscribe", "[--callback-url URL [--verify-token T]]", "subscribe the app to the WABA's webhooks, optionally to another URL", scopeWABA, webhookSubscribe},
	{"webhook", "unsubscribe", "", "unsubscribe the app from the WABA's webhooks", scopeWABA, webhookUnsubscribe},
	{"webhook", "status", "", "the apps subscribed to the WABA's webhooks and their callback override", scopeWABA, webhookStatus},
	{"templates", "list", "[--status S] [--name N] [--limit 100]", "the WABA's message templates", scopeWABA, templatesList},
	{"templates", "create", "--file F.json|F.yaml", "submit a template for review", scopeWABA, templatesCreate},
	{"templates", "delete", "--name N [--id HSM_ID]", "delete a template in every language, or only the one with --id", scopeWABA, templatesDelete},
	{"media", "upload", "--file PATH [--type MIME]", "upload a file for the number; prints its media id", scopePhone, mediaUpload},
	{"media", "get", "--id ID", "a media object: type, size, sha256, download URL", scopeMedia, mediaGet},
	{"media", "download", "--id ID --out PATH", "download a media object to a file", scopeMedia, mediaDownload},
	{"media", "delete", "--id ID", "delete an uploaded media object", scopeMedia, mediaDelete},
}

// runAdmin is `wasp admin`: the Graph API's management calls (phone
// numbers, business profile, webhook subscription, templates, media) for
// the configured tenant. It returns the exit code (see adminUsageTail).
func runAdmin(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeAdminUsage(stderr, "")
		return adminExitUsage
	}
	if isHelpFlag(args[0]) {
		writeAdminUsage(stdout, "")
		return 0
	}
	group := args[0]
	if !slices.ContainsFunc(adminCommands, func(c adminCommand) bool { return c.group == group }) {
		fmt.Fprintf(stderr, "wasp admin: unknown group %q\n\n", group)
		writeAdminUsage(stderr, "")
		return adminExitUsage
	}
	if len(args) == 1 || isHelpFlag(args[1]) {
		w, code := stdout, 0
		if len(args) == 1 {
			w, code = stderr, adminExitUsage
		}
		writeAdminUsage(w, group)
		return code
	}
	i := slices.IndexFunc(adminCommands, func(c adminCommand) bool { return c.group == group && c.name == args[1] })
	if i < 0 {
		fmt.Fprintf(stderr, "wasp admin %s: unknown command %q\n\n", group, args[1])
		writeAdminUsage(stderr, group)
		return adminExitUsage
	}
	return adminCommands[i].run(args[2:], getenv, stdout, stderr)
}

// run parses the command's flags, checks them, resolves the target and
// runs the action.
func (c adminCommand) run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	name := "wasp admin " + c.group + " " + c.name
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	common := declareAdminFlags(fs, c.scope)
	action := c.setup(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: %s %s\n\n%s.\n\nFlags:\n", name, c.flags, c.summary)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "(%s -h lists the flags)\n", name)
		return adminExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (flags take the form --name value)\n", name, fs.Arg(0))
		return adminExitUsage
	}
	var err error
	if action.check != nil {
		err = action.check()
	}
	var t *adminTarget
	if err == nil {
		t, err = common.target(c.scope, getenv)
	}
	var result tabular
	if err == nil {
		result, err = action.run(context.Background(), t)
	}
	if err == nil {
		err = writeResult(stdout, result, common.json)
	}
	if err != nil {
		return reportAdminError(stderr, name, err)
	}
	return 0
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "--help" || s == "-help" || s == "help"
}

// writeAdminUsage writes the usage of every command, or of group's.
func writeAdminUsage(w io.Writer, group string) {
	if group == "" {
		io.WriteString(w, adminUsageHead)
	} else {
		fmt.Fprintf(w, "Usage: wasp admin %s COMMAND [flags]   (wasp admin -h for the common flags and exit codes)\n\nCommands:\n", group)
	}
	for _, c := range adminCommands {
		if group == "" || c.group == group {
			fmt.Fprintf(w, "  %s %s\n        %s\n", c.group, strings.TrimSpace(c.name+" "+c.flags), c.summary)
		}
	}
	if group == "" {
		io.WriteString(w, adminUsageTail)
	}
}

// usageError is bad usage or input, found before any request.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// reportAdminError prints err, and for a Graph API error the fix from
// the error-code table, and returns the exit code.
func reportAdminError(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return adminExitUsage
	}
	var ae *sender.APIError
	if !errors.As(err, &ae) {
		return adminExitGraph
	}
	auth := ae.Code == 0 || ae.Code == 190 || ae.HTTPStatus == http.StatusUnauthorized
	fix := ""
	if info, ok := schemas.LookupError(ae.Code); ok {
		fix = info.Action
	} else if auth {
		fix = "the token was refused: set a valid WASP_ACCESS_TOKEN"
	}
	if fix != "" {
		fmt.Fprintf(stderr, "fix: %s\n", fix)
	}
	if auth {
		return adminExitAuth
	}
	return adminExitGraph
}

// adminFlags are the flags every command takes.
type adminFlags struct {
	config, tenant, phoneID, wabaID string
	json                            bool
}

func declareAdminFlags(fs *flag.FlagSet, scope adminScope) *adminFlags {
	f := &adminFlags{}
	fs.StringVar(&f.config, "config", "", "YAML configuration file")
	fs.StringVar(&f.tenant, "tenant", "", "the tenant whose token and ids are used")
	fs.BoolVar(&f.json, "json", false, "print one JSON document instead of a table")
	switch scope {
	case scopePhone:
		fs.StringVar(&f.phoneID, "phone-number-id", "", "the phone number id (default: the tenant's only number)")
	case scopeWABA:
		fs.StringVar(&f.wabaID, "waba-id", "", "the WhatsApp Business Account id (default: the tenant's)")
	case scopeMedia:
		fs.StringVar(&f.phoneID, "phone-number-id", "", "only if the media belongs to this phone number id")
	}
	return f
}

// adminTarget is what a command calls the Graph API with.
type adminTarget struct {
	graph   *sender.GraphClient
	token   string
	phoneID string
	wabaID  string
	// verifyToken is the configuration's (WASP_VERIFY_TOKEN), the default
	// of webhook subscribe --verify-token.
	verifyToken string
}

// adminTimeout bounds each call: long enough for a 100 MB upload.
const adminTimeout = 5 * time.Minute

// target resolves the token and the ids from the flags and the
// configuration.
func (f *adminFlags) target(scope adminScope, getenv func(string) string) (*adminTarget, error) {
	cfg, err := loadConfig(f.config, getenv)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	if u, err := url.Parse(cfg.Graph.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badInput("WASP_GRAPH_URL=%q is not an http(s) URL", cfg.Graph.URL)
	}
	tn, err := f.pickTenant(cfg.Tenants)
	if err != nil {
		return nil, err
	}
	if tn.AccessToken == "" {
		return nil, badInput("no access token: set WASP_ACCESS_TOKEN (or tenants[].access_token in the config file)")
	}
	t := &adminTarget{token: tn.AccessToken, phoneID: f.phoneID, wabaID: f.wabaID, verifyToken: cfg.VerifyToken}
	switch scope {
	case scopePhone:
		switch {
		case t.phoneID != "":
		case len(tn.PhoneNumberIDs) == 0:
			return nil, badInput("pass --phone-number-id or set WASP_PHONE_NUMBER_ID: tenant %q has no phone_number_ids", tn.ID)
		case len(tn.PhoneNumberIDs) > 1:
			return nil, badInput("pass --phone-number-id: tenant %q has %d phone numbers (%s)",
				tn.ID, len(tn.PhoneNumberIDs), strings.Join(tn.PhoneNumberIDs, ", "))
		default:
			t.phoneID = tn.PhoneNumberIDs[0]
		}
		err = checkGraphID("phone-number-id", t.phoneID)
	case scopeWABA:
		if t.wabaID == "" {
			t.wabaID = tn.WABAID
		}
		if t.wabaID == "" {
			return nil, badInput("pass --waba-id or set WASP_WABA_ID: tenant %q has no waba_id", tn.ID)
		}
		err = checkGraphID("waba-id", t.wabaID)
	case scopeMedia:
		if t.phoneID != "" {
			err = checkGraphID("phone-number-id", t.phoneID)
		}
	}
	if err != nil {
		return nil, err
	}
	t.graph = sender.NewGraph(sender.GraphConfig{BaseURL: cfg.Graph.URL, Version: cfg.Graph.Version, Timeout: adminTimeout})
	return t, nil
}

// pickTenant returns the tenant --tenant names, else the only one, else
// the one holding --phone-number-id or --waba-id; the zero tenant when
// none is configured.
func (f *adminFlags) pickTenant(ts []TenantConfig) (TenantConfig, error) {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
		if f.tenant != "" && t.ID == f.tenant {
			return t, nil
		}
	}
	switch {
	case f.tenant != "":
		return TenantConfig{}, badInput("--tenant %q is not in the configuration (tenants: %s)", f.tenant, strings.Join(ids, ", "))
	case len(ts) == 0:
		return TenantConfig{}, nil
	case len(ts) == 1:
		return ts[0], nil
	}
	for _, t := range ts {
		if f.phoneID != "" && slices.Contains(t.PhoneNumberIDs, f.phoneID) || f.wabaID != "" && t.WABAID == f.wabaID {
			return t, nil
		}
	}
	return TenantConfig{}, badInput("pass --tenant NAME: the configuration has %d tenants (%s)", len(ts), strings.Join(ids, ", "))
}

var graphIDRE = regexp.MustCompile(`^[0-9]{1,32}$`)

// checkGraphID checks the value of an id flag: Graph ids are numbers.
func checkGraphID(flagName, id string) error {
	if !graphIDRE.MatchString(id) {
		return badInput("--%s must be a numeric Graph id (got %q)", flagName, id)
	}
	return nil
}

// checkSixDigits checks a PIN or a verification code without echoing it.
func checkSixDigits(flagName, v string) error {
	if n := utf8.RuneCountInString(v); n != 6 {
		return badInput("--%s must be 6 digits (got %d)", flagName, n)
	}
	if strings.Trim(v, "0123456789") != "" {
		return badInput("--%s must be 6 digits (got a character that is not a digit)", flagName)
	}
	return nil
}

// nonNil makes a list print as [] in JSON when Meta gave none.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
