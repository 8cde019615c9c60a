package runtime

// commands is the admin command language: one row per command, found by
// the longest matching word prefix. `help` and both "Unknown command"
// answers are built from it, so they cannot drift from what runs. Levels
// follow HAProxy 2.6 (runtime-api.md §2.4). It is filled in init because
// `help` itself reads it.
var commands []command

func init() { commands = commandTable() }

func commandTable() []command {
	return []command{
		{words: kw("help"), args: "[<command>]", help: "list matching or all commands", run: (*adminConn).help},
		{words: kw("prompt"), help: "toggle interactive mode with prompt", run: (*adminConn).togglePrompt},
		{words: kw("quit"), help: "disconnect", run: (*adminConn).quitCmd},
		{words: kw("operator"), help: "lower this connection's level to operator", run: (*adminConn).lowerLevel},
		{words: kw("user"), help: "lower this connection's level to user", run: (*adminConn).lowerLevel},
		{words: kw("show", "cli", "level"), help: "print this connection's level", run: (*adminConn).showCliLevel},
		{words: kw("show", "cli", "sockets"), help: "list the admin sockets and their levels", run: (*adminConn).showCliSockets},
		{words: kw("show", "version"), help: "print pivot's version", run: (*adminConn).showVersion},
		{words: kw("set", "timeout"), args: "[cli] <delay>", help: "change this connection's idle timeout", run: (*adminConn).setTimeout},

		{words: kw("show", "info"), args: "[desc|json|typed|float]*", help: "process-wide information and counters", run: (*adminConn).showInfo},
		{words: kw("show", "stat"), args: "[desc|json|no-maint|typed|up]*", help: "counters of every frontend, backend and server", run: (*adminConn).showStat},
		{words: kw("show", "schema", "json"), help: "JSON schema of show info json and show stat json", run: (*adminConn).showSchema},
		{words: kw("show", "servers", "state"), args: "[<backend>]", help: "server states, in the server-state file format", run: (*adminConn).showServersState},
		{words: kw("show", "servers", "conn"), args: "[<backend>]", help: "server connection pools (all zero in TCP)", run: (*adminConn).showServersConn},
		{words: kw("show", "backend"), help: "list the backends", run: (*adminConn).showBackend},
		{words: kw("get", "weight"), args: "<bk>/<srv>", help: "print a server's current and initial weight", run: (*adminConn).getWeight},
		{words: kw("show", "sess"), args: "[id]", help: "list live sessions, or dump one", level: LevelOperator, run: (*adminConn).showSess},
		{words: kw("show", "env"), args: "[var]", help: "print the daemon's environment", level: LevelOperator, run: (*adminConn).showEnv},
		{words: kw("show", "errors"), args: "[<px>] [request|response]", help: "captured protocol errors (none in TCP)", level: LevelOperator, run: (*adminConn).showErrors},
		{words: kw("clear", "counters"), args: "[all]", help: "reset maxima (or, with all, every counter)", level: LevelOperator, run: (*adminConn).clearCounters},
		{words: kw("clear", "counters", "all"), help: "reset every counter", level: LevelAdmin, hidden: true, run: (*adminConn).clearCounters},

		{words: kw("set", "server"), args: "<bk>/<srv> [opts]", help: "change a server's state, weight, address or checks", level: LevelAdmin, run: (*adminConn).setServer},
		{words: kw("set", "weight"), args: "<bk>/<srv>  (DEPRECATED)", help: "change a server's weight (use 'set server')", level: LevelAdmin, run: (*adminConn).setWeightCmd},
		{words: kw("enable", "server"), args: " (DEPRECATED)", help: "take a server out of maintenance (use 'set server')", level: LevelAdmin, run: (*adminConn).enableServer},
		{words: kw("disable", "server"), args: "(DEPRECATED)", help: "put a server in maintenance (use 'set server')", level: LevelAdmin, run: (*adminConn).enableServer},
		{words: kw("enable", "health"), args: "<bk>/<srv>", help: "resume a server's health checks", level: LevelAdmin, run: (*adminConn).enableHealth},
		{words: kw("disable", "health"), args: "<bk>/<srv>", help: "suspend a server's health checks", level: LevelAdmin, run: (*adminConn).enableHealth},
		{words: kw("enable", "agent"), args: "<bk>/<srv>", help: "resume a server's agent checks", level: LevelAdmin, run: (*adminConn).enableAgent},
		{words: kw("disable", "agent"), args: "<bk>/<srv>", help: "suspend a server's agent checks", level: LevelAdmin, run: (*adminConn).enableAgent},
		{words: kw("set", "maxconn", "server"), args: "<bk>/<srv> <value>", help: "change a server's maxconn", level: LevelAdmin, run: (*adminConn).setMaxconnServer},
		{words: kw("add", "server"), args: "<bk>/<srv> <addr> [kw]*", help: "add a server (it starts in maintenance)", level: LevelAdmin, run: (*adminConn).addServer},
		{words: kw("del", "server"), args: "<bk>/<srv>", help: "remove a server in maintenance with no session", level: LevelAdmin, run: (*adminConn).delServer},
		{words: kw("shutdown", "sessions", "server"), args: "<bk>/<srv>", help: "cut every session of a server", level: LevelAdmin, run: (*adminConn).shutdownServerSessions},
		{words: kw("shutdown", "session"), args: "[id]", help: "cut one session", level: LevelAdmin, run: (*adminConn).shutdownSession},
		{words: kw("wait"), args: "<delay> [<condition> <bk>/<srv>]", help: "wait until a server can be removed or is unused", level: LevelAdmin, run: (*adminConn).wait},
		{words: kw("reload"), help: "re-read the configuration and apply what changed (pivot)", level: LevelAdmin, run: (*adminConn).reload},
		{words: kw("failover"), args: "<bk>/<srv> [keep-sessions]", help: "make one server the only one taking new connections, in one step (pivot)", level: LevelAdmin, run: (*adminConn).failover},

		{words: kw("enable", "frontend"), args: "<frontend>", help: "reopen a paused frontend's sockets", level: LevelAdmin, run: (*adminConn).frontendState},
		{words: kw("disable", "frontend"), args: "<frontend>", help: "close a frontend's sockets for now", level: LevelAdmin, run: (*adminConn).frontendState},
		{words: kw("shutdown", "frontend"), args: "<frontend>", help: "stop a frontend for good", level: LevelAdmin, run: (*adminConn).frontendState},
		{words: kw("set", "maxconn", "frontend"), args: "<frontend> <value>", help: "change a frontend's maxconn", level: LevelAdmin, run: (*adminConn).setMaxconnFrontend},
		{words: kw("set", "maxconn", "global"), args: "<value>", help: "change the process-wide maxconn", level: LevelAdmin, run: (*adminConn).setMaxconnGlobal},
		{words: kw("set", "rate-limit"), args: "<setting> <value>", help: "change a rate limit", level: LevelAdmin, run: (*adminConn).setRateLimit},
	}
}

func kw(words ...string) []string { return words }
