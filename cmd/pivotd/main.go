// Command pivotd is pivot's daemon: it loads a HAProxy-style TCP
// configuration and relays connections from its frontends to its backends
// until it is told to stop.
//
//	pivotd -f /etc/pivot/pivot.cfg          run
//	pivotd -c -f /etc/pivot/pivot.cfg       check the configuration and exit
//
// Signals: SIGHUP reloads the configuration in place (the admin
// socket's `reload` does the same); SIGTERM and SIGINT stop at once; SIGUSR1 stops accepting and
// waits for running sessions (at most `hard-stop-after`); SIGUSR2 starts
// the pivotd binary found at this one's path again (an upgraded one),
// hands it the listening sockets, and finishes the running sessions
// while it serves.
package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"pivot/core"
	"pivot/core/config"
	"pivot/core/handover"
	"pivot/core/logging"
	"pivot/runtime"
)

// version and releaseDate are set at build time with
// -ldflags "-X main.version=... -X main.releaseDate=YYYY/MM/DD".
var (
	version     = "dev"
	releaseDate = "2026/11/23"
)

func main() {
	app := &cli.App{
		Name:      "pivotd",
		Usage:     "TCP load balancer daemon, compatible with HAProxy's TCP configuration",
		Version:   version,
		UsageText: "pivotd -f CONFIG [-f CONFIG ...] [-c] [-p PIDFILE]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "f", Usage: "configuration file or directory (repeatable, read in order)", Required: true},
			&cli.BoolFlag{Name: "c", Usage: "check the configuration, report every error, and exit"},
			&cli.BoolFlag{Name: "q", Usage: "quiet: print nothing when the configuration is valid (with -c)"},
			&cli.StringFlag{Name: "p", Usage: "write the process id to this file (overrides global pidfile)"},
			&cli.StringFlag{Name: "S", Usage: "keep the runtime state in this file (overrides global server-state-file; `none` keeps nothing); default: the first configuration file's path with .state appended"},
		},
		HideHelpCommand: true,
		Action:          run,
		ExitErrHandler: func(c *cli.Context, err error) {
			if err == nil {
				return
			}
			var ec cli.ExitCoder
			if errors.As(err, &ec) {
				if msg := err.Error(); msg != "" {
					fmt.Fprintln(os.Stderr, msg)
				}
				os.Exit(ec.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "pivotd:", err)
			os.Exit(2)
		},
	}
	app.Run(os.Args)
}

func run(c *cli.Context) error {
	pid := os.Getpid()
	diag := logging.Diag(os.Stderr, pid)
	// Signals are caught before anything else, so that one sent during
	// start-up is handled (as a stop) rather than killing the process.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	// The path is read now: an upgrade replaces the file behind it.
	exe, exeErr := os.Executable()
	pool, err := handover.FromEnv()
	if err != nil {
		diag.Alert(err.Error())
		return cli.Exit("", 1)
	}
	cfg, err := config.Load(c.StringSlice("f"))
	if err != nil {
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				diag.Alert(e.Error())
			}
			return cli.Exit(fmt.Sprintf("pivotd: %d error(s) in the configuration", len(list)), 1)
		}
		diag.Alert(err.Error())
		return cli.Exit("", 1)
	}
	if c.Bool("c") {
		if !c.Bool("q") {
			fmt.Println("Configuration file is valid")
		}
		return nil
	}

	engine, err := core.New(cfg, core.Options{PID: pid, StateFile: stateFile(c, cfg), Handover: pool})
	if err != nil {
		diag.Alert(err.Error())
		return cli.Exit("", 1)
	}
	if err := engine.Start(); err != nil {
		diag.Alert(err.Error())
		engine.Stop()
		return cli.Exit("", 1)
	}
	// live is the configuration being served; a reload replaces it.
	var live atomic.Pointer[config.Config]
	live.Store(cfg)
	var admin *runtime.Server
	reload := func() ([]string, error) {
		next, err := config.Load(c.StringSlice("f"))
		if err != nil {
			return nil, err
		}
		changes, err := engine.Reload(next)
		if err != nil {
			return nil, err
		}
		changes = append(changes, admin.Reconfigure(next.Global)...)
		live.Store(next)
		return changes, nil
	}
	admin, err = runtime.New(engine, cfg.Global, runtime.Options{Version: version, ReleaseDate: releaseDate, Diag: diag, Handover: pool, Reload: reload})
	if err == nil {
		err = admin.Start()
	}
	if err != nil {
		diag.Alert(err.Error())
		engine.Stop()
		return cli.Exit("", 1)
	}
	defer admin.Stop()
	pidfile := c.String("p")
	if pidfile == "" {
		pidfile = cfg.Global.PidFile
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			diag.Alert(fmt.Sprintf("cannot write pidfile: %v", err))
			engine.Stop()
			return cli.Exit("", 1)
		}
	}
	handedOver := false
	defer func() {
		if pidfile != "" && !handedOver { // else it is the new process's
			os.Remove(pidfile)
		}
	}()
	if pool.Handed() {
		diag.Notice(fmt.Sprintf("pivotd %s took over the listening sockets with %d proxies", version, len(cfg.Proxies)))
	} else {
		diag.Notice(fmt.Sprintf("pivotd %s started with %d proxies", version, len(cfg.Proxies)))
	}
	pool.Ready()

	// SIGUSR1 starts a soft stop that may take long; SIGTERM or SIGINT,
	// even during it, stop at once. The admin socket keeps answering
	// during a soft stop, and closes before the core stops.
	softDone := make(chan struct{})
	soft := false
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if soft {
					continue
				}
				diag.Notice("SIGHUP: reloading the configuration")
				if changes, err := reload(); err != nil {
					reportReloadError(diag, err)
				} else {
					for _, ch := range changes {
						diag.Notice("reload: " + ch)
					}
				}
				continue
			}
			if sig == syscall.SIGUSR2 {
				if soft {
					continue
				}
				if exeErr != nil {
					diag.Alert(fmt.Sprintf("upgrade: cannot find this program's path: %v", exeErr))
					continue
				}
				if !upgrade(exe, engine, admin, diag) {
					continue
				}
				handedOver, soft = true, true
				go func() {
					if cut := engine.HandOver(live.Load().Global.HardStopAfter); cut > 0 {
						diag.Warning(fmt.Sprintf("hard-stop-after reached: closed %d remaining sessions", cut))
					}
					close(softDone)
				}()
				continue
			}
			if sig == syscall.SIGUSR1 {
				if !soft {
					soft = true
					diag.Notice("soft stop: no longer accepting, waiting for running sessions")
					go func() {
						if cut := engine.SoftStop(live.Load().Global.HardStopAfter); cut > 0 {
							diag.Warning(fmt.Sprintf("hard-stop-after reached: closed %d remaining sessions", cut))
						}
						close(softDone)
					}()
				}
				continue
			}
			diag.Notice(fmt.Sprintf("%v received: stopping", sig))
			admin.Stop()
			engine.Stop()
			if soft {
				<-softDone
			}
		case <-softDone:
			admin.Stop()
		}
		diag.Notice("stopped")
		return nil
	}
}

// reportReloadError logs why a reload was refused, one line per
// configuration error.
func reportReloadError(diag *logging.DiagLogger, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			diag.Alert(e.Error())
		}
		diag.Alert(fmt.Sprintf("reload refused: %d error(s) in the configuration; the running configuration is unchanged", len(list)))
		return
	}
	diag.Alert(fmt.Sprintf("reload refused: %v; the running configuration is unchanged", err))
}

// upgrade starts exe with this process's arguments and hands it the
// listening sockets. It returns true once the new process serves them,
// false (and this process goes on serving) when it failed to start.
func upgrade(exe string, engine *core.Core, admin *runtime.Server, diag *logging.DiagLogger) bool {
	diag.Notice(fmt.Sprintf("upgrade: starting %s with the listening sockets", exe))
	files := engine.ListenerFiles()
	maps.Copy(files, admin.ListenerFiles())
	proc, err := handover.Start(exe, os.Args[1:], files, upgradeLimit)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		diag.Alert(fmt.Sprintf("upgrade failed, this process goes on serving: %v", err))
		return false
	}
	admin.Release()
	diag.Notice(fmt.Sprintf("upgrade: pid %d serves the listening sockets; finishing %d sessions", proc.Pid, engine.ActiveSessions()))
	return true
}

// upgradeLimit is how long a new pivotd may take to load its
// configuration and start serving before the upgrade is abandoned.
const upgradeLimit = time.Minute

// stateFile is where the runtime state is kept: -S, else the global
// server-state-file (relative to server-state-base), else beside the
// first configuration file. "none" keeps nothing.
func stateFile(c *cli.Context, cfg *config.Config) string {
	path := c.String("S")
	switch {
	case path == "none":
		return ""
	case path != "":
		return path
	case cfg.Global.ServerStateFile != "":
		path = cfg.Global.ServerStateFile
		if !filepath.IsAbs(path) && cfg.Global.ServerStateBase != "" {
			path = filepath.Join(cfg.Global.ServerStateBase, path)
		}
		return path
	}
	first := c.StringSlice("f")[0]
	if st, err := os.Stat(first); err == nil && st.IsDir() {
		return filepath.Join(first, "pivot.state")
	}
	return first + ".state"
}
