package runtime

import (
	"io"
	"strings"
)

// showStat is `show stat`, in CSV, typed or JSON form.
func (c *adminConn) showStat(w io.Writer, args []string) {
	req, err := parseShowStat(args[2:])
	if err == nil {
		err = writeStat(w, c.srv.core.Stats(), req, c.sock.level >= LevelOperator)
	}
	if err != nil {
		reply(w, err.Error())
	}
}

func (c *adminConn) showInfo(w io.Writer, args []string) {
	writeInfo(w, c.srv.core.Info(), parseShowInfo(args[2:]), c.srv.opts.Version, c.srv.opts.ReleaseDate, hostname())
}

func (c *adminConn) showSchema(w io.Writer, args []string) { writeSchemaJSON(w) }

func (c *adminConn) showServersState(w io.Writer, args []string) {
	if err := writeServersState(w, c.srv.core.Stats(), c.backendArg(arg(args, 3))); err != nil {
		reply(w, err.Error())
	}
}

func (c *adminConn) showServersConn(w io.Writer, args []string) {
	if err := writeServersConn(w, c.srv.core.Stats(), c.backendArg(arg(args, 3)), c.srv.core.Info().Nbthread); err != nil {
		reply(w, err.Error())
	}
}

// backendArg turns a "#<id>" backend argument into the backend's name, as
// HAProxy's lookup does; names, and ids that name no backend, are left
// for the caller to report.
func (c *adminConn) backendArg(name string) string {
	if strings.HasPrefix(name, "#") {
		if b, err := c.srv.core.ResolveBackend(name); err == nil {
			return b
		}
	}
	return name
}

func (c *adminConn) showBackend(w io.Writer, args []string) { writeBackendList(w, c.srv.core.Stats()) }
