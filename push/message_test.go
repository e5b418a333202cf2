package push

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
		want Message
	}{
		{"view", `<xml><ToUserName><![CDATA[gh_a]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1700000000</CreateTime>
			<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://x.example/wechat/entry?next=/a&b=1]]></EventKey><MenuId>42</MenuId></xml>`,
			true, Message{ToUserName: "gh_a", FromUserName: "o1", CreateTime: 1700000000, MsgType: "event", Event: "VIEW",
				EventKey: "https://x.example/wechat/entry?next=/a&b=1", MenuID: "42"}},
		{"text keeps spaces", `<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content><![CDATA[ 你好 ]]></Content><MsgId>123</MsgId></xml>`,
			true, Message{FromUserName: "o1", CreateTime: 1, MsgType: "text", Content: " 你好 ", MsgID: "123"}},
		{"nested skipped", `<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>`,
			true, Message{FromUserName: "o1", CreateTime: 1, MsgType: "event"}},
		{"unknown type kept", `<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>hologram</MsgType></xml>`,
			true, Message{FromUserName: "o1", CreateTime: 1, MsgType: "hologram"}},
		{"empty", ``, false, Message{}},
		{"wrong root", `<msg><FromUserName>o1</FromUserName></msg>`, false, Message{}},
		{"two roots", `<xml></xml><xml></xml>`, false, Message{}},
		{"field twice", `<xml><FromUserName>o1</FromUserName><FromUserName>o2</FromUserName></xml>`, false, Message{}},
		{"unclosed", `<xml><FromUserName>o1</xml>`, false, Message{}},
		{"doctype", `<!DOCTYPE xml [<!ENTITY e "x">]><xml><FromUserName>&e;</FromUserName></xml>`, false, Message{}},
		{"bad time", `<xml><CreateTime>-1</CreateTime></xml>`, false, Message{}},
		{"long openid", `<xml><FromUserName>` + strings.Repeat("o", 200) + `</FromUserName></xml>`, false, Message{}},
		{"NUL", "<xml><FromUserName>o&#0;</FromUserName></xml>", false, Message{}},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
			continue
		}
		if tt.ok && m != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, m, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Message{FromUserName: "o1", CreateTime: 1, MsgType: "event"}
	if ok.Validate() != nil {
		t.Error("valid message refused")
	}
	for _, m := range []Message{
		{CreateTime: 1, MsgType: "event"},
		{FromUserName: "o1", MsgType: "event"},
		{FromUserName: "o1", CreateTime: 1},
		{FromUserName: "o\n1", CreateTime: 1, MsgType: "event"},
	} {
		if m.Validate() == nil {
			t.Errorf("%+v accepted", m)
		}
	}
}

func TestDedupeKey(t *testing.T) {
	a := Message{FromUserName: "o1", CreateTime: 1, MsgType: "event", Event: "VIEW", EventKey: "u1"}
	b := a
	b.EventKey = "u2"
	c := a
	c.MsgID = "5"
	d := Message{FromUserName: "o2", CreateTime: 9, MsgType: "text", MsgID: "5"}
	if a.DedupeKey() == b.DedupeKey() {
		t.Error("two taps in one second on different buttons share a key")
	}
	if c.DedupeKey() != d.DedupeKey() {
		t.Error("MsgId is not the key of a message")
	}
	if a.DedupeKey() == c.DedupeKey() {
		t.Error("an event key equals a message key")
	}
	// The separator keeps field boundaries: "o1"+"1" ≠ "o"+"11".
	e := Message{FromUserName: "o", CreateTime: 11, Event: "VIEW", EventKey: "u1"}
	if a.DedupeKey() == e.DedupeKey() {
		t.Error("field boundaries are ambiguous")
	}
}

// FuzzParse: no input panics, and whatever parses stays within the bounds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<xml><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>VIEW</Event><EventKey>x</EventKey><MenuId>1</MenuId></xml>`))
	f.Add([]byte(`<xml><ToUserName>gh</ToUserName><Encrypt>AAAA</Encrypt></xml>`))
	f.Add([]byte(`<xml><a><b><c/></b></a></xml>`))
	f.Add([]byte(`<?xml version="1.0"?><xml/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if len(m.FromUserName) > maxOpenID || len(m.EventKey) > maxEventKey || len(m.Content) > maxContent ||
			len(m.Encrypt) > maxEncrypt || len(m.MsgType) > maxType || m.CreateTime < 0 {
			t.Fatalf("out of bounds: %+v", m)
		}
		_ = m.DedupeKey()
		_ = m.Validate()
	})
}
