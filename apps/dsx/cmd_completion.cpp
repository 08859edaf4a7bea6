// dsx completion bash|zsh|fish: a shell completion script made at run time from the CLI11 tree
// this binary parses with (subcommands, flags, options that take a value, their choices), so it
// cannot go stale: a new command or flag completes as soon as it is registered.
//
// Every script has the same shape: the words typed so far are walked from `dsx` down the
// subcommand tree (skipping option values, stopping at `--`); the node reached picks the
// candidates: an option's choices after an option that takes a value, flags after a '-',
// else the node's subcommands, else its positional's choices, else file names.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"

namespace dsx::cmd {
namespace {

struct OptionInfo {
  std::vector<std::string> names;    // "--fsync", "-q"
  bool takes_value = false;
  std::vector<std::string> choices;  // from an IsMember check: "{always,batch,never}"
  std::string help;
};

struct Node {
  std::string path;  // "dsx session serve"
  std::vector<std::pair<std::string, std::string>> subs;  // name, help
  std::vector<OptionInfo> options;
  bool positional = false;
  std::vector<std::string> positional_choices;
};

// The choices of a CLI::IsMember check, read back from the type name CLI11 shows in --help
// ("TEXT:{always,batch,never}").
std::vector<std::string> Choices(const CLI::Option* o) {
  std::string t = o->get_type_name();
  auto open = t.find(":{");
  if (open == std::string::npos || t.back() != '}') return {};
  std::vector<std::string> out;
  std::string cur;
  for (char c : t.substr(open + 2, t.size() - open - 3)) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

void Walk(const CLI::App* app, std::vector<Node>* nodes) {
  Node n;
  n.path = cli::CommandPath(app);
  std::vector<const CLI::App*> children;
  for (const CLI::App* s : app->get_subcommands(std::function<bool(const CLI::App*)>())) {
    if (s->get_name().empty() || s->get_group().empty()) continue;  // option groups, hidden commands
    n.subs.emplace_back(s->get_name(), s->get_description());
    children.push_back(s);
  }
  for (const CLI::Option* o : app->get_options()) {
    if (!o->nonpositional()) {
      n.positional = true;
      if (n.positional_choices.empty()) n.positional_choices = Choices(o);
      continue;
    }
    if (o->get_group().empty()) continue;  // hidden
    OptionInfo info;
    for (const std::string& l : o->get_lnames()) info.names.push_back("--" + l);
    for (const std::string& s : o->get_snames()) info.names.push_back("-" + s);
    info.takes_value = o->get_items_expected_max() > 0;
    info.choices = Choices(o);
    info.help = o->get_description();
    n.options.push_back(std::move(info));
  }
  nodes->push_back(std::move(n));
  for (const CLI::App* c : children) Walk(c, nodes);
}

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// A string in single quotes for sh/zsh ('it'\''s').
std::string ShQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A string in single quotes for fish (\\ and \' escaped).
std::string FishQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') q += '\\';
    q += c == '\n' ? ' ' : c;
  }
  return q + "'";
}

// One line of help: completion menus show the first sentence, up to 80 bytes.
std::string Short(const std::string& help) {
  std::string s = help.substr(0, help.find('\n'));
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// The data functions bash and zsh share (same `case` syntax): each sets r.
std::string ShData(const std::vector<Node>& nodes) {
  std::string subs, opts, valued, choices;
  for (const Node& n : nodes) {
    std::vector<std::string> names, all, withval;
    for (const auto& s : n.subs) names.push_back(s.first);
    for (const auto& o : n.options) {
      for (const auto& name : o.names) {
        all.push_back(name);
        if (o.takes_value) withval.push_back(name);
        if (!o.choices.empty())
          choices += "    " + ShQuote(n.path + " " + name) + ") r=" + ShQuote(Join(o.choices)) + " ;;\n";
      }
    }
    if (!n.positional_choices.empty())
      choices += "    " + ShQuote(n.path) + ") r=" + ShQuote(Join(n.positional_choices)) + " ;;\n";
    if (!names.empty()) subs += "    " + ShQuote(n.path) + ") r=" + ShQuote(Join(names)) + " ;;\n";
    opts += "    " + ShQuote(n.path) + ") r=" + ShQuote(Join(all)) + " ;;\n";
    if (!withval.empty()) valued += "    " + ShQuote(n.path) + ") r=" + ShQuote(" " + Join(withval) + " ") + " ;;\n";
  }
  auto fn = [](const std::string& name, const std::string& body) {
    return "__dsx_" + name + "() {\n  r=\n  case $1 in\n" + body + "  esac\n}\n";
  };
  return fn("subs", subs) + fn("opts", opts) + fn("valued", valued) + fn("choices", choices);
}

// Walks the words before the cursor; sets node (the subcommand reached) and dashdash (1 after --).
// $1: index of the first word after `dsx`, $2: index of the word under the cursor; reads `words`.
const char* kShWalk = R"(__dsx_walk() {
  local i w skip=0
  node=dsx dashdash=0
  for ((i = $1; i < $2; i++)); do
    w=${words[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      --) dashdash=1; return ;;
      -*=*) ;;
      -*) __dsx_valued "$node"; [[ $r == *" $w "* ]] && skip=1 ;;
      *) __dsx_subs "$node"; [[ " $r " == *" $w "* ]] && node="$node $w" ;;
    esac
  done
}
)";

std::string Bash(const std::vector<Node>& nodes) {
  std::string s =
      "# bash completion for dsx, made by `dsx completion bash` from this binary's commands.\n"
      "# Load it now:    source <(dsx completion bash)\n"
      "# or for good:    dsx completion bash > ~/.local/share/bash-completion/completions/dsx\n";
  s += ShData(nodes);
  s += kShWalk;
  s += R"(_dsx() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= node dashdash r
  local -a words=("${COMP_WORDS[@]}")
  COMPREPLY=()
  __dsx_walk 1 "$COMP_CWORD"
  if ((dashdash)); then compopt -o default 2>/dev/null; return 0; fi
  if ((COMP_CWORD > 0)); then prev=${COMP_WORDS[COMP_CWORD - 1]}; fi
  if [[ $prev == = && $COMP_CWORD -gt 1 ]]; then prev=${COMP_WORDS[COMP_CWORD - 2]}; fi
  if [[ $cur == = ]]; then cur=; fi
  if [[ $prev == -* ]]; then
    __dsx_valued "$node"
    if [[ $r == *" $prev "* ]]; then
      __dsx_choices "$node $prev"
      if [[ -n $r ]]; then COMPREPLY=($(compgen -W "$r" -- "$cur")); else compopt -o default 2>/dev/null; fi
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    __dsx_opts "$node"
    COMPREPLY=($(compgen -W "$r" -- "$cur"))
    return 0
  fi
  __dsx_subs "$node"
  [[ -z $r ]] && __dsx_choices "$node"
  if [[ -n $r ]]; then COMPREPLY=($(compgen -W "$r" -- "$cur")); return 0; fi
  compopt -o default 2>/dev/null
  return 0
}
complete -F _dsx dsx
)";
  return s;
}

std::string Zsh(const std::vector<Node>& nodes) {
  std::string s =
      "#compdef dsx\n"
      "# zsh completion for dsx, made by `dsx completion zsh` from this binary's commands.\n"
      "# Load it now:    source <(dsx completion zsh)        (after compinit)\n"
      "# or for good:    dsx completion zsh > \"${fpath[1]}/_dsx\"\n"
      "compdef _dsx dsx\n";
  s += ShData(nodes);
  std::string descs;
  for (const Node& n : nodes) {
    if (n.subs.empty()) continue;
    descs += "    " + ShQuote(n.path) + ") d=(";
    for (const auto& [name, help] : n.subs) descs += " " + ShQuote(name + ":" + Short(help));
    descs += " ) ;;\n";
  }
  s += "__dsx_descs() {\n  d=()\n  case $1 in\n" + descs + "  esac\n}\n";
  s += kShWalk;
  s += R"(_dsx() {
  local cur=${words[CURRENT]} prev=${words[CURRENT-1]} node dashdash r
  local -a d
  __dsx_walk 2 "$CURRENT"
  if ((dashdash)); then _files; return; fi
  if [[ $prev == -* ]]; then
    __dsx_valued "$node"
    if [[ $r == *" $prev "* ]]; then
      __dsx_choices "$node $prev"
      if [[ -n $r ]]; then compadd -- ${=r}; else _files; fi
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    __dsx_opts "$node"
    compadd -- ${=r}
    return
  fi
  __dsx_descs "$node"
  if (( ${#d} )); then _describe -t commands 'dsx command' d; return; fi
  __dsx_choices "$node"
  if [[ -n $r ]]; then compadd -- ${=r}; return; fi
  _files
}
if [ "$funcstack[1]" = "_dsx" ]; then _dsx "$@"; fi
)";
  return s;
}

std::string Fish(const std::vector<Node>& nodes) {
  std::string s =
      "# fish completion for dsx, made by `dsx completion fish` from this binary's commands.\n"
      "# Load it now:    dsx completion fish | source\n"
      "# or for good:    dsx completion fish > ~/.config/fish/completions/dsx.fish\n";
  std::string subs, valued, lines;
  for (const Node& n : nodes) {
    const std::string cond = "-n " + FishQuote("test (__dsx_node) = " + ShQuote(n.path));
    if (!n.subs.empty()) {
      subs += "    case " + FishQuote(n.path) + "\n        printf '%s\\n'";
      for (const auto& sub : n.subs) subs += " " + sub.first;
      subs += "\n";
    }
    for (const auto& sub : n.subs)
      lines += "complete -c dsx -f " + cond + " -a " + sub.first + " -d " + FishQuote(Short(sub.second)) + "\n";
    for (const auto& o : n.options) {
      lines += "complete -c dsx " + cond;
      for (const auto& name : o.names) {
        lines += name.rfind("--", 0) == 0 ? " -l " + name.substr(2) : " -s " + name.substr(1);
        if (o.takes_value) valued += "    case " + FishQuote(n.path + " " + name) + "\n        return 0\n";
      }
      if (o.takes_value) lines += o.choices.empty() ? " -r" : " -x -a " + FishQuote(Join(o.choices));
      lines += " -d " + FishQuote(Short(o.help)) + "\n";
    }
    if (n.subs.empty() && !n.positional_choices.empty())
      lines += "complete -c dsx -f " + cond + " -a " + FishQuote(Join(n.positional_choices)) + "\n";
    else if (n.subs.empty() && n.positional)
      lines += "complete -c dsx " + cond + " -F\n";
  }
  s += "function __dsx_subs\n    switch $argv[1]\n" + subs + "    end\nend\n";
  s += "function __dsx_valued\n    switch \"$argv[1] $argv[2]\"\n" + valued + "    end\n    return 1\nend\n";
  s += R"(# The subcommand the words before the cursor reached ("dsx session serve"), or "--" after --.
function __dsx_node
    set -l node dsx
    set -l skip 0
    set -l toks (commandline -opc)
    set -e toks[1]
    for w in $toks
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '--'
                printf '%s\n' --
                return
            case '-*=*'
            case '-*'
                if __dsx_valued $node $w
                    set skip 1
                end
            case '*'
                if contains -- $w (__dsx_subs $node)
                    set node "$node $w"
                end
        end
    end
    echo $node
end
complete -c dsx -f
complete -c dsx -n 'test (__dsx_node) = --' -F
)";
  s += lines;
  return s;
}

}  // namespace

void register_completion(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("completion", "print a shell completion script (bash, zsh or fish)");
  cmd->add_option("SHELL", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->footer(
      "Install:\n"
      "  bash: source <(dsx completion bash)     (or > ~/.local/share/bash-completion/completions/dsx)\n"
      "  zsh:  source <(dsx completion zsh)      (or > \"${fpath[1]}/_dsx\"; needs compinit)\n"
      "  fish: dsx completion fish | source      (or > ~/.config/fish/completions/dsx.fish)\n"
      "The script is made from this binary's commands, so regenerate it after an upgrade.");
  cmd->callback([shell, root = &app] {
    std::vector<Node> nodes;
    Walk(root, &nodes);
    std::string script = *shell == "bash" ? Bash(nodes) : *shell == "zsh" ? Zsh(nodes) : Fish(nodes);
    std::fwrite(script.data(), 1, script.size(), stdout);
    cli::SetExit(0);
  });
}

}  // namespace dsx::cmd
