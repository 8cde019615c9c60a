package config

import "fmt"

// validate checks what no single line can: names and ids unique, every
// default_backend defined, every frontend reachable and routed. Then it
// numbers what the configuration left unnumbered. Proxies whose header
// was already wrong are skipped, to report each mistake once.
func (p *parser) validate(cfg *Config) {
	byName := map[string][]*Proxy{}
	usedIDs := map[int]*Proxy{}
	for i, px := range cfg.Proxies {
		if p.proxies[i].bad {
			continue
		}
		where := p.proxies[i].where
		for _, other := range byName[px.Name] {
			if other.Kind == px.Kind || other.Kind == KindListen || px.Kind == KindListen {
				p.errorAt(px.Pos, px.Kind.String(), "%s: the name is already used by the %s defined at %s:%d", where, other.Kind, other.Pos.File, other.Pos.Line)
				break
			}
		}
		byName[px.Name] = append(byName[px.Name], px)
		if px.ID != 0 {
			if other, ok := usedIDs[px.ID]; ok {
				p.errorAt(px.Pos, "id", "%s: id %d is already used by %s %q (%s:%d)", where, px.ID, other.Kind, other.Name, other.Pos.File, other.Pos.Line)
			} else {
				usedIDs[px.ID] = px
			}
		}
		p.validateServers(where, px)
		p.validateBinds(where, px)
		if px.Kind.HasBackend() && len(px.Check.Rules) > 0 && px.Check.Kind != CheckTCP {
			p.errorAt(px.Check.Rules[0].Pos, "tcp-check", "%s: tcp-check rules without option tcp-check would never run (add option tcp-check)", where)
		}
	}
	for i, px := range cfg.Proxies {
		if !p.proxies[i].bad {
			p.validateRouting(p.proxies[i], px, byName)
			p.validateTracks(p.proxies[i].where, px, byName)
		}
	}
	// HAProxy numbers proxies from 2 in declaration order, skipping the
	// ids set explicitly; 1 belongs to its internal CLI proxy.
	next := 2
	for _, px := range cfg.Proxies {
		if px.ID == 0 {
			for usedIDs[next] != nil {
				next++
			}
			px.ID = next
			usedIDs[next] = px
		}
	}
}

// validateRouting checks a frontend's bind lines and default_backend.
func (p *parser) validateRouting(d *draft, px *Proxy, byName map[string][]*Proxy) {
	if !px.Kind.HasFrontend() {
		return
	}
	if len(px.Binds) == 0 {
		p.errorAt(px.Pos, "bind", "%s: no bind line: a %s must listen on at least one address", d.where, px.Kind)
	}
	if px.Kind != KindFrontend {
		return
	}
	if px.DefaultBackend == "" {
		p.errorAt(px.Pos, "default_backend", "%s: no default_backend: pivot has no use_backend rules, so every frontend must name its backend with default_backend", d.where)
		return
	}
	isFrontend := false
	for _, other := range byName[px.DefaultBackend] {
		if other.Kind.HasBackend() {
			return
		}
		isFrontend = true
	}
	if isFrontend {
		p.errorAt(d.defaultBackendPos, "default_backend", "%s: default_backend %q is a frontend, not a backend", d.where, px.DefaultBackend)
		return
	}
	p.errorAt(d.defaultBackendPos, "default_backend", "%s: default_backend %q is not defined", d.where, px.DefaultBackend)
}

// validateServers checks that server names and ids are unique in the
// proxy, then numbers the servers without an id from 1, skipping ids in
// use, as HAProxy does.
func (p *parser) validateServers(where string, px *Proxy) {
	names := map[string]*Server{}
	ids := map[int]*Server{}
	for _, s := range px.Servers {
		if prev, ok := names[s.Name]; ok {
			p.errorAt(s.Pos, "server", "%s: server %q is already defined at %s:%d", where, s.Name, prev.Pos.File, prev.Pos.Line)
		} else {
			names[s.Name] = s
		}
		if s.ID == 0 {
			continue
		}
		s.IDForced = true
		if prev, ok := ids[s.ID]; ok {
			p.errorAt(s.Pos, "server", "%s: server %q: id %d is already used by server %q", where, s.Name, s.ID, prev.Name)
		} else {
			ids[s.ID] = s
		}
	}
	next := 1
	for _, s := range px.Servers {
		if s.ID == 0 {
			for ids[next] != nil {
				next++
			}
			s.ID = next
			ids[next] = s
		}
	}
}

// validateBinds checks that bind ids are unique in the proxy and numbers
// the others from 1.
func (p *parser) validateBinds(where string, px *Proxy) {
	ids := map[int]bool{}
	for _, b := range px.Binds {
		if b.ID == 0 {
			continue
		}
		if ids[b.ID] {
			p.errorAt(b.Pos, "bind", "%s: bind id %d is already used", where, b.ID)
		}
		ids[b.ID] = true
	}
	next := 1
	for i := range px.Binds {
		if px.Binds[i].ID == 0 {
			for ids[next] {
				next++
			}
			px.Binds[i].ID = next
			ids[next] = true
		}
	}
}

// validateTracks checks each `track`: the server exists in a backend, it
// has a health check to follow (or follows another server itself), and
// following the chain never comes back to where it started.
func (p *parser) validateTracks(where string, px *Proxy, byName map[string][]*Proxy) {
	find := func(s *Server, owner string) (*Server, string, string) {
		bname, sname := TrackTarget(s.Track, owner)
		for _, b := range byName[bname] {
			if !b.Kind.HasBackend() {
				continue
			}
			for _, t := range b.Servers {
				if t.Name == sname {
					return t, bname, ""
				}
			}
			return nil, bname, fmt.Sprintf("backend %q has no server named %q", bname, sname)
		}
		return nil, bname, fmt.Sprintf("no backend named %q", bname)
	}
	for _, s := range px.Servers {
		if s.Track == "" {
			continue
		}
		report := func(format string, a ...any) {
			p.errorAt(s.Pos, "server", "server %q in %s: track %s: %s", s.Name, where, s.Track, fmt.Sprintf(format, a...))
		}
		t, tb, msg := find(s, px.Name)
		if t == nil {
			report("%s", msg)
			continue
		}
		if !t.Check && t.Track == "" {
			report("%s/%s has no health check to follow (add check to it)", tb, t.Name)
			continue
		}
		// Walk the chain; coming back to s is a loop.
		cur, curB := t, tb
		for steps := 0; cur.Track != "" && steps < 1000; steps++ {
			next, nb, _ := find(cur, curB)
			if next == nil {
				break // reported on cur itself
			}
			if next == s {
				report("the tracking chain loops back to %s/%s", curB, cur.Name)
				break
			}
			cur, curB = next, nb
		}
	}
}
