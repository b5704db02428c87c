"""Shell completion for `kasset`, written from the argparse parser so it never drifts.

`kasset completion bash` prints a bash function completing subcommands, their options and
option choices; `kasset completion zsh` wraps the same function with zsh's bashcompinit.
No third-party package is needed, so it works in the lightest installation.
"""

from __future__ import annotations

import argparse

__all__ = ["SHELLS", "completion_script"]

SHELLS = ("bash", "zsh")


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of `parser` for `shell` (one of SHELLS).

    >>> p = argparse.ArgumentParser(prog="demo")
    >>> _ = p.add_subparsers().add_parser("run")
    >>> "run" in completion_script(p, "bash")
    True
    """
    if shell not in SHELLS:
        raise ValueError(f"no completion for shell {shell!r} (choose from {', '.join(SHELLS)})")
    prog = parser.prog
    function = f"_{prog.replace('-', '_')}_complete"
    commands = _subcommands(parser)
    cases = []
    for name, sub in commands.items():
        words = " ".join(_positional_choices(sub))
        cases.append(
            f"    {name}) opts={_quote(' '.join(_options(sub)))}; words={_quote(words)} ;;"
        )
    choice_cases = []
    for sub in [parser, *commands.values()]:
        for action in sub._actions:
            if action.option_strings and action.choices:
                flags = "|".join(action.option_strings)
                words = " ".join(str(c) for c in action.choices)
                choice_cases.append(
                    f'    {flags}) COMPREPLY=($(compgen -W {_quote(words)} -- "$cur")); return ;;'
                )
    body = f"""# {shell} completion for {prog}: eval "$({prog} completion {shell})"
{function}() {{
  local cur prev cmd opts words i
  COMPREPLY=()
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  case "$prev" in
{chr(10).join(choice_cases)}
  esac
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in -*) ;; *) cmd="${{COMP_WORDS[i]}}"; break ;; esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W {_quote(" ".join([*commands, *_options(parser)]))} -- "$cur"))
    return
  fi
  case "$cmd" in
{chr(10).join(cases)}
    *) opts=""; words="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ -n "$words" ]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
"""
    if shell == "zsh":
        body += "autoload -U +X bashcompinit && bashcompinit\n"
    return body + f"complete -F {function} {prog}\n"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _positional_choices(parser: argparse.ArgumentParser) -> list[str]:
    return [
        str(choice)
        for action in parser._actions
        if not action.option_strings
        and action.choices
        and not isinstance(action, argparse._SubParsersAction)
        for choice in action.choices
    ]


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions for flag in action.option_strings]


def _quote(words: str) -> str:
    return "'" + words.replace("'", "'\\''") + "'"
