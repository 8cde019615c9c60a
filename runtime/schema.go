package runtime

import (
	"io"
	"strconv"
	"strings"
)

// The JSON Schema (draft-04) of `show info json` and `show stat json`, as
// `show schema json` prints it. It is built from ordered values rather
// than a map so the keys come out in HAProxy 2.6.12's order; the checks
// in schema_test.go pin the bytes.

// jsonObject is a JSON object whose members keep their order.
type jsonObject []jsonMember

type jsonMember struct {
	key string
	val any // jsonObject, []any, string, int64
}

// spacedTail is an array of strings whose last element HAProxy 2.6.12
// writes after ", " instead of ",": its nature enum reads
// `"Avg", "Unknown"`. A tool comparing the schema byte for byte sees the
// space, so pivot writes it too.
type spacedTail []string

func schemaRef(to string) jsonObject { return jsonObject{{"$ref", "#/definitions/" + to}} }

func strEnum(words ...string) jsonObject {
	return jsonObject{{"type", "string"}, {"enum", words}}
}

func intRange(lo, hi int64) jsonObject {
	return jsonObject{{"type", "integer"}, {"minimum", lo}, {"maximum", hi}}
}

// typedValueDef describes {"type":"<typ>","value":<value>}.
func typedValueDef(typ string, value jsonObject) jsonObject {
	return jsonObject{
		{"properties", jsonObject{{"type", strEnum(typ)}, {"value", value}}},
		{"required", []string{"type", "value"}},
	}
}

// statSchema is the whole document.
func statSchema() jsonObject {
	const maxSafeInt = 1<<53 - 1 // the largest integer a JSON double keeps exact
	item := func(props jsonObject, required ...string) jsonObject {
		return jsonObject{
			{"title", "InfoItem"}, // sic: HAProxy titles the Stat items InfoItem too
			{"type", "object"},
			{"properties", props},
			{"required", required},
		}
	}
	info := jsonObject{
		{"title", "Info"},
		{"type", "array"},
		{"items", item(jsonObject{
			{"field", schemaRef("field")},
			{"processNum", schemaRef("processNum")},
			{"tags", schemaRef("tags")},
			{"value", schemaRef("typedValue")},
		}, "field", "processNum", "tags", "value")},
	}
	stat := jsonObject{
		{"title", "Stat"},
		{"type", "array"},
		{"items", item(jsonObject{
			{"objType", jsonObject{{"enum", []string{"Frontend", "Backend", "Listener", "Server", "Unknown"}}}},
			{"proxyId", jsonObject{{"type", "integer"}, {"minimum", int64(0)}}},
			{"id", jsonObject{{"type", "integer"}, {"minimum", int64(0)}}},
			{"field", schemaRef("field")},
			{"processNum", schemaRef("processNum")},
			{"tags", schemaRef("tags")},
			{"typedValue", schemaRef("typedValue")}, // sic: the items carry "value"
		}, "objType", "proxyId", "id", "field", "processNum", "tags", "value")},
	}
	errObj := jsonObject{
		{"title", "Error"},
		{"type", "object"},
		{"properties", jsonObject{{"errorStr", jsonObject{{"type", "string"}}}}},
		{"required", []string{"errorStr"}},
	}
	tv := "#/definitions/typedValue/definitions/"
	defs := jsonObject{
		{"field", jsonObject{
			{"type", "object"},
			{"pos", jsonObject{{"type", "integer"}, {"minimum", int64(0)}}},
			{"name", jsonObject{{"type", "string"}}},
			{"required", []string{"pos", "name"}},
		}},
		{"processNum", jsonObject{{"type", "integer"}, {"minimum", int64(1)}}},
		{"tags", jsonObject{
			{"type", "object"},
			{"origin", strEnum("Metric", "Status", "Key", "Config", "Product", "Unknown")},
			{"nature", jsonObject{{"type", "string"}, {"enum", spacedTail{
				"Gauge", "Limit", "Min", "Max", "Rate", "Counter", "Duration",
				"Age", "Time", "Name", "Output", "Avg", "Unknown"}}}},
			{"scope", strEnum("Cluster", "Process", "Service", "System", "Unknown")},
			{"required", []string{"origin", "nature", "scope"}},
		}},
		{"typedValue", jsonObject{
			{"type", "object"},
			{"oneOf", []any{
				jsonObject{{"$ref", tv + "s32Value"}},
				jsonObject{{"$ref", tv + "s64Value"}},
				jsonObject{{"$ref", tv + "u32Value"}},
				jsonObject{{"$ref", tv + "u64Value"}},
				jsonObject{{"$ref", tv + "strValue"}},
			}},
			{"definitions", jsonObject{
				{"s32Value", typedValueDef("s32", intRange(-1<<31, 1<<31-1))},
				{"s64Value", typedValueDef("s64", intRange(-maxSafeInt, maxSafeInt))},
				{"u32Value", typedValueDef("u32", intRange(0, 1<<32-1))},
				{"u64Value", typedValueDef("u64", intRange(0, maxSafeInt))},
				{"strValue", typedValueDef("str", jsonObject{{"type", "string"}})},
				{"unknownValue", jsonObject{
					{"properties", jsonObject{
						{"type", jsonObject{{"type", "integer"}, {"minimum", int64(0)}}},
						{"value", strEnum("unknown")},
					}},
					{"required", []string{"type", "value"}},
				}},
			}},
		}},
	}
	return jsonObject{
		{"$schema", "http://json-schema.org/draft-04/schema#"},
		{"oneOf", []any{info, stat, errObj}},
		{"definitions", defs},
	}
}

// schemaText is the schema on one line, built once.
var schemaText = func() string {
	var b strings.Builder
	writeJSONValue(&b, statSchema())
	b.WriteByte('\n')
	return b.String()
}()

// writeSchemaJSON prints `show schema json`.
func writeSchemaJSON(w io.Writer) { io.WriteString(w, schemaText) }

func writeJSONValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case jsonObject:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(m.key))
			b.WriteByte(':')
			writeJSONValue(b, m.val)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(s))
		}
		b.WriteByte(']')
	case spacedTail:
		b.WriteByte('[')
		for i, s := range v {
			switch {
			case i == len(v)-1 && i > 0:
				b.WriteString(", ")
			case i > 0:
				b.WriteByte(',')
			}
			b.WriteString(jsonString(s))
		}
		b.WriteByte(']')
	case string:
		b.WriteString(jsonString(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	default:
		panic("schema: unexpected JSON value type") // a broken table, caught by the tests
	}
}
