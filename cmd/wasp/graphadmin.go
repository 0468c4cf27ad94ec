package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

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

var localeRE = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)

func phoneList(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		ns, err := t.graph.PhoneNumbers(ctx, t.token, t.wabaID, "")
		return phoneTable(nonNil(ns)), err
	}}
}

func phoneRequestCode(fs *flag.FlagSet) adminAction {
	method := fs.String("method", "SMS", "how Meta sends the code: SMS or VOICE")
	language := fs.String("language", "en_US", "the language of the message or call, a locale such as es_ES")
	return adminAction{
		check: func() error {
			*method = strings.ToUpper(*method)
			if *method != "SMS" && *method != "VOICE" {
				return badInput("--method must be SMS or VOICE (got %q)", *method)
			}
			if !localeRE.MatchString(*language) {
				return badInput("--language must be a locale such as en_US or es_ES (got %q)", *language)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.RequestCode(ctx, t.token, t.phoneID, *method, *language)
			return done(fmt.Sprintf("verification code requested for %s by %s in %s", t.phoneID, *method, *language)), err
		},
	}
}

// phoneSixDigits is a phone command whose one flag is 6 digits (a code,
// a PIN) passed to call, a GraphClient method; did says what was done to
// the number (%s).
func phoneSixDigits(name, usage string, call func(*sender.GraphClient, context.Context, string, string, string) error,
	did string) func(*flag.FlagSet) adminAction {
	return func(fs *flag.FlagSet) adminAction {
		v := fs.String(name, "", usage)
		return adminAction{
			check: func() error { return checkSixDigits(name, *v) },
			run: func(ctx context.Context, t *adminTarget) (tabular, error) {
				err := call(t.graph, ctx, t.token, t.phoneID, *v)
				return done(fmt.Sprintf(did, t.phoneID)), err
			},
		}
	}
}

var regionRE = regexp.MustCompile(`^[A-Z]{2}$`)

func phoneRegister(fs *flag.FlagSet) adminAction {
	pin := fs.String("pin", "", "the two-step verification PIN, 6 digits: the current one, or the one to set")
	region := fs.String("region", "", "keep the data at rest in this country (Local Storage), ISO code such as DE")
	return adminAction{
		check: func() error {
			*region = strings.ToUpper(*region)
			if *region != "" && !regionRE.MatchString(*region) {
				return badInput("--region must be a two-letter country code such as DE (got %q)", *region)
			}
			return checkSixDigits("pin", *pin)
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.Register(ctx, t.token, t.phoneID, *pin, *region)
			msg := "phone number " + t.phoneID + " registered"
			if *region != "" {
				msg += ", its data stored in " + *region
			}
			return done(msg), err
		},
	}
}

func phoneDeregister(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		err := t.graph.Deregister(ctx, t.token, t.phoneID)
		return done("phone number " + t.phoneID + " deregistered"), err
	}}
}

func profileGet(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		p, err := t.graph.BusinessProfile(ctx, t.token, t.phoneID)
		if err != nil {
			return nil, err
		}
		return (*profileView)(p), nil
	}}
}

// verticals are the industries of a business profile
// (WHATSAPP-CLOUD-API.md §6.3).
var verticals = []string{
	"UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GROCERY",
	"GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT", "NOT_A_BIZ",
}

// profileLimits are the most characters of each text field of a
// business profile (WHATSAPP-CLOUD-API.md §6.3).
var profileLimits = []struct {
	flag  string
	limit int
}{{"about", 139}, {"address", 256}, {"description", 512}, {"email", 128}}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func profileSet(fs *flag.FlagSet) adminAction {
	var p sender.BusinessProfile
	texts := map[string]*string{"about": &p.About, "address": &p.Address, "description": &p.Description, "email": &p.Email}
	for _, l := range profileLimits {
		fs.StringVar(texts[l.flag], l.flag, "", fmt.Sprintf("the profile's %s, up to %d characters", l.flag, l.limit))
	}
	fs.Var((*stringList)(&p.Websites), "website", "a website, an http(s) URL of up to 256 characters; repeat for the second")
	fs.StringVar(&p.Vertical, "vertical", "", "the industry: "+strings.Join(verticals, ", "))
	var changed []string
	return adminAction{
		check: func() error {
			fs.Visit(func(f *flag.Flag) {
				if _, ok := texts[f.Name]; ok || f.Name == "website" || f.Name == "vertical" {
					changed = append(changed, f.Name)
				}
			})
			if len(changed) == 0 {
				return badInput("nothing to set: give at least one of --about, --address, --description, --email, --website, --vertical")
			}
			return checkProfile(&p, texts)
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.UpdateBusinessProfile(ctx, t.token, t.phoneID, p)
			return done("business profile of " + t.phoneID + " updated: " + strings.Join(changed, ", ")), err
		},
	}
}

// checkProfile checks the fields of p against Meta's limits; it makes
// Vertical upper case.
func checkProfile(p *sender.BusinessProfile, texts map[string]*string) error {
	for _, l := range profileLimits {
		if n := utf8.RuneCountInString(*texts[l.flag]); n > l.limit {
			return badInput("--%s must be at most %d characters (got %d)", l.flag, l.limit, n)
		}
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			return badInput("--email must be a plain address such as info@example.com (got %q)", p.Email)
		}
	}
	if len(p.Websites) > 2 {
		return badInput("--website can be given twice at most: a profile has up to 2 websites (got %d)", len(p.Websites))
	}
	for _, w := range p.Websites {
		if !isHTTPURL(w) || utf8.RuneCountInString(w) > 256 {
			return badInput("--website must be an http:// or https:// URL of up to 256 characters (got %q)", w)
		}
	}
	if p.Vertical != "" {
		p.Vertical = strings.ToUpper(p.Vertical)
		if !slices.Contains(verticals, p.Vertical) {
			return badInput("--vertical must be one of %s (got %q)", strings.Join(verticals, ", "), p.Vertical)
		}
	}
	if p.About == "" && p.Address == "" && p.Description == "" && p.Email == "" && len(p.Websites) == 0 && p.Vertical == "" {
		return badInput("every value given is empty: Meta keeps a field that is not sent, so give a value")
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func webhookSubscribe(fs *flag.FlagSet) adminAction {
	callback := fs.String("callback-url", "", "send the WABA's webhooks to this URL instead of the app's")
	verify := fs.String("verify-token", "", "the verify token the callback URL checks (default: WASP_VERIFY_TOKEN)")
	return adminAction{
		check: func() error {
			switch {
			case *callback == "" && *verify != "":
				return badInput("--verify-token goes with --callback-url")
			case *callback != "" && !isHTTPURL(*callback):
				return badInput("--callback-url must be an http:// or https:// URL (got %q)", *callback)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			msg := "app subscribed to the webhooks of WABA " + t.wabaID
			var o *sender.CallbackOverride
			if *callback != "" {
				o = &sender.CallbackOverride{URI: *callback, VerifyToken: *verify}
				if o.VerifyToken == "" {
					o.VerifyToken = t.verifyToken
				}
				if o.VerifyToken == "" {
					return nil, badInput("--callback-url needs --verify-token (or WASP_VERIFY_TOKEN)")
				}
				msg += ", sent to " + *callback
			}
			return done(msg), t.graph.Subscribe(ctx, t.token, t.wabaID, o)
		},
	}
}

func webhookUnsubscribe(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		err := t.graph.Unsubscribe(ctx, t.token, t.wabaID)
		return done("app unsubscribed from the webhooks of WABA " + t.wabaID), err
	}}
}

func webhookStatus(*flag.FlagSet) adminAction {
	return adminAction{run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		apps, err := t.graph.SubscribedApps(ctx, t.token, t.wabaID)
		return appsTable(nonNil(apps)), err
	}}
}

// templateStatuses are the statuses templates list --status takes.
var templateStatuses = []string{"APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL",
	"PENDING_DELETION", "DELETED", "ARCHIVED", "LIMIT_EXCEEDED"}

func templatesList(fs *flag.FlagSet) adminAction {
	status := fs.String("status", "", "only the templates in this status: "+strings.Join(templateStatuses, ", "))
	name := fs.String("name", "", "only the templates whose name contains this")
	limit := fs.Int("limit", 100, "the most templates listed")
	return adminAction{
		check: func() error {
			*status = strings.ToUpper(*status)
			switch {
			case *status != "" && !slices.Contains(templateStatuses, *status):
				return badInput("--status must be one of %s (got %q)", strings.Join(templateStatuses, ", "), *status)
			case *name != "" && !templateNameRE.MatchString(*name):
				return badInput("--name must be lowercase letters, digits and _ (got %q)", *name)
			case *limit < 1:
				return badInput("--limit must be at least 1 (got %d)", *limit)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			ts, err := listTemplates(ctx, t, sender.TemplateQuery{Name: *name, Status: *status}, *limit)
			return templatesTable(nonNil(ts)), err
		},
	}
}

// listTemplates reads pages of templates until it has limit or there are
// no more.
func listTemplates(ctx context.Context, t *adminTarget, q sender.TemplateQuery, limit int) ([]sender.MessageTemplate, error) {
	var all []sender.MessageTemplate
	for len(all) < limit {
		q.Limit = min(limit-len(all), 100)
		p, err := t.graph.Templates(ctx, t.token, t.wabaID, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		if p.Paging.Next == "" || p.Paging.Cursors.After == "" || len(p.Data) == 0 {
			break
		}
		q.After = p.Paging.Cursors.After
	}
	return all[:min(len(all), limit)], nil
}

func templatesCreate(fs *flag.FlagSet) adminAction {
	file := fs.String("file", "", "the template definition, JSON (.json) or YAML (.yaml, .yml)")
	var tpl sender.MessageTemplate
	return adminAction{
		check: func() (err error) {
			tpl, err = readTemplate(*file)
			return err
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			c, err := t.graph.CreateTemplate(ctx, t.token, t.wabaID, tpl)
			if err != nil {
				return nil, err
			}
			return (*createdTemplate)(c), nil
		},
	}
}

var templateNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)

// readTemplate reads a template definition from a JSON or YAML file with
// the fields of Meta's create call, and checks it.
func readTemplate(path string) (sender.MessageTemplate, error) {
	var t sender.MessageTemplate
	if path == "" {
		return t, badInput("--file is required: a template definition in JSON or YAML")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return t, badInput("cannot read --file: %v", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
	case ".yaml", ".yml":
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return t, badInput("--file %s is not YAML: %v", path, err)
		}
		if data, err = json.Marshal(doc); err != nil {
			return t, badInput("--file %s is not a template definition: %v", path, err)
		}
	default:
		return t, badInput("--file must end in .json, .yaml or .yml (got %q)", filepath.Base(path))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, badInput("--file %s is not a template definition: %v", path, err)
	}
	if err := checkTemplate(t); err != nil {
		return t, badInput("--file %s: %v", path, err)
	}
	return t, nil
}

// checkTemplate checks a definition against Meta's rules
// (WHATSAPP-CLOUD-API.md §4.5, §6.5), naming the field that breaks one.
func checkTemplate(t sender.MessageTemplate) error {
	switch {
	case !templateNameRE.MatchString(t.Name):
		return fmt.Errorf("name %q must be 1 to 512 lowercase letters, digits and _", t.Name)
	case !slices.Contains([]string{"MARKETING", "UTILITY", "AUTHENTICATION"}, t.Category):
		return fmt.Errorf("category %q must be MARKETING, UTILITY or AUTHENTICATION", t.Category)
	case !localeRE.MatchString(t.Language):
		return fmt.Errorf("language %q must be a locale such as en_US", t.Language)
	case !slices.Contains([]string{"", "POSITIONAL", "NAMED"}, t.ParameterFormat):
		return fmt.Errorf("parameter_format %q must be POSITIONAL or NAMED", t.ParameterFormat)
	}
	bodies := 0
	for i, c := range t.Components {
		if err := checkComponent(c); err != nil {
			return fmt.Errorf("components[%d] %w", i, err)
		}
		if c.Type == "BODY" {
			bodies++
		}
	}
	if bodies != 1 {
		return fmt.Errorf("components has %d BODY components; a template has one", bodies)
	}
	return nil
}

var headerFormats = []string{"TEXT", "IMAGE", "VIDEO", "GIF", "DOCUMENT", "LOCATION"}

func checkComponent(c sender.TemplateComponentDef) error {
	switch c.Type {
	case "HEADER":
		if !slices.Contains(headerFormats, c.Format) {
			return fmt.Errorf("(HEADER) format %q must be one of %s", c.Format, strings.Join(headerFormats, ", "))
		}
		if c.Format == "TEXT" {
			return checkTemplateText("HEADER", c.Text, 60)
		}
	case "BODY":
		return checkTemplateText("BODY", c.Text, 1024)
	case "FOOTER":
		return checkTemplateText("FOOTER", c.Text, 60)
	case "BUTTONS":
		if len(c.Buttons) == 0 {
			return errors.New("(BUTTONS) has no buttons")
		}
		for j, b := range c.Buttons {
			if b.Type == "" {
				return fmt.Errorf("(BUTTONS) buttons[%d] has no type", j)
			}
		}
	default:
		return fmt.Errorf("type %q must be HEADER, BODY, FOOTER or BUTTONS", c.Type)
	}
	return nil
}

func checkTemplateText(component, text string, limit int) error {
	if n := utf8.RuneCountInString(text); n == 0 || n > limit {
		return fmt.Errorf("(%s) text must be 1 to %d characters (got %d)", component, limit, n)
	}
	return nil
}

func templatesDelete(fs *flag.FlagSet) adminAction {
	name := fs.String("name", "", "the template's name")
	id := fs.String("id", "", "delete only the template with this id (one language)")
	return adminAction{
		check: func() error {
			if !templateNameRE.MatchString(*name) {
				return badInput("--name must be a template name: lowercase letters, digits and _ (got %q)", *name)
			}
			if *id != "" {
				return checkGraphID("id", *id)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			err := t.graph.DeleteTemplate(ctx, t.token, t.wabaID, *name, *id)
			if *id != "" {
				return done(fmt.Sprintf("template %s (id %s) deleted", *name, *id)), err
			}
			return done("template " + *name + " deleted in every language"), err
		},
	}
}

// mediaKind is a file Meta takes for upload: the MIME type of an
// extension, and the type's size limit.
type mediaKind struct {
	ext, mime string
	limit     int64
}

// mediaKinds are the files Meta takes (WHATSAPP-CLOUD-API.md §4.5). A
// sticker (image/webp) may have 500 KB when animated but 100 KB when
// static: the larger limit is checked.
var mediaKinds = []mediaKind{
	{".aac", "audio/aac", 16 << 20}, {".amr", "audio/amr", 16 << 20}, {".mp3", "audio/mpeg", 16 << 20},
	{".m4a", "audio/mp4", 16 << 20}, {".ogg", "audio/ogg", 16 << 20}, {".opus", "audio/ogg", 16 << 20},
	{".txt", "text/plain", 100 << 20}, {".pdf", "application/pdf", 100 << 20},
	{".doc", "application/msword", 100 << 20}, {".xls", "application/vnd.ms-excel", 100 << 20},
	{".ppt", "application/vnd.ms-powerpoint", 100 << 20},
	{".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 100 << 20},
	{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 100 << 20},
	{".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", 100 << 20},
	{".jpg", "image/jpeg", 5 << 20}, {".jpeg", "image/jpeg", 5 << 20}, {".png", "image/png", 5 << 20},
	{".webp", "image/webp", 500 << 10},
	{".3gp", "video/3gpp", 16 << 20}, {".mp4", "video/mp4", 16 << 20},
}

// mediaType returns the MIME type of the file at path (mimeType when
// given, else the one of its extension) and Meta's size limit for it.
func mediaType(path, mimeType string) (string, int64, error) {
	base, _, _ := strings.Cut(mimeType, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	ext := strings.ToLower(filepath.Ext(path))
	var types []string
	for _, k := range mediaKinds {
		switch {
		case mimeType != "" && k.mime == base:
			return mimeType, k.limit, nil
		case mimeType == "" && k.ext == ext:
			return k.mime, k.limit, nil
		case !slices.Contains(types, k.mime):
			types = append(types, k.mime)
		}
	}
	if mimeType != "" {
		return "", 0, badInput("--type %q is not a type Meta takes: %s", mimeType, strings.Join(types, ", "))
	}
	return "", 0, badInput("cannot tell the type of %s from its extension: pass --type, one of %s", filepath.Base(path), strings.Join(types, ", "))
}

func mediaUpload(fs *flag.FlagSet) adminAction {
	file := fs.String("file", "", "the file to upload")
	typ := fs.String("type", "", "its MIME type (default: from the extension)")
	var size int64
	return adminAction{
		check: func() error {
			if *file == "" {
				return badInput("--file is required")
			}
			st, err := os.Stat(*file)
			if err != nil || !st.Mode().IsRegular() {
				return badInput("--file must be a readable file (got %q)", *file)
			}
			var limit int64
			if *typ, limit, err = mediaType(*file, *typ); err != nil {
				return err
			}
			if size = st.Size(); size > limit {
				return badInput("--file %s has %d bytes; Meta takes %s files of up to %s", filepath.Base(*file), size, *typ, byteSize(limit))
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			f, err := os.Open(*file)
			if err != nil {
				return nil, fmt.Errorf("cannot open the file: %w", err)
			}
			defer f.Close()
			id, err := t.graph.UploadMedia(ctx, t.token, t.phoneID, filepath.Base(*file), *typ, f)
			return &mediaFile{ID: id, File: *file, MimeType: *typ, Size: size}, err
		},
	}
}

// byteSize writes a limit of mediaKinds as Meta does: "5 MB", "500 KB".
func byteSize(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// mediaID declares the --id flag of a media command and returns its check.
func mediaID(fs *flag.FlagSet) (*string, func() error) {
	id := fs.String("id", "", "the media id")
	return id, func() error { return checkGraphID("id", *id) }
}

func mediaGet(fs *flag.FlagSet) adminAction {
	id, check := mediaID(fs)
	return adminAction{check: check, run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		m, err := t.graph.MediaURL(ctx, t.token, *id, t.phoneID)
		if err != nil {
			return nil, err
		}
		return (*mediaView)(m), nil
	}}
}

func mediaDownload(fs *flag.FlagSet) adminAction {
	id, checkID := mediaID(fs)
	out := fs.String("out", "", "the file to write")
	return adminAction{
		check: func() error {
			if err := checkID(); err != nil {
				return err
			}
			if *out == "" {
				return badInput("--out is required: the file to write")
			}
			if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
				return badInput("--out %s: its directory does not exist", *out)
			}
			if st, err := os.Stat(*out); err == nil && st.IsDir() {
				return badInput("--out %s is a directory; give a file name", *out)
			}
			return nil
		},
		run: func(ctx context.Context, t *adminTarget) (tabular, error) {
			m, err := t.graph.MediaURL(ctx, t.token, *id, t.phoneID)
			if err != nil {
				return nil, err
			}
			mimeType, n, err := downloadTo(ctx, t, m.URL, *out)
			return &mediaFile{ID: *id, File: *out, MimeType: mimeType, Size: n}, err
		},
	}
}

// downloadTo downloads mediaURL into a temporary file next to path, then
// renames it to path: a failed download leaves no partial file.
func downloadTo(ctx context.Context, t *adminTarget, mediaURL, path string) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".wasp-download-*")
	if err != nil {
		return "", 0, fmt.Errorf("cannot create the file: %w", err)
	}
	defer os.Remove(f.Name())
	mimeType, n, err := t.graph.DownloadMedia(ctx, t.token, mediaURL, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cannot write %s: %w", path, cerr)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return mimeType, n, err
}

func mediaDelete(fs *flag.FlagSet) adminAction {
	id, check := mediaID(fs)
	return adminAction{check: check, run: func(ctx context.Context, t *adminTarget) (tabular, error) {
		err := t.graph.DeleteMedia(ctx, t.token, *id, t.phoneID)
		return done("media " + *id + " deleted"), err
	}}
}

// nonNil makes a list print as [] in JSON when Meta gave none.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
