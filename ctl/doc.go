// Package ctl is the client side of pivot's admin socket: it dials one or
// several sockets, sends Runtime API commands, tells success from refusal,
// parses the answers and renders them for people (tables) and scripts (CSV,
// JSON).
//
// ctl speaks only the socket protocol, like socat or any other client, so it
// works the same against pivotd and against HAProxy 2.6. It never imports
// pivot's core or runtime packages.
//
// Typical use:
//
//	c, err := ctl.Dial("/run/pivot/admin.sock", 5*time.Second)
//	if err != nil {
//		return err // an *UnreachableError
//	}
//	reply, err := c.Run("show stat")
//	if err == nil {
//		err = ctl.ClassifyReply("show stat", reply) // nil or a *RefusedError
//	}
//	rows, err := ctl.ParseStatCSV(strings.NewReader(reply))
//	ctl.RenderStatTable(os.Stdout, rows, ctl.TableOptions{})
//
// Every command uses its own connection: ctl writes the line, half-closes
// its side and reads the answer until EOF, so an answer that lacks HAProxy's
// terminating empty line is still read whole. ctl does not use prompt mode.
package ctl
