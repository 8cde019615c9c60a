package main

import (
	"io"

	"github.com/urfave/cli/v2"
)

// The scripts ask pivotctl itself for candidates: urfave/cli answers the
// hidden --generate-bash-completion flag with the subcommands and flags
// valid at that point of the command line.
const bashCompletion = `# bash completion for pivotctl; load with: source <(pivotctl completion bash)
_pivotctl_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local candidates
  if [[ "$cur" == -* ]]; then
    candidates=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    candidates=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o bashdefault -o default -F _pivotctl_complete pivotctl
`

const zshCompletion = `#compdef pivotctl
# zsh completion for pivotctl; load with: source <(pivotctl completion zsh)
_pivotctl() {
  local -a candidates
  local cur=${words[CURRENT]}
  if [[ "$cur" == -* ]]; then
    candidates=("${(@f)$(${words[1,CURRENT-1]} $cur --generate-bash-completion 2>/dev/null)}")
  else
    candidates=("${(@f)$(${words[1,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n "${candidates[1]}" ]]; then
    _describe 'pivotctl' candidates
  else
    _files
  fi
}
compdef _pivotctl pivotctl
`

func completionCommand() *cli.Command {
	script := func(text string) func(*cli.Context) error {
		return func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			_, err := io.WriteString(c.App.Writer, text)
			return err
		}
	}
	return &cli.Command{
		Name:   "completion",
		Usage:  "print a shell completion script: source <(pivotctl completion bash)",
		Action: func(c *cli.Context) error { return groupAction(c) },
		Subcommands: []*cli.Command{
			{Name: "bash", Usage: "bash completion script", Action: script(bashCompletion)},
			{Name: "zsh", Usage: "zsh completion script", Action: script(zshCompletion)},
		},
	}
}
