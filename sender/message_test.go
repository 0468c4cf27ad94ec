package sender_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasp/sender"
)

const (
	phone = "+16505551234"
	wamid = "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
)

// bodyCases builds one body per golden file in testdata/bodies, named as
// the file.
var bodyCases = map[string]func() ([]byte, error){
	"text": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Text{PreviewURL: true,
			Body: "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/"}, sender.BodyOptions{})
	},
	"text_reply": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: "5511987654321"}, &sender.Text{Body: "Yes — your order ships today."},
			sender.BodyOptions{ReplyTo: wamid, CallbackData: "wasp1:cmd_0123456789abcdef01234567"})
	},
	"image": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Image{ID: "1479537139650973", Caption: "The best succulent ever?"}, sender.BodyOptions{})
	},
	"image_link": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Image{Link: "https://www.luckyshrub.com/assets/succulents/aloe.png?v=2&size=large"}, sender.BodyOptions{})
	},
	"video": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Video{Link: "https://www.luckyshrub.com/media/ringing-in-the-new-year.mp4", Caption: "A succulent eclipse!"}, sender.BodyOptions{})
	},
	"audio": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Audio{ID: "1013859600285441", Voice: true}, sender.BodyOptions{})
	},
	"document": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Document{ID: "1376223850470843", Caption: "Lucky Shrub Invoice", Filename: "lucky-shrub-invoice.pdf"}, sender.BodyOptions{})
	},
	"sticker": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Sticker{ID: "798882015472548"}, sender.BodyOptions{})
	},
	"reaction": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Reaction{MessageID: wamid, Emoji: "😀"}, sender.BodyOptions{})
	},
	"reaction_remove": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Reaction{MessageID: wamid}, sender.BodyOptions{})
	},
	"location": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, &sender.Location{Latitude: 37.44216251868683, Longitude: -122.16153582049394,
			Name: "Philz Coffee", Address: "101 Forest Ave, Palo Alto, CA 94301"}, sender.BodyOptions{})
	},
	"contacts": func() ([]byte, error) {
		return sender.NewBody(sender.Recipient{Phone: phone}, sender.Contacts{{
			Name: sender.ContactName{FormattedName: "Dr. Barbara J. Johnson, PhD", FirstName: "Barbara", LastName: "Johnson",
				MiddleName: "Joana", Suffix: "PhD", Prefix: "Dr."},
			Phones:    []sender.ContactPhone{{Phone: "+16505559999", Type: "HOME"}, {Phone: "+19175559999", Type: "WORK", WaID: "19175559999"}},
			Emails:    []sender.ContactEmail{{Email: "bjohnson@luckyshrub.com", Type: "WORK"}},
			URLs:      []sender.ContactURL{{URL: "https://www.luckyshrub.com", Type: "WORK"}},
			Addresses: []sender.ContactAddress{{Street: "1 Lucky Shrub Way", City: "Menlo Park", State: "CA", Zip: "94025", Country: "United States", CountryCode: "US", Type: "WORK"}},
			Org:       &sender.ContactOrg{Company: "Lucky Shrub", Department: "Legal", Title: "Lead Counsel"},
			Birthday:  "1999-01-23",
		}}, sender.BodyOptions{})
	},
	"interactive_button": func() ([]byte, error) {
		m := sender.NewButtons("Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you need to reschedule. Thank you!",
			sender.ReplyButton{ID: "change-button", Title: "Change"}, sender.ReplyButton{ID: "cancel-button", Title: "Cancel"}).
			WithHeader(sender.ImageHeader(sender.Image{ID: "2762702990552401"})).
			WithFooter("Lucky Shrub: Your gateway to succulents!™")
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"interactive_list": func() ([]byte, error) {
		m := sender.NewList("Which shipping option do you prefer?", "Shipping Options",
			sender.Section{Title: "I want it ASAP!", Rows: []sender.Row{
				{ID: "priority_express", Title: "Priority Mail Express", Description: "Next Day to 2 Days"},
				{ID: "priority_mail", Title: "Priority Mail", Description: "1–3 Days"}}},
			sender.Section{Title: "I can wait a bit", Rows: []sender.Row{
				{ID: "usps_ground_advantage", Title: "USPS Ground Advantage", Description: "2–5 Days"},
				{ID: "media_mail", Title: "Media Mail", Description: "2–8 Days"}}}).
			WithHeader(sender.TextHeader("Choose Shipping Option")).
			WithFooter("Lucky Shrub: Your gateway to succulents™")
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"interactive_cta_url": func() ([]byte, error) {
		m := sender.NewCTAURL("Tap the button below to see available dates.", "See Dates",
			"https://www.luckyshrub.com?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4").
			WithHeader(sender.ImageHeader(sender.Image{Link: "https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png"})).
			WithFooter("Dates subject to change.")
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"interactive_flow": func() ([]byte, error) {
		m := sender.NewFlow("Pick a time that suits you.", sender.ActionParameters{
			FlowToken: "AQAAAAACS5FpgQ_cAAAAAD0QI3s.", FlowID: "1234567890123456", FlowCTA: "Book!",
			Mode: "published", FlowAction: "navigate",
			FlowActionPayload: &sender.FlowActionPayload{Screen: "APPOINTMENT",
				Data: json.RawMessage(`{"product_name":"name","product_quantity":100}`)},
		}).WithHeader(sender.TextHeader("Book an appointment")).WithFooter("Lucky Shrub")
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"interactive_location_request": func() ([]byte, error) {
		m := sender.NewLocationRequest("Let's start with your pickup. You can either manually *enter an address* or *share your current location*.")
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"template": func() ([]byte, error) {
		m := &sender.Template{Name: "order_update", Language: sender.TemplateLanguage{Code: "en_US", Policy: "deterministic"},
			Components: []sender.TemplateComponent{
				sender.HeaderParams(sender.ImageParam(sender.Image{Link: "https://www.luckyshrub.com/assets/order.png"})),
				sender.BodyParams(sender.TextParam("Pablo"), sender.CurrencyParam("$100.99", "USD", 100990), sender.DateTimeParam("February 25, 1977")),
				sender.ButtonParams("quick_reply", 0, sender.PayloadParam("track-order-8891")),
				sender.ButtonParams("url", 1, sender.TextParam("orders/8891")),
				sender.ButtonParams("copy_code", 2, sender.CouponParam("SHRUB25")),
				sender.ButtonParams("flow", 3, sender.ActionParam(sender.TemplateAction{FlowToken: "FLOW-TOKEN-1", FlowActionData: json.RawMessage(`{"order_id":"8891"}`)})),
			}}
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"template_named": func() ([]byte, error) {
		m := &sender.Template{Name: "pickup_ready", Language: sender.TemplateLanguage{Code: "es_MX"},
			Components: []sender.TemplateComponent{
				sender.HeaderParams(sender.LocationParam(sender.Location{Latitude: 19.4326, Longitude: -99.1332, Name: "Tienda Centro", Address: "Av. Juárez 10, CDMX"})),
				sender.BodyParams(sender.NamedTextParam("first_name", "Ana"), sender.NamedTextParam("order_id", "A-1029")),
			}}
		return sender.NewBody(sender.Recipient{BSUID: "US.13491208655302741918"}, m,
			sender.BodyOptions{CallbackData: "wasp1:cmd_0123456789abcdef01234567:" + wamid})
	},
	"template_media": func() ([]byte, error) {
		m := &sender.Template{Name: "invoice_ready", Language: sender.TemplateLanguage{Code: "en_US"},
			Components: []sender.TemplateComponent{
				sender.HeaderParams(sender.DocumentParam(sender.Document{ID: "1376223850470843", Filename: "invoice-8891.pdf"})),
				sender.ButtonParams("catalog", 0, sender.ActionParam(sender.TemplateAction{ThumbnailProductRetailerID: "2lc20305pt"})),
			}}
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"template_video_offer": func() ([]byte, error) {
		m := &sender.Template{Name: "spring_sale", Language: sender.TemplateLanguage{Code: "en_US"},
			Components: []sender.TemplateComponent{
				sender.HeaderParams(sender.VideoParam(sender.Video{ID: "1166846181421424"})),
				{Type: "limited_time_offer", Parameters: []sender.Parameter{{Type: "limited_time_offer",
					LimitedTimeOffer: &sender.LimitedTimeOffer{ExpirationTimeMs: 1209600000}}}},
			}}
		return sender.NewBody(sender.Recipient{Phone: phone}, m, sender.BodyOptions{})
	},
	"mark_read": func() ([]byte, error) { return sender.MarkRead(wamid, false), nil },
	"mark_read_typing": func() ([]byte, error) {
		return sender.MarkRead(wamid, true), nil
	},
}

// canonical re-encodes JSON with sorted keys and indentation.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("cannot decode %s: %v", data, err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestBodyGolden builds each message type and compares the body with its
// golden file, Meta's shape, then checks it passes ValidateBody.
func TestBodyGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bodies/*.json")
	if err != nil || len(files) < len(bodyCases) {
		t.Fatalf("got %d golden bodies (err %v); want %d", len(files), err, len(bodyCases))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			build, ok := bodyCases[name]
			if !ok {
				t.Fatalf("no builder for %s", path)
			}
			got, err := build()
			if err != nil {
				t.Fatalf("cannot build: %v", err)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := canonical(t, got), canonical(t, want); g != w {
				t.Errorf("got body:\n%s\nwant (%s):\n%s", g, path, w)
			}
			if err := sender.ValidateBody(got); err != nil {
				t.Errorf("ValidateBody(built body): %v", err)
			}
			if err := sender.ValidateBody(want); err != nil {
				t.Errorf("ValidateBody(%s): %v", path, err)
			}
		})
	}
}

func TestBodyRecipient(t *testing.T) {
	f := func(to sender.Recipient, want string) {
		t.Helper()
		b, err := sender.NewBody(to, &sender.Text{Body: "hi"}, sender.BodyOptions{})
		if err != nil {
			t.Fatalf("NewBody(%+v): %v", to, err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("NewBody(%+v): got %s; want it to hold %s", to, b, want)
		}
	}
	f(sender.Recipient{Phone: "16505551234"}, `"to":"+16505551234"`)
	f(sender.Recipient{Phone: "+1 (650) 555-1234"}, `"to":"+1 (650) 555-1234"`)
	f(sender.Recipient{Phone: "16505551234", BSUID: "US.1"}, `"to":"+16505551234"`)
	f(sender.Recipient{BSUID: "US.13491208655302741918"}, `"recipient":"US.13491208655302741918"`)

	if _, err := sender.NewBody(sender.Recipient{}, &sender.Text{Body: "hi"}, sender.BodyOptions{}); err == nil || !strings.Contains(err.Error(), "cannot send: to is missing") {
		t.Errorf("no recipient: got %v; want \"cannot send: to is missing…\"", err)
	}
	if _, err := sender.NewBody(sender.Recipient{Phone: "+1 650 CALL-NOW"}, &sender.Text{Body: "hi"}, sender.BodyOptions{}); !errors.Is(err, sender.ErrInvalid) {
		t.Errorf("letters in the phone: got %v; want ErrInvalid", err)
	}
}

func TestBodyComplete(t *testing.T) {
	msg := []byte(`{"type":"text","text":{"body":"hi"},"recipient_identity_key_hash":"abc","to":"+19999999999"}`)
	got, err := sender.CompleteBody(msg, sender.Recipient{Phone: "16505551234"}, sender.BodyOptions{ReplyTo: wamid, CallbackData: "wasp1:cmd_1"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"biz_opaque_callback_data":"wasp1:cmd_1","context":{"message_id":"` + wamid + `"},"messaging_product":"whatsapp",` +
		`"recipient_identity_key_hash":"abc","recipient_type":"individual","text":{"body":"hi"},"to":"+16505551234","type":"text"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	got, err = sender.CompleteBody([]byte(`{"status":"read","message_id":"`+wamid+`"}`), sender.Recipient{Phone: phone}, sender.BodyOptions{CallbackData: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"message_id":"` + wamid + `","messaging_product":"whatsapp","status":"read"}`; string(got) != want {
		t.Errorf("mark as read: got %s; want %s", got, want)
	}

	f := func(msg string, to sender.Recipient, wantErr string) {
		t.Helper()
		_, err := sender.CompleteBody([]byte(msg), to, sender.BodyOptions{})
		if err == nil || !strings.Contains(err.Error(), wantErr) || !errors.Is(err, sender.ErrInvalid) {
			t.Errorf("CompleteBody(%s): got %v; want an ErrInvalid containing %q", msg, err, wantErr)
		}
	}
	f(`[1]`, sender.Recipient{Phone: phone}, "body is not a JSON object")
	f(`{"type":"text","text":{"body":"hi"}}`, sender.Recipient{}, "to is missing")
	f(`{"type":"text","text":{"body":""}}`, sender.Recipient{BSUID: "US.1"}, "text.body is missing")
}

func TestMessageTypes(t *testing.T) {
	for _, c := range []struct {
		m    sender.Message
		want string
	}{
		{&sender.Text{}, "text"}, {&sender.Image{}, "image"}, {&sender.Video{}, "video"}, {&sender.Audio{}, "audio"},
		{&sender.Document{}, "document"}, {&sender.Sticker{}, "sticker"}, {&sender.Reaction{}, "reaction"},
		{&sender.Location{}, "location"}, {sender.Contacts{}, "contacts"}, {&sender.Interactive{}, "interactive"},
		{&sender.Template{}, "template"},
	} {
		if got := c.m.MessageType(); got != c.want {
			t.Errorf("%T: got type %q; want %q", c.m, got, c.want)
		}
	}
}
