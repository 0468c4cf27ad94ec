package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// newID returns a fresh numeric object id (16 digits, first digit 1 to 5;
// ids of inbound media start with 7).
func (s *Sim) newID() string {
	v := 1_000_000_000_000_000 + ((s.idBase%100_000_000_000_000)*10+s.seq.Add(1))%5_000_000_000_000_000
	return strconv.FormatUint(v, 10)
}

// numberFields are the fields GET /{phone} knows; the first ones are the
// default when the request names none.
var numberFields = []string{
	"verified_name", "code_verification_status", "display_phone_number", "quality_rating",
	"platform_type", "throughput", "webhook_configuration", "id",
	"name_status", "new_name_status", "status", "whatsapp_business_manager_messaging_limit",
	"messaging_limit_tier", "account_mode", "is_official_business_account", "is_on_biz_app",
	"is_pin_enabled", "health_status", "messaging_product",
}

const defaultNumberFields = 8

// numberView is the phone number as GET /{phone} shows it; the caller
// holds n.mu.
func (s *Sim) numberView(n *number) object {
	level := n.cfg.Level
	if level == "COEXISTENCE" {
		level = "STANDARD" // coexistence numbers are told by is_on_biz_app
	}
	webhook := object{{"application", s.cfg.Webhook.URL}}
	if o := n.waba.override.Load(); o != nil {
		webhook = append(webhook, member{"whatsapp_business_account", *o})
	}
	if o := n.override.Load(); o != nil {
		webhook = append(webhook, member{"phone_number", *o})
	}
	status := "CONNECTED"
	if !n.registered {
		status = "PENDING"
	}
	can := "AVAILABLE"
	if !n.registered {
		can = "BLOCKED"
	}
	o := object{
		{"verified_name", n.cfg.VerifiedName},
		{"code_verification_status", n.codeStatus},
		{"display_phone_number", formatDisplay(n.cfg.DisplayPhoneNumber)},
		{"quality_rating", n.cfg.Quality},
		{"platform_type", "CLOUD_API"},
		{"throughput", object{{"level", level}}},
		{"webhook_configuration", webhook},
		{"id", n.cfg.PhoneNumberID},
		{"name_status", n.nameStatus},
		{"new_name_status", map[bool]string{true: "PENDING_REVIEW", false: "NONE"}[n.newName != ""]},
		{"status", status},
		{"whatsapp_business_manager_messaging_limit", n.cfg.MessagingLimitTier},
		{"messaging_limit_tier", n.cfg.MessagingLimitTier},
		{"account_mode", "LIVE"},
		{"is_official_business_account", false},
		{"is_on_biz_app", n.cfg.Level == "COEXISTENCE"},
		{"is_pin_enabled", n.pin != ""},
		{"health_status", object{
			{"can_send_message", can},
			{"entities", []object{{{"entity_type", "PHONE_NUMBER"}, {"id", n.cfg.PhoneNumberID}, {"can_send_message", can}}}},
		}},
		{"messaging_product", "whatsapp"},
	}
	return o
}

// formatDisplay writes digits as Graph shows a number: "+1 555-078-3881".
func formatDisplay(d string) string {
	if len(d) == 11 && d[0] == '1' {
		return "+1 " + d[1:4] + "-" + d[4:7] + "-" + d[7:]
	}
	return "+" + d
}

// selectFields returns the members of o named in the comma-separated
// fields, id last, or the defaults; err names the first unknown field.
func selectFields(o object, fields string, known []string, defaults int, node string) (object, *apiError) {
	if fields == "" {
		return o[:defaults], nil
	}
	out := object{}
	for _, f := range strings.Split(fields, ",") {
		f, _, _ = strings.Cut(strings.TrimSpace(f), "{")
		if f == "" {
			continue
		}
		if !slices.Contains(known, f) {
			return nil, &apiError{code: 100, message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", f, node)}
		}
		if f != "id" {
			out = append(out, member{f, o.get(f)})
		}
	}
	return append(out, member{"id", o.get("id")}), nil
}

// handleNumberFields serves GET /{phone}?fields=….
func (s *Sim) handleNumberFields(ctx *fasthttp.RequestCtx, n *number) {
	n.mu.Lock()
	o := s.numberView(n)
	n.mu.Unlock()
	out, e := selectFields(o, string(ctx.QueryArgs().Peek("fields")), numberFields, defaultNumberFields, "WhatsAppBusinessPhoneNumber")
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	writeJSON(ctx, out)
}

// handlePhoneNumbers serves GET /{waba}/phone_numbers.
func (s *Sim) handlePhoneNumbers(ctx *fasthttp.RequestCtx, w *waba) {
	fields := string(ctx.QueryArgs().Peek("fields"))
	data := make([]object, 0, len(w.numbers))
	for _, n := range w.numbers {
		n.mu.Lock()
		o := s.numberView(n)
		n.mu.Unlock()
		out, e := selectFields(o, fields, numberFields, defaultNumberFields, "WhatsAppBusinessPhoneNumber")
		if e != nil {
			s.fail(ctx, nil, e)
			return
		}
		data = append(data, out)
	}
	paging := object{{"cursors", object{{"before", encodeCursor(0)}, {"after", encodeCursor(len(data) - 1)}}}}
	writeJSON(ctx, object{{"data", data}, {"paging", paging}})
}

// handleNumberUpdate serves POST /{phone}: the two-step verification PIN,
// a new display name, or the number's webhook override.
func (s *Sim) handleNumberUpdate(ctx *fasthttp.RequestCtx, n *number) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	pin, hasPIN := str(p, "pin")
	name, hasName := str(p, "new_display_name")
	hook, hasHook := p["webhook_configuration"].(map[string]any)
	switch {
	case hasPIN && !isPIN(pin):
		s.fail(ctx, n, newError(100, "Param pin must be 6 digits."))
		return
	case hasName && name == "":
		s.fail(ctx, n, newError(100, "Param new_display_name must not be empty."))
		return
	case !hasPIN && !hasName && !hasHook:
		s.fail(ctx, n, newError(100, "The request has no parameter this endpoint takes (pin, new_display_name, webhook_configuration)."))
		return
	}
	if hasHook {
		uri, _ := hook["override_callback_uri"].(string)
		if uri == "" {
			n.override.Store(nil)
		} else {
			n.override.Store(&uri)
		}
	}
	n.mu.Lock()
	if hasPIN {
		n.pin = pin
	}
	if hasName {
		n.newName = name
	}
	n.mu.Unlock()
	writeSuccess(ctx)
}

// handleRequestCode serves POST /{phone}/request_code. The code "sent" is
// always VerificationCode.
func (s *Sim) handleRequestCode(ctx *fasthttp.RequestCtx, n *number) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	method, _ := str(p, "code_method")
	lang, ok := str(p, "language")
	if !ok {
		lang, _ = str(p, "locale")
	}
	switch strings.ToUpper(method) {
	case "SMS", "VOICE", "IVR":
	case "":
		s.fail(ctx, n, newError(100, "The parameter code_method is required."))
		return
	default:
		s.fail(ctx, n, newError(100, fmt.Sprintf("Param code_method must be one of {SMS, VOICE, IVR} - got %q.", method)))
		return
	}
	if lang == "" {
		s.fail(ctx, n, newError(100, "The parameter language is required."))
		return
	}
	n.mu.Lock()
	n.code = VerificationCode
	n.mu.Unlock()
	writeSuccess(ctx)
}

// handleVerifyCode serves POST /{phone}/verify_code.
func (s *Sim) handleVerifyCode(ctx *fasthttp.RequestCtx, n *number) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	code, _ := str(p, "code")
	if code == "" {
		s.fail(ctx, n, newError(100, "The parameter code is required."))
		return
	}
	n.mu.Lock()
	switch {
	case n.code == "":
		e = newError(100, "No verification code was requested for this phone number.")
	case code != n.code:
		e = newError(100, "The verification code is incorrect.")
	default:
		n.code = ""
		n.codeStatus = "VERIFIED"
	}
	n.mu.Unlock()
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	writeSuccess(ctx)
}

// handleRegister serves POST /{phone}/register: at most 10 register or
// deregister requests per 72 hours (133016); the PIN must match the one
// set (133005), or sets it.
func (s *Sim) handleRegister(ctx *fasthttp.RequestCtx, n *number) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	product, _ := str(p, "messaging_product")
	if e := checkProduct(product); e != nil {
		s.fail(ctx, n, e)
		return
	}
	pin, ok := str(p, "pin")
	if !ok {
		s.fail(ctx, n, newError(100, "The parameter pin is required."))
		return
	}
	if !isPIN(pin) {
		s.fail(ctx, n, newError(100, "Param pin must be 6 digits."))
		return
	}
	now := s.now()
	n.mu.Lock()
	switch {
	case !n.registerAttempt(now):
		e = newError(133016, "")
	case n.pin != "" && n.pin != pin:
		e = newError(133005, "")
	default:
		n.pin = pin
		n.registered = true
	}
	n.mu.Unlock()
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	writeSuccess(ctx)
}

// handleDeregister serves POST /{phone}/deregister; it counts towards the
// register limit. Sends from a deregistered number get 133010.
func (s *Sim) handleDeregister(ctx *fasthttp.RequestCtx, n *number) {
	now := s.now()
	n.mu.Lock()
	ok := n.registerAttempt(now)
	if ok {
		n.registered = false
	}
	n.mu.Unlock()
	if !ok {
		s.fail(ctx, n, newError(133016, ""))
		return
	}
	writeSuccess(ctx)
}

var verticals = []string{
	"UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GROCERY",
	"GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT", "NOT_A_BIZ",
}

// handleProfileGet serves GET /{phone}/whatsapp_business_profile.
func (s *Sim) handleProfileGet(ctx *fasthttp.RequestCtx, n *number) {
	n.mu.Lock()
	p := n.profile
	n.mu.Unlock()
	o := object{}
	add := func(k string, v any, set bool) {
		if set {
			o = append(o, member{k, v})
		}
	}
	add("about", p.About, p.About != "")
	add("address", p.Address, p.Address != "")
	add("description", p.Description, p.Description != "")
	add("email", p.Email, p.Email != "")
	o = append(o, member{"messaging_product", "whatsapp"})
	add("profile_picture_url", p.ProfilePictureURL, p.ProfilePictureURL != "")
	add("websites", p.Websites, len(p.Websites) > 0)
	add("vertical", p.Vertical, p.Vertical != "")
	o = filterFields(o, string(ctx.QueryArgs().Peek("fields")), "messaging_product")
	writeJSON(ctx, object{{"data", []object{o}}})
}

// handleProfilePost serves POST /{phone}/whatsapp_business_profile with
// Meta's limits: about 1–139 characters, address 256, description 512,
// email 128, at most 2 websites of 256, vertical from the list.
func (s *Sim) handleProfilePost(ctx *fasthttp.RequestCtx, n *number) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	product, _ := str(p, "messaging_product")
	if e := checkProduct(product); e != nil {
		s.fail(ctx, n, e)
		return
	}
	about, hasAbout := str(p, "about")
	address, hasAddress := str(p, "address")
	description, hasDescription := str(p, "description")
	email, hasEmail := str(p, "email")
	vertical, hasVertical := str(p, "vertical")
	handle, hasHandle := str(p, "profile_picture_handle")
	var websites []string
	_, hasWebsites := p["websites"]
	if ws, ok := p["websites"].([]any); ok {
		for _, w := range ws {
			u, _ := w.(string)
			websites = append(websites, u)
		}
	} else if hasWebsites {
		s.fail(ctx, n, newError(100, "Param websites must be an array."))
		return
	}
	switch {
	case hasAbout && (about == "" || tooLong(about, 139)):
		e = newError(100, "Param about must be between 1 and 139 characters long.")
	case hasAddress && tooLong(address, 256):
		e = newError(100, "Param address must be at most 256 characters long.")
	case hasDescription && tooLong(description, 512):
		e = newError(100, "Param description must be at most 512 characters long.")
	case hasEmail && (tooLong(email, 128) || email != "" && !strings.Contains(email, "@")):
		e = newError(100, "Param email must be a valid email address of at most 128 characters.")
	case len(websites) > 2:
		e = newError(100, "Param websites must have at most 2 items.")
	case hasVertical && !slices.Contains(verticals, vertical):
		e = newError(100, fmt.Sprintf("Param vertical must be one of {%s} - got %q.", strings.Join(verticals, ", "), vertical))
	}
	for _, w := range websites {
		if e == nil && (!isHTTPURL(w) || tooLong(w, 256)) {
			e = newError(100, "Param websites must hold http:// or https:// URLs of at most 256 characters.")
		}
	}
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	n.mu.Lock()
	pr := &n.profile
	if hasAbout {
		pr.About = about
	}
	if hasAddress {
		pr.Address = address
	}
	if hasDescription {
		pr.Description = description
	}
	if hasEmail {
		pr.Email = email
	}
	if hasVertical {
		pr.Vertical = vertical
	}
	if hasWebsites {
		pr.Websites = websites
	}
	if hasHandle && handle != "" {
		pr.ProfilePictureURL = "https://pps.whatsapp.net/v/t61.24694-24/" + n.cfg.PhoneNumberID + ".jpg"
	}
	n.mu.Unlock()
	writeSuccess(ctx)
}

// handleSubscribedApps serves GET /{waba}/subscribed_apps.
func (s *Sim) handleSubscribedApps(ctx *fasthttp.RequestCtx, w *waba) {
	data := []object{}
	if w.subscribed.Load() {
		app := object{{"whatsapp_business_api_data", object{
			{"link", "https://www.facebook.com/games/?app_id=" + s.cfg.Webhook.AppID},
			{"name", "Wasp"},
			{"id", s.cfg.Webhook.AppID},
		}}}
		if o := w.override.Load(); o != nil {
			app = append(app, member{"override_callback_uri", *o})
		}
		data = append(data, app)
	}
	writeJSON(ctx, object{{"data", data}})
}

// handleSubscribe serves POST /{waba}/subscribed_apps, with an optional
// override_callback_uri (and its verify_token) that webhooks of the WABA
// then go to.
func (s *Sim) handleSubscribe(ctx *fasthttp.RequestCtx, w *waba) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, nil, e)
		return
	}
	uri, hasURI := str(p, "override_callback_uri")
	token, _ := str(p, "verify_token")
	if hasURI && uri != "" {
		if token == "" {
			s.fail(ctx, nil, newError(100, "The parameter verify_token is required with override_callback_uri."))
			return
		}
		if !isHTTPURL(uri) {
			s.fail(ctx, nil, newError(100, "Param override_callback_uri must be a URL."))
			return
		}
		w.override.Store(&uri)
	} else if hasURI {
		w.override.Store(nil)
	}
	w.subscribed.Store(true)
	writeSuccess(ctx)
}
