package sender_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"wasp/sender"
)

// s returns n characters; multi-byte ones, since limits count code points.
func s(n int) string { return strings.Repeat("é", n) }

// TestValidateLimits checks each content limit: at the limit the body is
// built, one over it is refused with an error naming the field and limit.
func TestValidateLimits(t *testing.T) {
	to := sender.Recipient{Phone: phone}
	f := func(name string, build func(n int) sender.Message, limit int, want string) {
		t.Helper()
		if _, err := sender.NewBody(to, build(limit), sender.BodyOptions{}); err != nil {
			t.Errorf("%s at the limit %d: %v", name, limit, err)
		}
		_, err := sender.NewBody(to, build(limit+1), sender.BodyOptions{})
		var ie *sender.InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, sender.ErrInvalid) || err.Error() != want {
			t.Errorf("%s over the limit: got %v; want %q", name, err, want)
		}
	}
	f("text", func(n int) sender.Message { return &sender.Text{Body: strings.Repeat("😀", n)} }, 4096,
		"cannot send: text.body has 4,097 characters; the limit is 4,096")
	f("image caption", func(n int) sender.Message { return &sender.Image{ID: "1", Caption: s(n)} }, 1024,
		"cannot send: image.caption has 1,025 characters; the limit is 1,024")
	f("video caption", func(n int) sender.Message { return &sender.Video{ID: "1", Caption: s(n)} }, 1024,
		"cannot send: video.caption has 1,025 characters; the limit is 1,024")
	f("document caption", func(n int) sender.Message { return &sender.Document{ID: "1", Caption: s(n)} }, 1024,
		"cannot send: document.caption has 1,025 characters; the limit is 1,024")

	btn := func(titles ...string) []sender.ReplyButton {
		var bs []sender.ReplyButton
		for i, t := range titles {
			bs = append(bs, sender.ReplyButton{ID: fmt.Sprint("b", i), Title: t})
		}
		return bs
	}
	f("button body", func(n int) sender.Message { return sender.NewButtons(s(n), btn("Yes")...) }, 1024,
		"cannot send: interactive.body.text has 1,025 characters; the limit is 1,024")
	f("header text", func(n int) sender.Message {
		return sender.NewButtons("b", btn("Yes")...).WithHeader(sender.TextHeader(s(n)))
	}, 60,
		"cannot send: interactive.header.text has 61 characters; the limit is 60")
	f("footer", func(n int) sender.Message { return sender.NewButtons("b", btn("Yes")...).WithFooter(s(n)) }, 60,
		"cannot send: interactive.footer.text has 61 characters; the limit is 60")
	f("buttons", func(n int) sender.Message {
		return sender.NewButtons("b", btn(strings.Split("a b c d e", " ")[:n]...)...)
	}, 3, "cannot send: interactive.action.buttons has 4 buttons; the limit is 3")
	f("button title", func(n int) sender.Message { return sender.NewButtons("b", btn(s(n))...) }, 20,
		"cannot send: interactive.action.buttons[0].reply.title has 21 characters; the limit is 20")
	f("button id", func(n int) sender.Message {
		return sender.NewButtons("b", sender.ReplyButton{ID: s(n), Title: "Yes"})
	}, 256, "cannot send: interactive.action.buttons[0].reply.id has 257 characters; the limit is 256")

	rows := func(n int) []sender.Row {
		var rs []sender.Row
		for i := range n {
			rs = append(rs, sender.Row{ID: fmt.Sprint("r", i), Title: "Row"})
		}
		return rs
	}
	list := func(body string, sections ...sender.Section) *sender.Interactive {
		return sender.NewList(body, "Options", sections...)
	}
	f("list body", func(n int) sender.Message { return list(s(n), sender.Section{Rows: rows(1)}) }, 4096,
		"cannot send: interactive.body.text has 4,097 characters; the limit is 4,096")
	f("list button", func(n int) sender.Message {
		return sender.NewList("b", s(n), sender.Section{Rows: rows(1)})
	}, 20, "cannot send: interactive.action.button has 21 characters; the limit is 20")
	f("list rows", func(n int) sender.Message { return list("b", sender.Section{Rows: rows(n)}) }, 10,
		"cannot send: interactive.action.sections have 11 rows in all; the limit is 10")
	f("list sections", func(n int) sender.Message {
		var ss []sender.Section
		for i := range n {
			ss = append(ss, sender.Section{Title: fmt.Sprint("S", i), Rows: []sender.Row{{ID: fmt.Sprint("r", i), Title: "Row"}}})
		}
		return list("b", ss...)
	}, 10, "cannot send: interactive.action.sections has 11 sections; the limit is 10")
	f("section title", func(n int) sender.Message { return list("b", sender.Section{Title: s(n), Rows: rows(1)}) }, 24,
		"cannot send: interactive.action.sections[0].title has 25 characters; the limit is 24")
	f("row title", func(n int) sender.Message {
		return list("b", sender.Section{Rows: []sender.Row{{ID: "r", Title: s(n)}}})
	}, 24, "cannot send: interactive.action.sections[0].rows[0].title has 25 characters; the limit is 24")
	f("row description", func(n int) sender.Message {
		return list("b", sender.Section{Rows: []sender.Row{{ID: "r", Title: "t", Description: s(n)}}})
	}, 72, "cannot send: interactive.action.sections[0].rows[0].description has 73 characters; the limit is 72")
	f("row id", func(n int) sender.Message {
		return list("b", sender.Section{Rows: []sender.Row{{ID: s(n), Title: "t"}}})
	}, 200, "cannot send: interactive.action.sections[0].rows[0].id has 201 characters; the limit is 200")
	f("cta display text", func(n int) sender.Message { return sender.NewCTAURL("b", s(n), "https://example.com") }, 20,
		"cannot send: interactive.action.parameters.display_text has 21 characters; the limit is 20")
	f("cta body", func(n int) sender.Message { return sender.NewCTAURL(s(n), "Go", "https://example.com") }, 1024,
		"cannot send: interactive.body.text has 1,025 characters; the limit is 1,024")
	f("flow cta", func(n int) sender.Message {
		return sender.NewFlow("b", sender.ActionParameters{FlowID: "1", FlowCTA: s(n)})
	}, 30, "cannot send: interactive.action.parameters.flow_cta has 31 characters; the limit is 30")
	f("location request body", func(n int) sender.Message { return sender.NewLocationRequest(s(n)) }, 1024,
		"cannot send: interactive.body.text has 1,025 characters; the limit is 1,024")
	f("template name", func(n int) sender.Message {
		return &sender.Template{Name: strings.Repeat("a", n), Language: sender.TemplateLanguage{Code: "en"}}
	}, 512, "cannot send: template.name has 513 characters; the limit is 512")
}

// TestValidateRules checks the rules that are not lengths.
func TestValidateRules(t *testing.T) {
	to := sender.Recipient{Phone: phone}
	f := func(m sender.Message, want string) {
		t.Helper()
		_, err := sender.NewBody(to, m, sender.BodyOptions{})
		if err == nil || err.Error() != want {
			t.Errorf("%T: got %v; want %q", m, err, want)
		}
	}
	f(&sender.Text{}, "cannot send: text.body is missing")
	f(&sender.Image{}, "cannot send: image needs an id or a link")
	f(&sender.Image{ID: "1", Link: "https://x.example/a.png"}, "cannot send: image has both an id and a link; give one")
	f(&sender.Audio{Link: "ftp://x.example/a.ogg"}, "cannot send: audio.link is not an http(s) URL")
	f(&sender.Sticker{}, "cannot send: sticker needs an id or a link")
	f(&sender.Reaction{}, "cannot send: reaction.message_id is missing")
	f(&sender.Location{Latitude: 91}, "cannot send: location.latitude is 91; want -90 to 90")
	f(&sender.Location{Longitude: -181}, "cannot send: location.longitude is -181; want -180 to 180")
	f(sender.Contacts{}, "cannot send: contacts is empty")
	f(sender.Contacts{{Name: sender.ContactName{FirstName: "Ana"}}}, "cannot send: contacts[0].name.formatted_name is missing")
	f(sender.Contacts{{Name: sender.ContactName{FormattedName: "Ana"}}},
		"cannot send: contacts[0].name needs first_name, last_name, middle_name, suffix or prefix besides formatted_name")
	f(sender.Contacts{{Name: sender.ContactName{FormattedName: "Ana", FirstName: "Ana"}, Birthday: "23/01/1999"}},
		`cannot send: contacts[0].birthday is "23/01/1999"; want YYYY-MM-DD`)
	f(sender.NewButtons("b", sender.ReplyButton{ID: "1", Title: "Yes"}, sender.ReplyButton{ID: "2", Title: "Yes"}),
		`cannot send: interactive.action.buttons[1].reply.title "Yes" is used twice; button titles must be unique`)
	f(sender.NewButtons("b"), "cannot send: interactive.action.buttons is empty")
	f(sender.NewButtons("", sender.ReplyButton{ID: "1", Title: "Yes"}), "cannot send: interactive.body.text is missing")
	f(sender.NewButtons("b", sender.ReplyButton{ID: "1", Title: "Yes"}).WithHeader(sender.ImageHeader(sender.Image{})),
		"cannot send: interactive.header.image needs an id or a link")
	f(sender.NewList("b", "Go", sender.Section{Rows: []sender.Row{{ID: "1", Title: "a"}}}).WithHeader(sender.ImageHeader(sender.Image{ID: "1"})),
		`cannot send: interactive.header.type is "image"; a list message takes a text header only`)
	f(sender.NewList("b", "Go", sender.Section{Title: "A", Rows: []sender.Row{{ID: "1", Title: "a"}}}, sender.Section{Rows: []sender.Row{{ID: "2", Title: "b"}}}),
		"cannot send: interactive.action.sections[1].title is missing")
	f(sender.NewList("b", "Go", sender.Section{Rows: []sender.Row{{ID: "1", Title: "a"}, {ID: "1", Title: "b"}}}),
		`cannot send: interactive.action.sections[0].rows[1].id "1" is used twice; row ids must be unique`)
	f(sender.NewCTAURL("b", "Go", "www.example.com"), "cannot send: interactive.action.parameters.url is not an http(s) URL")
	f(sender.NewFlow("b", sender.ActionParameters{FlowCTA: "Go"}), "cannot send: interactive.action.parameters.flow_id or flow_name is needed, and only one of them")
	f(sender.NewFlow("b", sender.ActionParameters{FlowID: "1", FlowName: "x", FlowCTA: "Go"}), "cannot send: interactive.action.parameters.flow_id or flow_name is needed, and only one of them")
	f(sender.NewFlow("b", sender.ActionParameters{FlowID: "1"}), "cannot send: interactive.action.parameters.flow_cta is missing")
	f(sender.NewFlow("b", sender.ActionParameters{FlowID: "1", FlowCTA: "Go", Mode: "live"}),
		`cannot send: interactive.action.parameters.mode is "live"; want one of published, draft`)
	f(&sender.Interactive{Type: "product_list", Body: &sender.TextBlock{Text: "b"}},
		`cannot send: interactive.type is "product_list"; wasp sends button, list, cta_url, flow and location_request_message`)

	tpl := func(name string, comps ...sender.TemplateComponent) *sender.Template {
		return &sender.Template{Name: name, Language: sender.TemplateLanguage{Code: "en_US"}, Components: comps}
	}
	f(tpl("Order Update"), `cannot send: template.name "Order Update" is not a template name: lowercase letters, digits and _ only`)
	f(&sender.Template{Name: "a"}, "cannot send: template.language.code is missing")
	f(tpl("a", sender.BodyParams(sender.NamedTextParam("name", "Ana"), sender.TextParam("x"))),
		"cannot send: template.components[0].parameters mix named and positional parameters; a template uses one kind")
	f(tpl("a", sender.BodyParams(sender.NamedTextParam("First Name", "Ana"))),
		`cannot send: template.components[0].parameters[0].parameter_name "First Name" is not a parameter name: lowercase letters, digits and _ only`)
	f(tpl("a", sender.BodyParams(sender.CurrencyParam("$1", "usd", 1000))),
		`cannot send: template.components[0].parameters[0].currency.code is "usd"; want an ISO 4217 code such as USD`)
	f(tpl("a", sender.HeaderParams(sender.ImageParam(sender.Image{}))), "cannot send: template.components[0].parameters[0].image needs an id or a link")
	f(tpl("a", sender.ButtonParams("quick_reply", 10, sender.PayloadParam("p"))),
		`cannot send: template.components[0].index is "10"; want the button's position, 0 to 9`)
	f(tpl("a", sender.ButtonParams("", 0, sender.PayloadParam("p"))), "cannot send: template.components[0].sub_type is missing")
	f(tpl("a", sender.ButtonParams("quick_reply", 0, sender.PayloadParam(""))), "cannot send: template.components[0].parameters[0].payload is missing")
	f(tpl("a", sender.BodyParams(sender.Parameter{Type: "currency"})), "cannot send: template.components[0].parameters[0].currency is missing")
	f(tpl("a", sender.BodyParams(sender.Parameter{Type: "emoji"})), `cannot send: template.components[0].parameters[0].type is "emoji", not a template parameter type`)
	f(tpl("a", sender.TemplateComponent{Type: "footer"}), `cannot send: template.components[0].type is "footer"; want header, body, button, carousel or limited_time_offer`)

	if _, err := sender.NewBody(to, &sender.Text{Body: "hi"}, sender.BodyOptions{CallbackData: s(513)}); err == nil ||
		err.Error() != "cannot send: biz_opaque_callback_data has 513 characters; the limit is 512" {
		t.Errorf("long callback data: got %v", err)
	}
}

// TestValidateBody checks raw bodies, as commands carry them.
func TestValidateBody(t *testing.T) {
	f := func(body, want string) {
		t.Helper()
		err := sender.ValidateBody([]byte(body))
		switch {
		case want == "" && err != nil:
			t.Errorf("ValidateBody(%s): %v", body, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, sender.ErrInvalid)):
			t.Errorf("ValidateBody(%s): got %v; want an ErrInvalid containing %q", body, err, want)
		}
	}
	// A command body has no recipient yet.
	f(`{"type":"text","text":{"body":"hi"}}`, "")
	f(`{"type":"location","location":{"latitude":"37.44","longitude":"-122.16"}}`, "")
	f(`{"type":"template","template":{"name":"a","language":{"code":"en"},"components":[{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"coupon_code","coupon_code":"X"}]}]}}`, "")
	f(`{"recipient_type":"group","to":"120363025246125244@g.us","type":"text","text":{"body":"hi"}}`, "")
	f(`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.A","typing_indicator":{"type":"text"}}`, "")

	f(`not json`, "body is not a message body")
	f(`{"type":"text","text":{"body":7}}`, "body is not a message body")
	f(`{"messaging_product":"sms","type":"text","text":{"body":"hi"}}`, `messaging_product is "sms"`)
	f(`{"to":"16505551234","type":"text","text":{"body":"hi"}}`, `to has no leading "+"`)
	f(`{"to":"+1650","type":"text","text":{"body":"hi"}}`, "to has 4 digits")
	f(`{"recipient_type":"broadcast","type":"text","text":{"body":"hi"}}`, `recipient_type is "broadcast"`)
	f(`{"text":{"body":"hi"}}`, "type is missing")
	f(`{"type":"order_details","order_details":{}}`, `type is "order_details", a type wasp does not send`)
	f(`{"type":"image","text":{"body":"hi"}}`, `image is missing: the body's type is "image"`)
	f(`{"type":"text","text":{"body":"hi"},"image":{"id":"1"}}`, "the body holds 2 message objects")
	f(`{"type":"text","context":{},"text":{"body":"hi"}}`, "context.message_id is missing")
	f(`{"status":"read"}`, "message_id is missing")
	f(`{"status":"delivered","message_id":"wamid.A"}`, `status is "delivered"`)
	f(`{"status":"read","message_id":"wamid.A","typing_indicator":{"type":"audio"}}`, `typing_indicator.type is "audio"`)
	f(`{"type":"interactive","interactive":{"type":"button","body":{"text":"b"},"action":{"buttons":[{"type":"url","reply":{"id":"1","title":"a"}}]}}}`, "body is not a message body")
	f(`{"type":"template","template":{"name":"a","language":{"code":"en"},"components":[{"type":"button","sub_type":"url","index":"x"}]}}`, `index is "x"`)
	f(`{"type":"text","text":{"body":"`+strings.Repeat("ü", 4097)+`"}}`, "text.body has 4,097 characters; the limit is 4,096")
}
