// Sweep and evolve generators, the Planner's queue, and patch application (see generate.hpp).
#include "autolab/generate.hpp"

#include "autolab/ledger.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <utility>

#include "core/hash.hpp"
#include "core/process_group.hpp"

namespace dsx::autolab {
namespace {

constexpr const char* kBaseline = "baseline";

std::uint64_t SplitMix64(std::uint64_t* x) {
  std::uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::string JoinPatches(const std::vector<std::string>& patches) {
  std::string joined;
  for (const std::string& p : patches) {
    joined += p;
    if (!p.empty() && p.back() != '\n') joined += '\n';
  }
  return joined;
}

nlohmann::json ToObject(const std::map<std::string, nlohmann::json>& m) {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// The values one parameter takes in a grid sweep.
Result<std::vector<nlohmann::json>> GridValues(const Param& p) {
  std::vector<nlohmann::json> out;
  switch (p.kind) {
    case Param::kGrid:
    case Param::kChoice:
      if (p.values.empty()) return Status::Usage("sweep parameter '" + p.name + "' has no values");
      return p.values;
    case Param::kInt: {
      auto lo = static_cast<std::int64_t>(std::llround(p.low)), hi = static_cast<std::int64_t>(std::llround(p.high));
      if (hi < lo) return Status::Usage("sweep parameter '" + p.name + "': high is below low");
      if (p.count <= 0) {
        if (hi - lo >= 100000)
          return Status::Usage("sweep parameter '" + p.name + "': too many integers; give a count");
        for (std::int64_t v = lo; v <= hi; ++v) out.emplace_back(v);
        return out;
      }
      for (int i = 0; i < p.count; ++i) {
        double t = p.count == 1 ? 0.0 : static_cast<double>(i) / (p.count - 1);
        auto v = static_cast<std::int64_t>(std::llround(static_cast<double>(lo) + t * static_cast<double>(hi - lo)));
        if (out.empty() || out.back().get<std::int64_t>() != v) out.emplace_back(v);  // no repeated points
      }
      return out;
    }
    case Param::kUniform:
    case Param::kLogUniform: {
      if (p.count <= 0) return Status::Usage("sweep parameter '" + p.name + "': a grid over a range needs a count");
      bool log = p.kind == Param::kLogUniform;
      if (log && (p.low <= 0 || p.high <= 0)) {
        return Status::Usage("sweep parameter '" + p.name + "': log_uniform needs low and high above 0");
      }
      for (int i = 0; i < p.count; ++i) {
        if (i == 0 || p.count == 1) {
          out.emplace_back(p.low);
        } else if (i == p.count - 1) {
          out.emplace_back(p.high);  // end points exactly as written
        } else {
          double t = static_cast<double>(i) / (p.count - 1);
          double v =
              log ? std::exp(std::log(p.low) + t * (std::log(p.high) - std::log(p.low))) : p.low + t * (p.high - p.low);
          out.emplace_back(RoundSignificant(v));
        }
      }
      return out;
    }
  }
  return Status::Usage("sweep parameter '" + p.name + "' has an unknown kind");
}

nlohmann::json RandomValue(const Param& p, Rng* rng) {
  switch (p.kind) {
    case Param::kGrid:
    case Param::kChoice:
      return p.values[static_cast<std::size_t>(rng->UniformInt(0, static_cast<std::int64_t>(p.values.size()) - 1))];
    case Param::kInt: return rng->UniformInt(std::llround(p.low), std::llround(p.high));
    case Param::kUniform: return RoundSignificant(p.low + rng->Uniform01() * (p.high - p.low));
    case Param::kLogUniform: {
      double u = rng->Uniform01();
      return RoundSignificant(std::exp(std::log(p.low) + u * (std::log(p.high) - std::log(p.low))));
    }
  }
  return nullptr;
}

void AddRepeats(const Plan& plan, const nlohmann::json& params, const std::vector<std::string>& patches,
                const std::string& hypothesis, const std::string& rationale, std::vector<Candidate>* out) {
  int repeats = std::max(1, plan.objective.repeats);
  for (int seed = 0; seed < repeats; ++seed)
    out->push_back(MakeCandidate(params, patches, seed, hypothesis, rationale));
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) s = SplitMix64(&x);  // never all zero: splitmix64 is a bijection of a counter
}

std::uint64_t Rng::Next() {
  std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

std::int64_t Rng::UniformInt(std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (range == 0) return static_cast<std::int64_t>(Next());  // the whole 64-bit range
  std::uint64_t threshold = (0 - range) % range;             // 2^64 mod range: reject below it, no bias
  for (;;) {
    std::uint64_t x = Next();
    if (x >= threshold) return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % range);
  }
}

double RoundSignificant(double v, int digits) {
  if (!std::isfinite(v) || v == 0) return v;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return std::strtod(buf, nullptr);
}

Candidate MakeCandidate(nlohmann::json params, std::vector<std::string> patches, std::int64_t seed,
                        std::string hypothesis, std::string rationale) {
  Candidate c;
  c.params = params.is_object() ? std::move(params) : nlohmann::json::object();
  c.patches = std::move(patches);
  c.patch = JoinPatches(c.patches);
  c.seed = seed;
  c.hypothesis = std::move(hypothesis);
  c.rationale = std::move(rationale);
  // The ledger's identities, so a candidate and its ledger row agree on what it is.
  c.config_key = ConfigKey(c.params, c.patch);
  c.id = ExperimentId(c.params, seed, c.patch);
  return c;
}

Result<std::vector<Candidate>> ExpandSweep(const Plan& plan) {
  if (!plan.sweep) return Status::Usage("the plan has no sweep");
  const Sweep& sweep = *plan.sweep;
  std::vector<Candidate> out;
  if (sweep.mode == Sweep::kRandom) {
    for (const Param& p : sweep.params) {
      if ((p.kind == Param::kGrid || p.kind == Param::kChoice) && p.values.empty()) {
        return Status::Usage("sweep parameter '" + p.name + "' has no values");
      }
      if (p.kind == Param::kLogUniform && (p.low <= 0 || p.high <= 0)) {
        return Status::Usage("sweep parameter '" + p.name + "': log_uniform needs low and high above 0");
      }
    }
    Rng rng(sweep.seed);
    for (int s = 0; s < sweep.samples; ++s) {
      nlohmann::json params = nlohmann::json::object();
      for (const Param& p : sweep.params) params[p.name] = RandomValue(p, &rng);  // draws in name order
      AddRepeats(plan, params, {}, "", "", &out);
    }
    return out;
  }
  std::vector<std::vector<nlohmann::json>> axes;
  for (const Param& p : sweep.params) {
    Result<std::vector<nlohmann::json>> values = GridValues(p);
    if (!values.ok()) return values.status();
    axes.push_back(std::move(*values));
  }
  if (axes.empty()) {
    AddRepeats(plan, nlohmann::json::object(), {}, "", "", &out);
    return out;
  }
  // An odometer over the axes: the last parameter changes fastest.
  std::vector<std::size_t> at(axes.size(), 0);
  for (;;) {
    nlohmann::json params = nlohmann::json::object();
    for (std::size_t i = 0; i < axes.size(); ++i) params[sweep.params[i].name] = axes[i][at[i]];
    AddRepeats(plan, params, {}, "", "", &out);
    std::size_t i = axes.size();
    while (i > 0 && ++at[i - 1] == axes[i - 1].size()) at[--i] = 0;
    if (i == 0) return out;
  }
}

EvolveState InitialEvolveState(const Plan& plan) {
  EvolveState s;
  if (plan.evolve) s.best_params = plan.evolve->base;
  return s;
}

EvolveState RecordOutcome(const Plan& plan, EvolveState state, const std::string& hypothesis_id, bool won) {
  if (hypothesis_id == kBaseline) {
    if (!state.baseline_done && plan.evolve) state.best_params = plan.evolve->base;
    state.baseline_done = true;
    return state;
  }
  state.tried.push_back({hypothesis_id, won});
  if (!won || !plan.evolve) return state;  // lost: reverted, nothing of it is kept
  for (const Hypothesis& h : plan.evolve->hypotheses) {
    if (h.id != hypothesis_id) continue;
    for (const auto& [k, v] : h.overrides) state.best_params[k] = v;
    if (!h.patch.empty()) state.best_patches.push_back(h.patch);
    break;
  }
  return state;
}

std::optional<std::vector<Candidate>> NextEvolveStep(const Plan& plan, const EvolveState& state) {
  if (!plan.evolve) return std::nullopt;
  std::vector<Candidate> out;
  if (!state.baseline_done) {
    AddRepeats(plan, ToObject(plan.evolve->base), {}, kBaseline, "the plan's base parameters, no patch", &out);
    return out;
  }
  std::set<std::string> tried;
  for (const HypothesisOutcome& o : state.tried) tried.insert(o.id);
  for (const Hypothesis& h : plan.evolve->hypotheses) {
    if (tried.count(h.id)) continue;
    std::map<std::string, nlohmann::json> params = state.best_params;
    for (const auto& [k, v] : h.overrides) params[k] = v;
    std::vector<std::string> patches = state.best_patches;
    if (!h.patch.empty()) patches.push_back(h.patch);
    AddRepeats(plan, ToObject(params), patches, h.id, h.rationale, &out);
    return out;
  }
  return std::nullopt;
}

std::vector<Candidate> PlanQueue(std::vector<Candidate> proposed, const std::set<std::string>& already_known_ids,
                                 int budget_left, std::vector<std::string>* notes) {
  // Group by configuration, first appearance first; a configuration's repeats stay together even
  // when the generator interleaved them.
  std::vector<std::vector<Candidate>> groups;
  std::map<std::string, std::size_t> group_of;
  std::set<std::string> seen = already_known_ids;
  for (Candidate& c : proposed) {
    if (!seen.insert(c.id).second) continue;  // already run, running, queued, or earlier in this list
    auto [it, fresh] = group_of.emplace(c.config_key, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(std::move(c));
  }
  std::vector<Candidate> queue;
  int left = std::max(0, budget_left);
  for (std::vector<Candidate>& g : groups) {
    if (static_cast<int>(g.size()) > left) {
      if (notes) {
        notes->push_back("configuration " + g.front().config_key.substr(0, 12) + " (" + g.front().params.dump() +
                         ") dropped: its " + std::to_string(g.size()) + " remaining repeats do not fit the budget (" +
                         std::to_string(left) + " left)");
      }
      continue;
    }
    left -= static_cast<int>(g.size());
    for (Candidate& c : g) queue.push_back(std::move(c));
  }
  return queue;
}

namespace {

// A file that is already unlinked: it disappears with its last descriptor.
Result<int> AnonymousFile() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "dsx-patch-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) return Status::Failed("cannot create a temporary file in " + tmpl);
  unlink(tmpl.c_str());
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  lseek(fd, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

// Runs GNU patch once over the diff in `diff_fd`; returns its exit info and output.
Result<std::pair<proc::ExitInfo, std::string>> RunPatch(const std::string& workdir, int diff_fd, bool dry_run,
                                                        bool reverse) {
  std::vector<std::string> argv = {"patch",           "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
                                   "--reject-file=-", "-d",  workdir};
  if (dry_run) argv.push_back("--dry-run");
  if (reverse) argv.push_back("--reverse");
  Result<int> out_fd = AnonymousFile();
  if (!out_fd.ok()) return out_fd.status();
  lseek(diff_fd, 0, SEEK_SET);
  auto group = proc::ProcessGroup::Spawn(argv, {diff_fd, *out_fd, *out_fd});
  if (!group.ok()) {
    close(*out_fd);
    return Status::Unavailable("cannot run patch (GNU patch; Debian package 'patch'): " + group.status().message());
  }
  proc::ExitInfo exit = (*group)->Wait();
  std::string output = ReadAll(*out_fd);
  close(*out_fd);
  return std::make_pair(exit, output);
}

Result<std::string> ApplyOne(const std::string& workdir, const std::string& patch_text, bool reverse) {
  if (patch_text.empty()) return std::string();
  std::error_code ec;
  if (!std::filesystem::is_directory(workdir, ec)) return Status::NotFound("no such folder: " + workdir);
  Result<int> diff_fd = AnonymousFile();
  if (!diff_fd.ok()) return diff_fd.status();
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{*diff_fd};
  for (std::size_t off = 0; off < patch_text.size();) {
    ssize_t n = write(*diff_fd, patch_text.data() + off, patch_text.size() - off);
    if (n <= 0) return Status::Failed("cannot write the patch to a temporary file");
    off += static_cast<std::size_t>(n);
  }
  // Check first, then apply: a patch whose hunks do not all apply leaves the files as they were.
  for (bool dry_run : {true, false}) {
    auto run = RunPatch(workdir, *diff_fd, dry_run, reverse);
    if (!run.ok()) return run.status();
    const auto& [exit, output] = *run;
    if (!exit.exited || exit.code != 0) {
      std::string msg = output;
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return Status::Failed(std::string(dry_run ? "the patch does not apply" : "the patch failed while applying") +
                            " (patch: " + exit.Describe() + "): " + msg);
    }
    if (!dry_run) return output;
  }
  return std::string();
}

}  // namespace

Result<std::string> ApplyPatch(const std::string& workdir, const std::string& patch_text) {
  return ApplyOne(workdir, patch_text, /*reverse=*/false);
}

Result<std::string> ApplyPatches(const std::string& workdir, const std::vector<std::string>& patches) {
  std::string output;
  for (std::size_t i = 0; i < patches.size(); ++i) {
    Result<std::string> r = ApplyPatch(workdir, patches[i]);
    if (!r.ok()) {
      for (std::size_t j = i; j > 0; --j) (void)ApplyOne(workdir, patches[j - 1], /*reverse=*/true);  // undo
      return r.status().Wrap("patch " + std::to_string(i + 1) + " of " + std::to_string(patches.size()));
    }
    output += *r;
  }
  return output;
}

}  // namespace dsx::autolab
