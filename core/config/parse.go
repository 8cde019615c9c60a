package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Load reads the configuration from paths, in order, as one
// configuration, the way `haproxy -f` does: a path naming a directory
// stands for the files ending in ".cfg" directly inside it, in lexical
// order. Sections do not continue across files, but the last defaults
// section seen does, so a directory can hold one file per service after
// a common defaults file.
//
// Every problem is reported, not only the first: the error, if any, is an
// ErrorList and the returned *Config is nil.
func Load(paths []string) (*Config, error) {
	p := newParser(os.LookupEnv)
	if len(paths) == 0 {
		return nil, ErrorList{{File: "pivot", Msg: "no configuration file given"}}
	}
	for _, path := range paths {
		for _, f := range p.expandPath(path) {
			src, err := os.ReadFile(f)
			if err != nil {
				p.fileError(f, err)
				continue
			}
			p.parseFile(f, src)
		}
	}
	return p.finish()
}

// Parse reads one configuration held in memory; name is the file name
// used in errors and positions.
func Parse(name string, src []byte) (*Config, error) {
	p := newParser(os.LookupEnv)
	p.parseFile(name, src)
	return p.finish()
}

// expandPath turns a directory into its *.cfg files, in lexical order.
func (p *parser) expandPath(path string) []string {
	st, err := os.Stat(path)
	if err != nil {
		p.fileError(path, err)
		return nil
	}
	if !st.IsDir() {
		return []string{path}
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		p.fileError(path, err)
		return nil
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cfg") && !e.IsDir() {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files) // ReadDir sorts already; say it here too
	return files
}

// fileError records a file that cannot be read, without the path twice.
func (p *parser) fileError(name string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	p.fileIndex(name)
	p.errs = append(p.errs, &Error{File: name, Msg: "cannot read: " + err.Error()})
}

// sectionKind is the kind of section a line belongs to.
type sectionKind int

const (
	secNone sectionKind = iota
	secGlobal
	secDefaults
	secFrontend
	secBackend
	secListen
	secUnsupported // an HAProxy section pivot refuses; its lines are skipped
)

// unsupportedSections are HAProxy sections that pivot does not implement.
// Naming them gives one clear error instead of one per line inside.
var unsupportedSections = map[string]bool{
	"peers": true, "resolvers": true, "userlist": true, "mailers": true,
	"program": true, "http-errors": true, "ring": true, "cache": true,
	"fcgi-app": true, "crt-store": true, "traces": true, "log-forward": true,
	"dynamic-update": true, "acme": true,
}

// parser holds the state of one Load or Parse call; nothing outlives it.
type parser struct {
	env   lookupEnv
	errs  ErrorList
	files map[string]int // file name → load order, for sorting errors

	global     Global
	globalSeen bool
	proxies    []*draft

	namedDefaults map[string]*draft
	lastDefaults  *draft // nil before any defaults section

	sec sectionKind
	cur *draft // the defaults or proxy section being read
}

func newParser(env lookupEnv) *parser {
	return &parser{
		env:           env,
		files:         map[string]int{},
		namedDefaults: map[string]*draft{},
		global:        Global{},
	}
}

func (p *parser) fileIndex(name string) {
	if _, ok := p.files[name]; !ok {
		p.files[name] = len(p.files)
	}
}

// errorAt records an error at pos about keyword kw.
func (p *parser) errorAt(pos Pos, kw, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: pos.File, Line: pos.Line, Keyword: kw, Msg: fmt.Sprintf(format, args...)})
}

// where names the current section for error messages.
func (p *parser) where() string {
	switch p.sec {
	case secGlobal:
		return "global section"
	case secDefaults, secFrontend, secBackend, secListen:
		return p.cur.where
	case secUnsupported:
		return "unsupported section"
	}
	return ""
}

// parseFile reads one file. A new file starts outside of any section.
func (p *parser) parseFile(name string, src []byte) {
	p.fileIndex(name)
	p.sec, p.cur = secNone, nil
	for i, raw := range strings.Split(string(src), "\n") {
		pos := Pos{File: name, Line: i + 1}
		words, err := splitWords(raw, p.env)
		if err != nil {
			if w := p.where(); w != "" {
				p.errorAt(pos, "", "%s: %s", w, err)
			} else {
				p.errorAt(pos, "", "%s", err)
			}
			continue
		}
		if len(words) == 0 {
			continue
		}
		p.line(pos, words)
	}
}

// line dispatches one non-empty line.
func (p *parser) line(pos Pos, words []string) {
	switch kw := words[0]; kw {
	case "global":
		p.openGlobal(pos, words[1:])
		return
	case "defaults":
		p.openDefaults(pos, words[1:])
		return
	case "frontend":
		p.openProxy(pos, KindFrontend, secFrontend, words[1:])
		return
	case "backend":
		p.openProxy(pos, KindBackend, secBackend, words[1:])
		return
	case "listen":
		p.openProxy(pos, KindListen, secListen, words[1:])
		return
	default:
		if unsupportedSections[kw] {
			p.errorAt(pos, kw, "section %q is not supported: pivot only reads global, defaults, frontend, backend and listen", kw)
			p.sec, p.cur = secUnsupported, nil
			return
		}
	}
	switch p.sec {
	case secNone:
		p.errorAt(pos, words[0], "keyword %q outside of any section (expected global, defaults, frontend, backend or listen first)", words[0])
	case secGlobal:
		p.globalLine(pos, words)
	case secDefaults, secFrontend, secBackend, secListen:
		p.proxyLine(pos, words)
	}
}

func (p *parser) openGlobal(pos Pos, args []string) {
	p.sec, p.cur = secGlobal, nil
	if !p.globalSeen {
		p.globalSeen = true
		p.global.Pos = pos
	}
	if len(args) > 0 {
		p.errorAt(pos, "global", "%q: unexpected argument %q (usage: global)", "global", args[0])
	}
}

// openDefaults starts `defaults [NAME] [from OTHER]`. A defaults section
// without from starts afresh from pivot's built-in defaults, as HAProxy's
// does.
func (p *parser) openDefaults(pos Pos, args []string) {
	var name, from string
	bad := false
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "from":
		from = args[1]
	case len(args) == 1:
		name = args[0]
	case len(args) == 3 && args[1] == "from":
		name, from = args[0], args[2]
	default:
		p.errorAt(pos, "defaults", "%q: invalid arguments %q (usage: defaults [NAME] [from DEFAULTS])", "defaults", strings.Join(args, " "))
		bad = true
	}
	where := "defaults section"
	if name != "" {
		where = fmt.Sprintf("defaults %q", name)
		if err := checkName(name); err != nil {
			p.errorAt(pos, "defaults", "%s: %s", where, err)
		}
	}
	d := builtinDefaults()
	if from != "" {
		d = p.base(pos, where, from)
	}
	d.where, d.pos, d.bad = where, pos, bad
	if name != "" {
		if prev, ok := p.namedDefaults[name]; ok {
			p.errorAt(pos, "defaults", "%s is already defined at %s:%d", where, prev.pos.File, prev.pos.Line)
		}
		p.namedDefaults[name] = d
	}
	p.lastDefaults = d
	p.sec, p.cur = secDefaults, d
}

// base returns a fresh copy of what a new section inherits: the named
// defaults section from, or else the last defaults section seen, or else
// the built-in defaults.
func (p *parser) base(pos Pos, where, from string) *draft {
	if from != "" {
		if d, ok := p.namedDefaults[from]; ok {
			return d.inherit()
		}
		p.errorAt(pos, "from", "%s: defaults section %q is not defined (it must be declared before use)", where, from)
		return builtinDefaults()
	}
	if p.lastDefaults != nil {
		return p.lastDefaults.inherit()
	}
	return builtinDefaults()
}

// openProxy starts `frontend|backend|listen NAME [from DEFAULTS]`.
func (p *parser) openProxy(pos Pos, kind ProxyKind, sec sectionKind, args []string) {
	kw := kind.String()
	var name, from string
	bad := false
	switch {
	case len(args) == 1:
		name = args[0]
	case len(args) == 3 && args[1] == "from":
		name, from = args[0], args[2]
	case len(args) == 0:
		p.errorAt(pos, kw, "%s: missing name (usage: %s NAME [from DEFAULTS])", kw, kw)
		bad = true
	default:
		p.errorAt(pos, kw, "%s %q: invalid arguments %q (usage: %s NAME [from DEFAULTS])", kw, args[0], strings.Join(args[1:], " "), kw)
		bad = true
	}
	where := fmt.Sprintf("%s %q", kw, name)
	if !bad {
		if err := checkName(name); err != nil {
			p.errorAt(pos, kw, "%s: %s", where, err)
			bad = true
		}
	}
	d := p.base(pos, where, from)
	d.where, d.pos, d.bad = where, pos, bad
	d.px.Pos, d.px.Kind, d.px.Name = pos, kind, name
	p.proxies = append(p.proxies, d)
	p.sec, p.cur = sec, d
}

// checkName applies HAProxy's rule for proxy and server names: letters,
// digits, '-', '_', '.' and ':'. It also keeps names safe to write on the
// admin socket as "backend/server".
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '-' || c == '_' || c == '.' || c == ':' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return fmt.Errorf("invalid character %q in name %q (use letters, digits, '-', '_', '.' and ':')", c, name)
		}
	}
	return nil
}

// finish completes and validates the model once every file is read.
func (p *parser) finish() (*Config, error) {
	cfg := &Config{Global: p.global}
	for _, d := range p.proxies {
		cfg.Proxies = append(cfg.Proxies, d.finish(p.global.Logs))
	}
	p.validate(cfg)
	if len(p.errs) > 0 {
		sortErrors(p.errs, p.files)
		return nil, p.errs
	}
	return cfg, nil
}
