package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"wasp/schemas"
)

// PhoneNumberFields is what PhoneNumber and PhoneNumbers ask for when
// given no fields.
const PhoneNumberFields = "id,display_phone_number,verified_name,quality_rating,code_verification_status," +
	"name_status,new_name_status,platform_type,throughput,whatsapp_business_manager_messaging_limit," +
	"status,account_mode,is_official_business_account,webhook_configuration"

// PhoneNumber is a business phone number as GET /{phone_number_id} gives it.
type PhoneNumber struct {
	ID                 string `json:"id"`
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	VerifiedName       string `json:"verified_name,omitempty"`
	// QualityRating is GREEN, YELLOW, RED or UNKNOWN.
	QualityRating string `json:"quality_rating,omitempty"`
	// CodeVerificationStatus is VERIFIED, NOT_VERIFIED or EXPIRED.
	CodeVerificationStatus string `json:"code_verification_status,omitempty"`
	// NameStatus is APPROVED, AVAILABLE_WITHOUT_REVIEW, DECLINED, EXPIRED,
	// PENDING_REVIEW or NONE; NewNameStatus likewise for a pending change.
	NameStatus    string `json:"name_status,omitempty"`
	NewNameStatus string `json:"new_name_status,omitempty"`
	// PlatformType is CLOUD_API (or ON_PREMISE, NOT_APPLICABLE).
	PlatformType string `json:"platform_type,omitempty"`
	// Throughput.Level is STANDARD (80 mps), HIGH (1,000) or NOT_APPLICABLE.
	Throughput struct {
		Level string `json:"level,omitempty"`
	} `json:"throughput"`
	// MessagingLimit is whatsapp_business_manager_messaging_limit:
	// TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED.
	MessagingLimit string `json:"whatsapp_business_manager_messaging_limit,omitempty"`
	// Status is CONNECTED, PENDING, FLAGGED, RESTRICTED, … (not a closed
	// list).
	Status                    string `json:"status,omitempty"`
	AccountMode               string `json:"account_mode,omitempty"`
	IsOfficialBusinessAccount bool   `json:"is_official_business_account,omitempty"`
	// WebhookConfiguration holds the callback URLs: "application" and
	// the WABA or number overrides.
	WebhookConfiguration map[string]string `json:"webhook_configuration,omitempty"`
}

// Paging is the paging of a Graph list: pass Cursors.After to get the next
// page while Next is set.
type Paging struct {
	Cursors struct {
		Before string `json:"before,omitempty"`
		After  string `json:"after,omitempty"`
	} `json:"cursors"`
	Next     string `json:"next,omitempty"`
	Previous string `json:"previous,omitempty"`
}

// maxPages bounds the pages a list call reads.
const maxPages = 100

// PhoneNumbers returns the phone numbers of a WABA (GET
// /{waba_id}/phone_numbers?fields=…), every page; fields "" asks for
// PhoneNumberFields.
func (g *GraphClient) PhoneNumbers(ctx context.Context, token, wabaID, fields string) ([]PhoneNumber, error) {
	if err := checkID("waba_id", wabaID); err != nil {
		return nil, fmt.Errorf("cannot list phone numbers: %w", err)
	}
	var all []PhoneNumber
	q := url.Values{"fields": {orDefault(fields, PhoneNumberFields)}}
	for range maxPages {
		var page struct {
			Data   []PhoneNumber `json:"data"`
			Paging Paging        `json:"paging"`
		}
		if err := g.call(ctx, token, fasthttp.MethodGet, g.url(wabaID+"/phone_numbers", q), "", nil, &page); err != nil {
			return nil, fmt.Errorf("cannot list phone numbers: %w", err)
		}
		all = append(all, page.Data...)
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" {
			break
		}
		q.Set("after", page.Paging.Cursors.After)
	}
	return all, nil
}

// PhoneNumber returns one phone number (GET /{phone_number_id}?fields=…);
// fields "" asks for PhoneNumberFields.
func (g *GraphClient) PhoneNumber(ctx context.Context, token, phoneNumberID, fields string) (*PhoneNumber, error) {
	if err := checkID("phone_number_id", phoneNumberID); err != nil {
		return nil, fmt.Errorf("cannot get phone number: %w", err)
	}
	p := &PhoneNumber{}
	q := url.Values{"fields": {orDefault(fields, PhoneNumberFields)}}
	if err := g.call(ctx, token, fasthttp.MethodGet, g.url(phoneNumberID, q), "", nil, p); err != nil {
		return nil, fmt.Errorf("cannot get phone number: %w", err)
	}
	return p, nil
}

// RequestCode asks Meta to send the number its verification code (POST
// /{phone_number_id}/request_code?code_method=…&language=…). codeMethod is
// SMS, VOICE or IVR; language is a locale, "en_US" when empty.
func (g *GraphClient) RequestCode(ctx context.Context, token, phoneNumberID, codeMethod, language string) error {
	err := checkID("phone_number_id", phoneNumberID)
	if err == nil {
		switch codeMethod {
		case "SMS", "VOICE", "IVR":
		default:
			err = fmt.Errorf("code_method %q is not SMS, VOICE or IVR", codeMethod)
		}
	}
	if err == nil {
		q := url.Values{"code_method": {codeMethod}, "language": {orDefault(language, "en_US")}}
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID+"/request_code", q), nil)
	}
	if err != nil {
		return fmt.Errorf("cannot request code: %w", err)
	}
	return nil
}

// VerifyCode sends the code the number received (POST
// /{phone_number_id}/verify_code {"code"}; in the body, not the URL, to
// keep it out of access logs).
func (g *GraphClient) VerifyCode(ctx context.Context, token, phoneNumberID, code string) error {
	err := checkID("phone_number_id", phoneNumberID)
	if err == nil && code == "" {
		err = fmt.Errorf("code is empty")
	}
	if err == nil {
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID+"/verify_code", nil), map[string]string{"code": code})
	}
	if err != nil {
		return fmt.Errorf("cannot verify code: %w", err)
	}
	return nil
}

// Register registers the number for Cloud API (POST
// /{phone_number_id}/register {"messaging_product","pin"[,
// "data_localization_region"]}). pin is the two-step PIN (6 digits): the
// current one, or the one to set. dataLocalizationRegion ("DE", …, or "")
// turns on Local Storage. Meta allows 10 (de)registrations per number per
// 72 h (error 133016).
func (g *GraphClient) Register(ctx context.Context, token, phoneNumberID, pin, dataLocalizationRegion string) error {
	err := checkID("phone_number_id", phoneNumberID)
	if err == nil {
		err = checkPIN(pin)
	}
	if err == nil {
		body := struct {
			MessagingProduct       string `json:"messaging_product"`
			PIN                    string `json:"pin"`
			DataLocalizationRegion string `json:"data_localization_region,omitempty"`
		}{"whatsapp", pin, dataLocalizationRegion}
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID+"/register", nil), body)
	}
	if err != nil {
		return fmt.Errorf("cannot register phone number: %w", err)
	}
	return nil
}

// Deregister deregisters the number (POST /{phone_number_id}/deregister).
func (g *GraphClient) Deregister(ctx context.Context, token, phoneNumberID string) error {
	err := checkID("phone_number_id", phoneNumberID)
	if err == nil {
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID+"/deregister", nil), nil)
	}
	if err != nil {
		return fmt.Errorf("cannot deregister phone number: %w", err)
	}
	return nil
}

// SetPIN sets the number's two-step verification PIN (POST
// /{phone_number_id} {"pin"}). There is no call to turn it off.
func (g *GraphClient) SetPIN(ctx context.Context, token, phoneNumberID, pin string) error {
	err := checkID("phone_number_id", phoneNumberID)
	if err == nil {
		err = checkPIN(pin)
	}
	if err == nil {
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID, nil), map[string]string{"pin": pin})
	}
	if err != nil {
		return fmt.Errorf("cannot set two-step PIN: %w", err)
	}
	return nil
}

func checkPIN(pin string) error {
	if len(pin) != 6 || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("the PIN has %d characters; want 6 digits", len(pin))
	}
	return nil
}

// BusinessProfileFields is what BusinessProfile asks for.
const BusinessProfileFields = "about,address,description,email,profile_picture_url,websites,vertical"

// BusinessProfile is the WhatsApp profile of a number.
type BusinessProfile struct {
	// About is the status line, 1 to 139 characters.
	About       string `json:"about,omitempty"`
	Address     string `json:"address,omitempty"`
	Description string `json:"description,omitempty"`
	Email       string `json:"email,omitempty"`
	// Websites holds up to 2 http(s) URLs.
	Websites []string `json:"websites,omitempty"`
	// Vertical is the industry: OTHER, AUTO, BEAUTY, APPAREL, EDU, …
	Vertical string `json:"vertical,omitempty"`
	// ProfilePictureURL is read only.
	ProfilePictureURL string `json:"profile_picture_url,omitempty"`
	// ProfilePictureHandle sets the picture: the handle "h" of a
	// resumable upload. Write only.
	ProfilePictureHandle string `json:"profile_picture_handle,omitempty"`
}

// BusinessProfile returns the number's profile (GET
// /{phone_number_id}/whatsapp_business_profile?fields=…).
func (g *GraphClient) BusinessProfile(ctx context.Context, token, phoneNumberID string) (*BusinessProfile, error) {
	if err := checkID("phone_number_id", phoneNumberID); err != nil {
		return nil, fmt.Errorf("cannot get business profile: %w", err)
	}
	var r struct {
		Data []BusinessProfile `json:"data"`
	}
	q := url.Values{"fields": {BusinessProfileFields}}
	if err := g.call(ctx, token, fasthttp.MethodGet, g.url(phoneNumberID+"/whatsapp_business_profile", q), "", nil, &r); err != nil {
		return nil, fmt.Errorf("cannot get business profile: %w", err)
	}
	if len(r.Data) == 0 {
		return &BusinessProfile{}, nil
	}
	return &r.Data[0], nil
}

// UpdateBusinessProfile sets the fields of p that are not empty (POST
// /{phone_number_id}/whatsapp_business_profile).
func (g *GraphClient) UpdateBusinessProfile(ctx context.Context, token, phoneNumberID string, p BusinessProfile) error {
	err := checkID("phone_number_id", phoneNumberID)
	c := &check{}
	c.max("about", p.About, 139)
	if len(p.Websites) > 2 {
		c.fail("websites", "has %d URLs; the limit is 2", len(p.Websites))
	}
	for i, w := range p.Websites {
		c.link(fmt.Sprintf("websites[%d]", i), w)
	}
	if err == nil {
		err = c.plain("business profile")
	}
	if err == nil {
		p.ProfilePictureURL = ""
		body := struct {
			MessagingProduct string `json:"messaging_product"`
			BusinessProfile
		}{"whatsapp", p}
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID+"/whatsapp_business_profile", nil), body)
	}
	if err != nil {
		return fmt.Errorf("cannot update business profile: %w", err)
	}
	return nil
}

// SubscribedApp is an app subscribed to a WABA's webhooks.
type SubscribedApp struct {
	App struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Link string `json:"link,omitempty"`
	} `json:"whatsapp_business_api_data"`
	// OverrideCallbackURI is the WABA's own callback URL, if set.
	OverrideCallbackURI string `json:"override_callback_uri,omitempty"`
}

// SubscribedApps lists the apps subscribed to the WABA's webhooks (GET
// /{waba_id}/subscribed_apps).
func (g *GraphClient) SubscribedApps(ctx context.Context, token, wabaID string) ([]SubscribedApp, error) {
	if err := checkID("waba_id", wabaID); err != nil {
		return nil, fmt.Errorf("cannot list subscribed apps: %w", err)
	}
	var r struct {
		Data []SubscribedApp `json:"data"`
	}
	if err := g.call(ctx, token, fasthttp.MethodGet, g.url(wabaID+"/subscribed_apps", nil), "", nil, &r); err != nil {
		return nil, fmt.Errorf("cannot list subscribed apps: %w", err)
	}
	return r.Data, nil
}

// CallbackOverride sends a WABA's webhooks to its own URL.
type CallbackOverride struct {
	// URI is the callback URL (override_callback_uri).
	URI string `json:"override_callback_uri"`
	// VerifyToken is the verify token the URL's GET check expects.
	VerifyToken string `json:"verify_token"`
}

// Subscribe subscribes the token's app to the WABA's webhooks (POST
// /{waba_id}/subscribed_apps), needed once per WABA; with override, to
// that callback URL instead of the app's.
func (g *GraphClient) Subscribe(ctx context.Context, token, wabaID string, override *CallbackOverride) error {
	err := checkID("waba_id", wabaID)
	var body any
	if err == nil && override != nil {
		c := &check{}
		c.link("override_callback_uri", override.URI)
		c.need("verify_token", override.VerifyToken)
		err = c.plain("")
		body = override
	}
	if err == nil {
		err = g.callOK(ctx, token, fasthttp.MethodPost, g.url(wabaID+"/subscribed_apps", nil), body)
	}
	if err != nil {
		return fmt.Errorf("cannot subscribe app: %w", err)
	}
	return nil
}

// Unsubscribe removes the token's app from the WABA's webhooks (DELETE
// /{waba_id}/subscribed_apps).
func (g *GraphClient) Unsubscribe(ctx context.Context, token, wabaID string) error {
	err := checkID("waba_id", wabaID)
	if err == nil {
		err = g.callOK(ctx, token, fasthttp.MethodDelete, g.url(wabaID+"/subscribed_apps", nil), nil)
	}
	if err != nil {
		return fmt.Errorf("cannot unsubscribe app: %w", err)
	}
	return nil
}

// MessageTemplate is a template definition: what CreateTemplate sends and
// Templates lists.
type MessageTemplate struct {
	// ID, Status ("APPROVED", "PENDING", "REJECTED", "PAUSED", …),
	// QualityScore and RejectedReason are read only.
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Category is MARKETING, UTILITY or AUTHENTICATION.
	Category string `json:"category"`
	Language string `json:"language"`
	// ParameterFormat is POSITIONAL ({{1}}) or NAMED ({{first_name}}).
	ParameterFormat string                 `json:"parameter_format,omitempty"`
	Components      []TemplateComponentDef `json:"components"`
	Status          string                 `json:"status,omitempty"`
	RejectedReason  string                 `json:"rejected_reason,omitempty"`
	QualityScore    *struct {
		Score string `json:"score"`
	} `json:"quality_score,omitempty"`
}

// TemplateComponentDef is a part of a template definition: Type HEADER
// (with Format TEXT, IMAGE, VIDEO, GIF, DOCUMENT or LOCATION), BODY,
// FOOTER or BUTTONS. Example holds Meta's example values as JSON
// ({"body_text":[["Ana"]]}, {"header_handle":["…"]}, …).
type TemplateComponentDef struct {
	Type    string              `json:"type"`
	Format  string              `json:"format,omitempty"`
	Text    string              `json:"text,omitempty"`
	Example json.RawMessage     `json:"example,omitempty"`
	Buttons []TemplateButtonDef `json:"buttons,omitempty"`
}

// TemplateButtonDef is a button of a template definition: Type
// QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, FLOW, OTP, ….
type TemplateButtonDef struct {
	Type           string          `json:"type"`
	Text           string          `json:"text,omitempty"`
	URL            string          `json:"url,omitempty"`
	PhoneNumber    string          `json:"phone_number,omitempty"`
	Example        json.RawMessage `json:"example,omitempty"`
	FlowID         string          `json:"flow_id,omitempty"`
	FlowAction     string          `json:"flow_action,omitempty"`
	NavigateScreen string          `json:"navigate_screen,omitempty"`
	OTPType        string          `json:"otp_type,omitempty"`
}

// TemplateQuery filters and pages Templates. Empty fields are not sent.
type TemplateQuery struct {
	// Fields defaults to TemplateFields.
	Fields   string
	Name     string
	Status   string
	Category string
	Language string
	// Limit is the page size.
	Limit int
	// After is the cursor of the page to get (Paging.Cursors.After).
	After string
}

// TemplateFields is what Templates asks for by default.
const TemplateFields = "id,name,status,category,language,parameter_format,components,quality_score,rejected_reason"

// TemplatePage is one page of templates.
type TemplatePage struct {
	Data   []MessageTemplate `json:"data"`
	Paging Paging            `json:"paging"`
}

// Templates lists one page of the WABA's templates (GET
// /{waba_id}/message_templates?fields=…&limit=…&after=…).
func (g *GraphClient) Templates(ctx context.Context, token, wabaID string, q TemplateQuery) (*TemplatePage, error) {
	if err := checkID("waba_id", wabaID); err != nil {
		return nil, fmt.Errorf("cannot list templates: %w", err)
	}
	v := url.Values{"fields": {orDefault(q.Fields, TemplateFields)}}
	for k, s := range map[string]string{"name": q.Name, "status": q.Status, "category": q.Category, "language": q.Language, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	p := &TemplatePage{}
	if err := g.call(ctx, token, fasthttp.MethodGet, g.url(wabaID+"/message_templates", v), "", nil, p); err != nil {
		return nil, fmt.Errorf("cannot list templates: %w", err)
	}
	return p, nil
}

// CreatedTemplate is the answer to CreateTemplate.
type CreatedTemplate struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

// CreateTemplate submits a template for review (POST
// /{waba_id}/message_templates). The read-only fields of t are not sent.
// Meta allows 100 creations per WABA per hour and 250 templates.
func (g *GraphClient) CreateTemplate(ctx context.Context, token, wabaID string, t MessageTemplate) (*CreatedTemplate, error) {
	err := checkID("waba_id", wabaID)
	if err == nil {
		c := &check{}
		c.text("name", t.Name, 512)
		if t.Name != "" && !isName(t.Name) {
			c.fail("name", "%q is not a template name: lowercase letters, digits and _ only", t.Name)
		}
		c.oneOf("category", t.Category, "MARKETING", "UTILITY", "AUTHENTICATION")
		c.need("language", t.Language)
		if len(t.Components) == 0 {
			c.fail("components", "is empty")
		}
		err = c.plain("template")
	}
	r := &CreatedTemplate{}
	if err == nil {
		t.ID, t.Status, t.RejectedReason, t.QualityScore = "", "", "", nil
		var body []byte
		if body, err = json.Marshal(t); err == nil {
			err = g.call(ctx, token, fasthttp.MethodPost, g.url(wabaID+"/message_templates", nil), "application/json", body, r)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot create template: %w", err)
	}
	return r, nil
}

// DeleteTemplate deletes the template name in every language (DELETE
// /{waba_id}/message_templates?name=…), or only the one with id hsmID when
// hsmID is set (&hsm_id=…).
func (g *GraphClient) DeleteTemplate(ctx context.Context, token, wabaID, name, hsmID string) error {
	err := checkID("waba_id", wabaID)
	if err == nil && !isName(name) {
		err = fmt.Errorf("template name %q is not a template name", name)
	}
	if err == nil {
		q := url.Values{"name": {name}}
		if hsmID != "" {
			if err = checkID("hsm_id", hsmID); err == nil {
				q.Set("hsm_id", hsmID)
			}
		}
		if err == nil {
			err = g.callOK(ctx, token, fasthttp.MethodDelete, g.url(wabaID+"/message_templates", q), nil)
		}
	}
	if err != nil {
		return fmt.Errorf("cannot delete template: %w", err)
	}
	return nil
}

// MaxMediaBytes caps an upload or a download: 100 MB, Meta's largest
// media (documents; inbound media).
const MaxMediaBytes = 100 << 20

// UploadMedia uploads a file for the number (POST /{phone_number_id}/media,
// multipart: messaging_product, file, type) and returns its media id,
// valid 30 days. mimeType is the file's real type ("image/jpeg",
// "audio/ogg", …).
func (g *GraphClient) UploadMedia(ctx context.Context, token, phoneNumberID, filename, mimeType string, file io.Reader) (string, error) {
	err := checkID("phone_number_id", phoneNumberID)
	if err == nil && (mimeType == "" || filename == "") {
		err = fmt.Errorf("the file needs a name and a MIME type")
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err == nil {
		err = writeMultipart(w, filename, mimeType, file)
	}
	if err == nil && buf.Len() > MaxMediaBytes+64<<10 {
		err = fmt.Errorf("the file is over %d MB", MaxMediaBytes>>20)
	}
	var r struct {
		ID string `json:"id"`
	}
	if err == nil {
		err = g.call(ctx, token, fasthttp.MethodPost, g.url(phoneNumberID+"/media", nil), w.FormDataContentType(), buf.Bytes(), &r)
	}
	if err != nil {
		return "", fmt.Errorf("cannot upload media: %w", err)
	}
	return r.ID, nil
}

func writeMultipart(w *multipart.Writer, filename, mimeType string, file io.Reader) error {
	if err := w.WriteField("messaging_product", "whatsapp"); err != nil {
		return err
	}
	if err := w.WriteField("type", mimeType); err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+esc.Replace(filename)+`"`)
	h.Set("Content-Type", mimeType)
	part, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, io.LimitReader(file, MaxMediaBytes+1)); err != nil {
		return fmt.Errorf("cannot read the file: %w", err)
	}
	return w.Close()
}

// MediaInfo is a media object: URL is where to download it, valid 5
// minutes and only with the token (see DownloadMedia).
type MediaInfo struct {
	ID               string         `json:"id"`
	MessagingProduct string         `json:"messaging_product"`
	URL              string         `json:"url"`
	MimeType         string         `json:"mime_type"`
	SHA256           string         `json:"sha256"`
	FileSize         schemas.Scalar `json:"file_size"`
}

// MediaURL returns a media object's download URL (GET /{media_id}, with
// ?phone_number_id= when phoneNumberID is set: Meta then checks the media
// belongs to that number).
func (g *GraphClient) MediaURL(ctx context.Context, token, mediaID, phoneNumberID string) (*MediaInfo, error) {
	q, err := mediaQuery(mediaID, phoneNumberID)
	m := &MediaInfo{}
	if err == nil {
		err = g.call(ctx, token, fasthttp.MethodGet, g.url(mediaID, q), "", nil, m)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot get media URL: %w", err)
	}
	return m, nil
}

// DeleteMedia deletes an uploaded media object (DELETE /{media_id}[?phone_number_id=]).
func (g *GraphClient) DeleteMedia(ctx context.Context, token, mediaID, phoneNumberID string) error {
	q, err := mediaQuery(mediaID, phoneNumberID)
	if err == nil {
		err = g.callOK(ctx, token, fasthttp.MethodDelete, g.url(mediaID, q), nil)
	}
	if err != nil {
		return fmt.Errorf("cannot delete media: %w", err)
	}
	return nil
}

func mediaQuery(mediaID, phoneNumberID string) (url.Values, error) {
	if err := checkID("media_id", mediaID); err != nil {
		return nil, err
	}
	if phoneNumberID == "" {
		return nil, nil
	}
	if err := checkID("phone_number_id", phoneNumberID); err != nil {
		return nil, err
	}
	return url.Values{"phone_number_id": {phoneNumberID}}, nil
}

// DownloadMedia writes the media at mediaURL (MediaInfo.URL) to w and
// returns its Content-Type and size. The token goes in the Authorization
// header, so mediaURL must be https (Meta's media host) or on the base
// URL's own host (a simulator): the token is not sent in clear to another
// host. A 404 means the URL expired: get a new one with MediaURL.
func (g *GraphClient) DownloadMedia(ctx context.Context, token, mediaURL string, w io.Writer) (contentType string, n int64, err error) {
	u, err := url.Parse(mediaURL)
	if err == nil && u.Scheme != "https" && u.Scheme+"://"+u.Host != g.origin {
		err = fmt.Errorf("the media URL is not https nor on %s", g.origin)
	}
	if err == nil {
		contentType, n, err = g.download(ctx, token, mediaURL, w)
	}
	if err != nil {
		return "", n, fmt.Errorf("cannot download media: %w", err)
	}
	return contentType, n, nil
}

func (g *GraphClient) download(ctx context.Context, token, mediaURL string, w io.Writer) (string, int64, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(mediaURL)
	req.Header.SetMethod(fasthttp.MethodGet)
	setToken(req, token)
	resp.StreamBody = true
	defer resp.CloseBodyStream()
	if err := g.do(ctx, req, resp); err != nil {
		return "", 0, err
	}
	var r io.Reader = resp.BodyStream()
	if r == nil {
		r = bytes.NewReader(resp.Body())
	}
	if s := resp.StatusCode(); s < 200 || s > 299 {
		data, _ := io.ReadAll(io.LimitReader(r, 1<<20))
		return "", 0, parseAPIError(s, string(resp.Header.ContentType()), data, token)
	}
	n, err := io.Copy(w, io.LimitReader(r, MaxMediaBytes+1))
	if err != nil {
		return "", n, err
	}
	if n > MaxMediaBytes {
		return "", n, fmt.Errorf("the media is over %d MB", MaxMediaBytes>>20)
	}
	return string(resp.Header.ContentType()), n, nil
}
