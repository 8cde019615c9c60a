package config

import "strings"

// parseBind reads `bind ADDR[,ADDR...] [options]`. Each address becomes
// one Bind carrying the line's options; a port range stays one Bind.
// An unknown option ends the line: its own arguments would only add
// confusing errors.
func parseBind(c *lineCtx, args []string) {
	if !c.nargs(args, 1, -1) {
		return
	}
	opts := Bind{Pos: c.pos}
	for i := 1; i < len(args); i++ {
		o := args[i]
		switch o {
		case "v4v6":
			opts.V4V6 = true
			continue
		case "v6only":
			opts.V6Only = true
			continue
		case "name", "id", "maxconn":
		default:
			// The words after it may be its arguments: stop here.
			c.errorf("unknown bind option %q (pivot knows name, id, maxconn, v4v6 and v6only)", o)
			i = len(args)
			continue
		}
		if i+1 >= len(args) {
			c.errorf("%s: missing value", o)
			break
		}
		i++
		var err error
		switch o {
		case "name":
			opts.Name = args[i]
			if opts.Name == "" {
				c.errorf("name: empty name")
			}
		case "id":
			opts.ID, err = parseInt(args[i], 1, maxInt)
		case "maxconn":
			opts.MaxConn, err = parseInt(args[i], 1, maxInt)
		}
		if err != nil {
			c.errorf("%s: %s", o, err)
		}
	}
	addrs := strings.Split(args[0], ",")
	if opts.ID != 0 && len(addrs) > 1 {
		c.errorf("id can only be used with a single address, got %q", args[0])
	}
	for _, a := range addrs {
		b := opts
		var err error
		if b.Host, b.Port, b.PortEnd, err = parseBindAddr(a); err != nil {
			c.errorf("invalid address %q: %s", a, err)
		}
		// Kept even when wrong, so the frontend is not also reported
		// as having no bind line; the configuration is refused anyway.
		c.d.px.Binds = append(c.d.px.Binds, b)
	}
}
