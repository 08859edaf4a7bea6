// Builds the Jobs API create body; see hf_job_spec.hpp for the file-inlining scheme and why.
#include "jobs/hf/hf_job_spec.hpp"

#include <set>
#include <vector>

namespace dsx::jobs::hf {
namespace {

constexpr std::string_view kJobdir = "{jobdir}";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// Every "{jobdir}/<name>" in the argv; <name> runs over [A-Za-z0-9._-], so the names are safe
// to write unquoted into the decoding script.
std::set<std::string> ReferencedFiles(const std::vector<std::string>& argv) {
  std::set<std::string> names;
  for (const auto& arg : argv) {
    for (size_t at = arg.find(kJobdir); at != std::string::npos; at = arg.find(kJobdir, at + 1)) {
      size_t b = at + kJobdir.size();
      if (b >= arg.size() || arg[b] != '/') continue;
      size_t e = ++b;
      while (e < arg.size() && IsNameChar(arg[e])) ++e;
      if (e > b) names.insert(arg.substr(b, e - b));
    }
  }
  return names;
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// Space IDs replace dockerImage for images hosted as Spaces (as _create_job_spec does).
void SetImage(nlohmann::json& spec, const std::string& image) {
  for (std::string_view prefix :
       {"https://huggingface.co/spaces/", "https://hf.co/spaces/", "huggingface.co/spaces/", "hf.co/spaces/"}) {
    if (image.rfind(prefix, 0) == 0) {
      spec["spaceId"] = image.substr(prefix.size());
      return;
    }
  }
  spec["dockerImage"] = image;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<nlohmann::json> BuildJobSpec(const JobRecord& record, const SecretLookup& secrets) {
  const JobRequest& req = record.request;
  if (req.command.empty()) return Status::Usage("the job has no command");
  if (req.timeout_s < 0) return Status::Usage("the job's timeout must not be negative");

  nlohmann::json environment = nlohmann::json::object();
  for (const auto& [k, v] : req.env) {
    if (k.rfind("DSX_FILE_", 0) == 0) return Status::Usage("environment variable " + k + " is reserved for job files");
    environment[k] = v;
  }

  // Files named by the command travel inline (see the header); the rest stay in the job folder.
  std::vector<std::string> command = req.command;
  std::set<std::string> referenced = ReferencedFiles(req.command);
  bool uses_jobdir = false;
  for (auto& arg : command) {
    if (arg.find(kJobdir) != std::string::npos) uses_jobdir = true;
    arg = ReplaceAll(arg, kJobdir, kInlineDir);
  }
  // A name with no file is something the job writes there ("--output_dir {jobdir}/out").
  std::erase_if(referenced, [&](const std::string& name) { return !req.files.count(name); });
  if (!referenced.empty()) {
    std::string script = std::string("set -e; mkdir -p ") + kInlineDir + "; ";
    int n = 0;
    for (const auto& name : referenced) {
      auto it = req.files.find(name);
      std::string encoded = Base64Encode(it->second);
      if (encoded.size() > kMaxInlineBase64) {
        return Status::Usage("file '" + name + "' is " + std::to_string(it->second.size()) +
                             " bytes: Hugging Face jobs get files inline in the environment, at most " +
                             std::to_string(kMaxInlineBase64 / 4 * 3 / 1024) +
                             " KiB each; put it in a Hub repository and name it by URL");
      }
      std::string var = "DSX_FILE_" + std::to_string(n++);
      environment[var] = encoded;
      script += "printf %s \"$" + var + "\" | base64 -d > " + kInlineDir + "/" + name + "; unset " + var + "; ";
    }
    script += "exec \"$@\"";
    command.insert(command.begin(), {"sh", "-c", script, "dsx-job"});
  } else if (uses_jobdir) {
    // "{jobdir}" only as a place for outputs: it must exist in the container too.
    command.insert(command.begin(), {"sh", "-c", std::string("mkdir -p ") + kInlineDir + " && exec \"$@\"", "dsx-job"});
  }

  nlohmann::json spec;
  spec["command"] = command;
  spec["arguments"] = nlohmann::json::array();
  spec["flavor"] = req.resources.flavor.empty() ? kDefaultFlavor : req.resources.flavor;
  if (!req.secret_env.empty()) {
    nlohmann::json secret_values = nlohmann::json::object();
    for (const auto& name : req.secret_env) {
      if (environment.contains(name)) {
        return Status::Usage(name + " is both a plain environment variable and a secret of the job");
      }
      if (secrets) {
        auto value = secrets(name);
        if (!value.ok()) return value.status();
        secret_values[name] = *value;
      } else {
        secret_values[name] = "<from $" + name + ">";
      }
    }
    spec["secrets"] = secret_values;
  }
  spec["environment"] = environment;
  spec["timeoutSeconds"] = req.timeout_s > 0 ? req.timeout_s : kDefaultTimeoutS;
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [k, v] : req.labels) labels[k] = v;
  labels["dsx-job"] = record.id;
  spec["labels"] = labels;
  SetImage(spec, req.resources.image.empty() ? kDefaultImage : req.resources.image);
  return spec;
}

}  // namespace dsx::jobs::hf
