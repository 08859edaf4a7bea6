// Usage errors of the command line, said so that the reader knows what to do next: which
// (sub)command's --help to read, the unknown word with a did-you-mean, `--` before a command
// that has options of its own, and the list of subcommands when one is missing.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace dsx::cli {

// Prints the error for `e` (thrown by root.parse) on stderr and returns the exit code: 2.
int ReportUsageError(const CLI::App& root, const CLI::ParseError& e, const std::vector<std::string>& argv);

// The closest of `candidates` to `word` when it is close enough to be a likely typo (edit
// distance <= 2, at most a third of the word), or a unique candidate that `word` begins; "" else.
std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dsx::cli
