package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// column is one column of a table (or one row of a detail view): Header
// over the value at Key, a dotted path into the object's JSON.
type column struct {
	Header string
	Key    string
	// JSON renders the value as compact JSON rather than a cell.
	JSON bool
}

// render is the cell of the column in obj.
func (c column) render(obj map[string]any) string {
	v := lookup(obj, c.Key)
	if c.JSON && v != nil {
		raw, err := json.Marshal(v)
		if err == nil {
			return oneLine(string(raw))
		}
	}
	return cell(v)
}

// cols builds columns from "HEADER=key" pairs; a bare "key" is its own
// header, upper-cased; "HEADER=key:json" shows the value as JSON.
func cols(specs ...string) []column {
	out := make([]column, 0, len(specs))
	for _, s := range specs {
		h, k, ok := strings.Cut(s, "=")
		if !ok {
			k, h = s, strings.ToUpper(strings.ReplaceAll(s, "_", " "))
		}
		k, asJSON := strings.CutSuffix(k, ":json")
		out = append(out, column{Header: h, Key: k, JSON: asJSON})
	}
	return out
}

// addJSONFlag adds --json, which prints the API's JSON instead of a table.
func addJSONFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("json", false, "print the API's JSON (indented) instead of a table")
}

// wantJSON reports whether cmd's --json is set.
func wantJSON(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

// printJSON writes raw JSON indented by two spaces, with a final newline.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("the server's answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// printJSONList writes items as one indented JSON array.
func printJSONList(w io.Writer, items []json.RawMessage) error {
	if items == nil {
		items = []json.RawMessage{}
	}
	raw, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return printJSON(w, raw)
}

// printTable writes items as a table: one header line, one line per item,
// columns aligned with tabwriter.
func printTable(w io.Writer, items []json.RawMessage, columns []column) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hs := make([]string, len(columns))
	for i, c := range columns {
		hs[i] = c.Header
	}
	fmt.Fprintln(tw, strings.Join(hs, "\t"))
	for _, raw := range items {
		obj, err := decodeObject(raw)
		if err != nil {
			return err
		}
		vs := make([]string, len(columns))
		for i, c := range columns {
			vs[i] = clip(c.render(obj))
		}
		fmt.Fprintln(tw, strings.Join(vs, "\t"))
	}
	return tw.Flush()
}

// printDetail writes one object as "HEADER  value" lines, in the order of
// columns.
func printDetail(w io.Writer, raw []byte, columns []column) error {
	obj, err := decodeObject(raw)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range columns {
		fmt.Fprintf(tw, "%s\t%s\n", c.Header, c.render(obj))
	}
	return tw.Flush()
}

// show prints one object: its JSON with --json, else the detail view.
func show(cmd *cobra.Command, raw []byte, columns []column) error {
	if wantJSON(cmd) {
		return printJSON(cmd.OutOrStdout(), raw)
	}
	return printDetail(cmd.OutOrStdout(), raw, columns)
}

// showList prints a list: a JSON array with --json, else a table.
func showList(cmd *cobra.Command, items []json.RawMessage, columns []column) error {
	if wantJSON(cmd) {
		return printJSONList(cmd.OutOrStdout(), items)
	}
	return printTable(cmd.OutOrStdout(), items, columns)
}

func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, fmt.Errorf("the server's answer is not a JSON object: %w", err)
	}
	return obj, nil
}

// lookup follows a dotted path into a decoded JSON object; nil when a step
// is missing.
func lookup(obj map[string]any, key string) any {
	var v any = obj
	for _, k := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// cell renders a JSON value for a table: "-" for null or absent, times as
// RFC 3339 UTC to the second, lists comma-joined, objects as k=v pairs in
// key order.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return "-"
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && strings.Contains(v, "T") {
			return t.UTC().Format(time.RFC3339)
		}
		return oneLine(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		if len(v) == 0 {
			return "-"
		}
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = cell(e)
		}
		return strings.Join(s, ",")
	case map[string]any:
		if len(v) == 0 {
			return "-"
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = k + "=" + cell(v[k])
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprint(v)
}

// oneLine keeps a cell on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "\t", " ").Replace(s)
}

// clip keeps a table cell short enough to read: at most 60 characters.
func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}
