package runtime

import (
	"io"
	"strconv"
	"strings"

	"pivot/core"
)

// objLetters and objWords name each row type in typed and JSON output.
var (
	objLetters = map[core.RowType]byte{core.RowFrontend: 'F', core.RowBackend: 'B', core.RowServer: 'S', core.RowListener: 'L'}
	objWords   = map[core.RowType]string{core.RowFrontend: "Frontend", core.RowBackend: "Backend", core.RowServer: "Server", core.RowListener: "Listener"}
)

// writeStatTyped prints one line per set cell:
//
//	<obj>.<iid>.<sid>.<pos>.<name>.1:<tags>:<type>:<value>[:"<desc>"]
//
// Values are raw, never quoted: a reader takes everything after the
// third colon of the tags part.
func writeStatTyped(w io.Writer, objs []statObject, desc bool) {
	var b strings.Builder
	for _, o := range objs {
		prefix := string(objLetters[o.row.Type]) + "." + strconv.Itoa(o.row.ProxyID) + "." + strconv.Itoa(o.row.ID) + "."
		for i, c := range o.cells {
			if !c.set {
				continue
			}
			f := statFields[i]
			b.WriteString(prefix)
			writeTypedField(&b, i, f, statTags(i, o.row.Type), c, desc)
		}
		for i, f := range moduleFields {
			if moduleApplies(i, o.row.Type) {
				b.WriteString(prefix)
				writeTypedField(&b, numStatFields+i, f, f.tags, cellNum(moduleValue(i, o.row)), desc)
			}
		}
		io.WriteString(w, b.String())
		b.Reset()
	}
}

// writeTypedField writes "<pos>.<name>.1:<tags>:<type>:<value>", the
// description if asked, and a line feed. show info uses it too.
func writeTypedField(b *strings.Builder, pos int, f typedField, tags string, c cell, desc bool) {
	b.WriteString(strconv.Itoa(pos))
	b.WriteByte('.')
	b.WriteString(f.name)
	b.WriteString(".1:")
	b.WriteString(tags)
	b.WriteByte(':')
	b.WriteString(f.typ)
	b.WriteByte(':')
	b.WriteString(c.format(f.typ))
	if desc {
		b.WriteString(`:"`)
		b.WriteString(f.desc)
		b.WriteByte('"')
	}
	b.WriteByte('\n')
}

// writeStatJSON prints an array holding, for each row, an array of its
// set cells, on one line and without spaces. HAProxy ignores `desc` here.
func writeStatJSON(w io.Writer, objs []statObject) {
	var b strings.Builder
	b.WriteByte('[')
	for n, o := range objs {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		head := `{"objType":"` + objWords[o.row.Type] + `","proxyId":` + strconv.Itoa(o.row.ProxyID) + `,"id":` + strconv.Itoa(o.row.ID) + `,`
		first := true
		for i, c := range o.cells {
			if !c.set {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(head)
			writeJSONField(&b, i, statFields[i], statTags(i, o.row.Type), c)
			b.WriteByte('}')
		}
		for i, f := range moduleFields {
			if moduleApplies(i, o.row.Type) {
				b.WriteString("," + head)
				writeJSONField(&b, numStatFields+i, f, f.tags, cellNum(moduleValue(i, o.row)))
				b.WriteByte('}')
			}
		}
		b.WriteByte(']')
		io.WriteString(w, b.String())
		b.Reset()
	}
	b.WriteString("]\n")
	io.WriteString(w, b.String())
}

// writeJSONField writes the members of one field object that stat and
// info share, from "field" to "value", without the braces.
func writeJSONField(b *strings.Builder, pos int, f typedField, tags string, c cell) {
	b.WriteString(`"field":{"pos":`)
	b.WriteString(strconv.Itoa(pos))
	b.WriteString(`,"name":`)
	b.WriteString(jsonString(f.name))
	b.WriteString(`},"processNum":1,"tags":{"origin":"`)
	b.WriteString(tagWord(tags, 0))
	b.WriteString(`","nature":"`)
	b.WriteString(tagWord(tags, 1))
	b.WriteString(`","scope":"`)
	b.WriteString(tagWord(tags, 2))
	b.WriteString(`"},"value":{"type":"`)
	b.WriteString(f.typ)
	b.WriteString(`","value":`)
	if f.typ == "str" {
		b.WriteString(jsonString(c.str))
	} else {
		b.WriteString(c.format(f.typ))
	}
	b.WriteByte('}')
}

// jsonString quotes s for JSON: quotes, backslashes and control bytes
// are escaped, everything else (UTF-8 included) is written as is.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == '\n':
			b.WriteString(`\n`)
		case ch == '\r':
			b.WriteString(`\r`)
		case ch == '\t':
			b.WriteString(`\t`)
		case ch < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[ch>>4])
			b.WriteByte("0123456789abcdef"[ch&0xf])
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String()
}
