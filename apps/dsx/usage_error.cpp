#include "usage_error.hpp"

#include <algorithm>
#include <cstdio>

#include "cli.hpp"

namespace dsx::cli {
namespace {

// Edits (insert, delete, substitute, swap two neighbours) between a and b: a swapped pair
// ("tial" for "tail") is the commonest typo, so it counts as one edit.
std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The chain of subcommands the parser entered: root, group, command.
std::vector<const CLI::App*> SelectedChain(const CLI::App& root) {
  std::vector<const CLI::App*> chain{&root};
  for (;;) {
    auto subs = chain.back()->get_subcommands();
    if (subs.empty()) break;
    chain.push_back(subs.back());
  }
  return chain;
}

std::vector<std::string> SubcommandNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* s : app->get_subcommands(std::function<bool(const CLI::App*)>())) {
    if (!s->get_name().empty() && !s->get_group().empty()) names.push_back(s->get_name());  // not hidden ones
  }
  return names;
}

std::vector<std::string> LongOptionNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app->get_options()) {
    for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
  }
  return names;
}

// Words the parser could not place: unknown options and positionals left over ("--" dropped).
std::vector<std::string> Extras(const std::vector<const CLI::App*>& chain) {
  std::vector<std::string> out;
  for (const CLI::App* a : chain) {
    for (const std::string& w : a->remaining(false)) {
      if (w != "--") out.push_back(w);
    }
  }
  return out;
}

std::string ShellQuote(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@+%") ==
                        std::string::npos)
    return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The command line again with "--" before the words a trailing positional (COMMAND...) took,
// or "" when it took none: `dsx session run x/1 bash -c ...` -> `dsx session run x/1 -- bash -c ...`.
std::string WithDoubleDash(const CLI::App* cmd, const std::vector<std::string>& argv) {
  const CLI::Option* rest = nullptr;
  for (const CLI::Option* o : cmd->get_options()) {
    if (!o->nonpositional() && o->get_items_expected_max() > 1) rest = o;
  }
  if (rest == nullptr || rest->results().empty()) return "";
  if (std::find(argv.begin(), argv.end(), "--") != argv.end()) return "";
  auto first = std::find(argv.begin() + 1, argv.end(), rest->results().front());
  if (first == argv.end()) return "";
  std::string line = "dsx";
  for (auto it = argv.begin() + 1; it != argv.end(); ++it) {
    if (it == first) line += " --";
    std::string w = ShellQuote(*it);
    if (line.size() + w.size() > 90) {
      line += " ...";
      break;
    }
    line += " " + w;
  }
  return line;
}

void Say(const std::string& line) { std::fprintf(stderr, "dsx: %s\n", line.c_str()); }

// A word from the command line as the error shows it: control characters (an escape sequence
// would drive the terminal) as '?', and at most `max` bytes.
std::string Shown(const std::string& word, std::size_t max = 80) {
  std::string out;
  for (char c : word.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return word.size() > max ? out + "..." : out;
}

void SayUnknown(const std::string& what, const std::string& word, const std::string& path,
                const std::vector<std::string>& candidates) {
  std::string line = "unknown " + what + " '" + Shown(word) + "' for '" + path + "'";
  std::string guess = DidYouMean(word.substr(0, word.find('=')), candidates);
  if (!guess.empty()) line += " (did you mean '" + guess + "'?)";
  Say(line);
}

}  // namespace

std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return "";  // no command is that long; and the distance table stays small
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const std::string& c : candidates) {
    std::size_t d = EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (!best.empty() && best_d <= 2 && best_d * 3 <= std::max<std::size_t>(word.size(), 3)) return best;
  std::string prefixed;
  for (const std::string& c : candidates) {
    if (word.size() >= 2 && c.rfind(word, 0) == 0) {
      if (!prefixed.empty()) return "";  // two commands begin so: no guess
      prefixed = c;
    }
  }
  return prefixed;
}

int ReportUsageError(const CLI::App& root, const CLI::ParseError& e, const std::vector<std::string>& argv) {
  std::fflush(stdout);
  const auto chain = SelectedChain(root);
  const CLI::App* cmd = chain.back();
  const std::string path = CommandPath(cmd);
  const auto extras = Extras(chain);
  const bool group = !SubcommandNames(cmd).empty();

  if (!extras.empty()) {
    const std::string& w = extras.front();
    if (w.size() > 1 && w[0] == '-') {
      SayUnknown("option", w, path, LongOptionNames(cmd));
      std::string fixed = WithDoubleDash(cmd, argv);
      if (!fixed.empty()) Say("to pass '" + Shown(w) + "' to the command, put the command after --: " + Shown(fixed, 200));
    } else if (group) {
      SayUnknown("command", w, path, SubcommandNames(cmd));
    } else {
      std::string line = "unexpected argument";
      if (extras.size() > 1) line += "s";
      for (std::size_t i = 0; i < extras.size() && i < 5; ++i) line += " '" + Shown(extras[i]) + "'";
      if (extras.size() > 5) line += " ...";
      Say(line + " for '" + path + "'");
    }
  } else if (group && cmd->get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    Say("'" + path + "' needs a command");
  } else {
    Say(Shown(path == "dsx" ? std::string(e.what()) : path.substr(4) + ": " + e.what(), 300));
  }
  if (group && cmd->get_subcommands().empty()) {
    // The usage with the list of subcommands, as --help shows it.
    std::fputs("\n", stderr);
    const CLI::App* parent = cmd->get_parent();
    std::fputs(cmd->help(parent ? CommandPath(parent) : "").c_str(), stderr);  // "Usage: dsx session ..."
  } else {
    Say("see '" + path + " --help'");
  }
  return 2;
}

}  // namespace dsx::cli
