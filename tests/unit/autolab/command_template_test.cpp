// command_template: shell-like splitting, placeholders, exact number formatting, no injection.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autolab/command_template.hpp"

using dsx::Code;
using dsx::autolab::ExpandCommand;
using dsx::autolab::FormatParamValue;
using dsx::autolab::Placeholders;
using dsx::autolab::SplitCommandWords;
using Words = std::vector<std::string>;

TEST_CASE("SplitCommandWords splits like a POSIX shell") {
  CHECK(*SplitCommandWords("python3  train.py\t--lr 1") == Words{"python3", "train.py", "--lr", "1"});
  CHECK(*SplitCommandWords("echo 'a b' \"c d\" e\\ f") == Words{"echo", "a b", "c d", "e f"});
  CHECK(*SplitCommandWords("echo 'it'\\''s' \"say \\\"hi\\\" \\\\ \\n\"") ==
        Words{"echo", "it's", "say \"hi\" \\ \\n"});
  CHECK(*SplitCommandWords("echo '' x\"\"y") == Words{"echo", "", "xy"});
  CHECK(*SplitCommandWords("a \\\n b") == Words{"a", "b"});
  CHECK(*SplitCommandWords("bash -c 'a | b > c; $HOME'") == Words{"bash", "-c", "a | b > c; $HOME"});
  CHECK(*SplitCommandWords("echo \\$x '$y'") == Words{"echo", "$x", "$y"});
}

TEST_CASE("SplitCommandWords refuses what only a shell would do, and broken quoting") {
  for (const char* bad : {"a | b", "a > f", "a; b", "a && b", "echo $HOME", "echo \"$HOME\"", "echo `id`", "f (x)",
                          "echo 'open", "echo \"open", "echo \\"}) {
    auto r = SplitCommandWords(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.status().code() == Code::kUsage);
  }
  CHECK(SplitCommandWords("a | b").status().message().find("bash -c") != std::string::npos);
}

TEST_CASE("ExpandCommand replaces placeholders inside words") {
  nlohmann::json p = {{"lr", 0.001}, {"width", 64}, {"opt", "adam"}, {"wd", true}};
  auto r = ExpandCommand("python3 {workdir}/train.py --lr={lr} --width {width} '--opt={opt}' --wd {wd} --seed {seed}",
                         p, "/runs/e-1", 7);
  REQUIRE(r.ok());
  CHECK(*r == Words{"python3", "/runs/e-1/train.py", "--lr=0.001", "--width", "64", "--opt=adam", "--wd", "true",
                    "--seed", "7"});
}

TEST_CASE("ExpandCommand never re-splits a value: spaces and quotes stay one argument") {
  nlohmann::json p = {{"msg", "a b; rm -rf / 'q' \"d\" $(x) {lr}"}};
  auto r = ExpandCommand("echo {msg}", p, "/w", 1);
  REQUIRE(r.ok());
  CHECK(*r == Words{"echo", "a b; rm -rf / 'q' \"d\" $(x) {lr}"});
}

TEST_CASE("ExpandCommand: escaped braces, unknown placeholders, bad braces, built-in names") {
  CHECK(*ExpandCommand("echo '{{\"a\":{n}}}'", {{"n", 2}}, "/w", 1) == Words{"echo", "{\"a\":2}"});
  auto unknown = ExpandCommand("train --lr {lr} --depth {depth}", {{"lr", 1}}, "/w", 1);
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().code() == Code::kUsage);
  CHECK(unknown.status().message().find("{depth}") != std::string::npos);
  CHECK(ExpandCommand("echo {", nlohmann::json::object(), "/w", 1).status().code() == Code::kUsage);
  CHECK(ExpandCommand("echo }", nlohmann::json::object(), "/w", 1).status().code() == Code::kUsage);
  CHECK(ExpandCommand("echo {a b}", nlohmann::json::object(), "/w", 1).status().code() == Code::kUsage);
  CHECK(ExpandCommand("echo {seed}", {{"seed", 3}}, "/w", 1).status().code() == Code::kUsage);
  CHECK(ExpandCommand("   ", nlohmann::json::object(), "/w", 1).status().code() == Code::kUsage);
}

TEST_CASE("FormatParamValue: numbers read back exactly") {
  CHECK(FormatParamValue(3) == "3");
  CHECK(FormatParamValue(-42) == "-42");
  CHECK(FormatParamValue(std::uint64_t{18446744073709551615ull}) == "18446744073709551615");
  CHECK(FormatParamValue(0.1) == "0.1");
  CHECK(FormatParamValue(1e-5) == "1e-05");
  CHECK(FormatParamValue(3.0) == "3");
  CHECK(FormatParamValue(1.0 / 3.0) == "0.3333333333333333");
  CHECK(std::stod(FormatParamValue(0.000316227766016838)) == 0.000316227766016838);
  CHECK(FormatParamValue(false) == "false");
  CHECK(FormatParamValue("x y") == "x y");
  CHECK(FormatParamValue(nlohmann::json::array({1, 2})) == "[1,2]");
}

TEST_CASE("Placeholders lists each name once, in order, built-ins included") {
  CHECK(Placeholders("python3 {workdir}/t.py --lr {lr} --b {b} --lr2 {lr} {{x}} --s {seed}") ==
        Words{"workdir", "lr", "b", "seed"});
  CHECK(Placeholders("echo 'open {lr}") == Words{"lr"});  // does not split, still named
}
