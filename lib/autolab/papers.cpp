// Paper pages from the Hub or arXiv for the researcher's notes (see papers.hpp).
#include "autolab/papers.hpp"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <regex>

#include <nlohmann/json.hpp>

#include "autolab/note_text.hpp"
#include "core/json_limits.hpp"

namespace dsx::autolab {

namespace {

constexpr std::string_view kArxivPrefix = "arxiv:";
constexpr std::string_view kHfPrefix = "hf-paper:";

// arXiv's identifier forms (https://info.arxiv.org/help/arxiv_identifier.html): YYMM.NNNNN (4 or 5
// digits) with an optional version, and the pre-2007 archive/YYMMNNN. Checked so that nothing but
// an id is ever put into a URL.
bool IsArxivId(std::string_view id, bool old_style_allowed) {
  static const std::regex kNew(R"(\d{4}\.\d{4,5}(v\d{1,3})?)");
  static const std::regex kOld(R"([a-z][a-z-]{1,15}(\.[A-Z]{2})?/\d{7}(v\d{1,3})?)");
  if (id.size() > 40) return false;
  const std::string s(id);
  return std::regex_match(s, kNew) || (old_style_allowed && std::regex_match(s, kOld));
}

std::string Trimmed(std::string_view s) { return OneLine(s); }

// "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#NN;" and "&#xNN;" decoded; anything else kept as is.
std::string DecodeEntities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    std::string_view name = s.substr(i + 1, semi - i - 1);
    std::uint32_t cp = 0;
    bool ok = true;
    if (name == "amp") cp = '&';
    else if (name == "lt") cp = '<';
    else if (name == "gt") cp = '>';
    else if (name == "quot") cp = '"';
    else if (name == "apos") cp = '\'';
    else if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      std::string digits(name.substr(hex ? 2 : 1));
      char* end = nullptr;
      unsigned long v = digits.empty() ? 0 : std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      ok = !digits.empty() && end && *end == '\0' && v > 0 && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF) &&
           std::isalnum(static_cast<unsigned char>(digits[0]));
      cp = static_cast<std::uint32_t>(v);
    } else {
      ok = false;
    }
    if (!ok) {
      out += s[i];
      continue;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    i = semi;
  }
  return out;
}

// The text of the first <tag>...</tag> (a tag with attributes too) inside `xml`, or nullopt.
std::optional<std::string_view> Element(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  for (std::size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at + 1)) {
    std::size_t after = at + open.size();
    if (after >= xml.size() || (xml[after] != '>' && xml[after] != ' ' && xml[after] != '\n')) continue;
    std::size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) return std::nullopt;
    if (xml[gt - 1] == '/') return std::string_view();  // <tag/>
    const std::string close = "</" + std::string(tag) + ">";
    std::size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return xml.substr(gt + 1, end - gt - 1);
  }
  return std::nullopt;
}

std::string Excerpt(std::string_view s) {
  std::string one = OneLine(ToValidUtf8(Utf8Prefix(s, 160)));
  return one.empty() ? "(empty)" : one;
}

}  // namespace

bool LooksLikePaperRef(std::string_view entry) {
  return entry.substr(0, kArxivPrefix.size()) == kArxivPrefix || entry.substr(0, kHfPrefix.size()) == kHfPrefix;
}

std::optional<PaperRef> ParsePaperRef(std::string_view entry) {
  PaperRef ref;
  if (entry.substr(0, kArxivPrefix.size()) == kArxivPrefix) {
    ref.source = PaperRef::kArxiv;
    ref.id = std::string(entry.substr(kArxivPrefix.size()));
    if (!IsArxivId(ref.id, true)) return std::nullopt;
  } else if (entry.substr(0, kHfPrefix.size()) == kHfPrefix) {
    ref.source = PaperRef::kHfPaper;
    ref.id = std::string(entry.substr(kHfPrefix.size()));
    if (!IsArxivId(ref.id, false)) return std::nullopt;  // the Hub's paper pages use new-style ids
  } else {
    return std::nullopt;
  }
  return ref;
}

Result<PaperText> ParseHfPaper(std::string_view body) {
  Result<nlohmann::json> j = ParseJsonBounded(body);
  if (!j.ok() || !j->is_object()) return Status::Failed("the Hub's paper page is not a JSON object: " + Excerpt(body));
  auto title = j->find("title");
  auto summary = j->find("summary");
  if (title == j->end() || !title->is_string() || summary == j->end() || !summary->is_string())
    return Status::Failed("the Hub's paper page has no string 'title' and 'summary'");
  PaperText p;
  p.title = Trimmed(title->get<std::string>());
  p.abstract = Trimmed(summary->get<std::string>());
  if (p.title.empty() && p.abstract.empty())
    return Status::Failed("the Hub's paper page has an empty title and summary");
  return p;
}

Result<PaperText> ParseArxivAtom(std::string_view body) {
  auto entry = Element(body, "entry");
  if (!entry) {
    if (body.find("<entry") != std::string_view::npos)
      return Status::Failed("arXiv's answer has an unterminated <entry>");
    if (body.find("<feed") == std::string_view::npos)
      return Status::Failed("arXiv's answer is not an Atom feed: " + Excerpt(body));
    return Status::NotFound("arXiv has no entry for this id");
  }
  auto title = Element(*entry, "title");
  auto summary = Element(*entry, "summary");
  if (!title || !summary) return Status::Failed("arXiv's entry has no <title> and <summary>");
  PaperText p;
  p.title = Trimmed(ToValidUtf8(DecodeEntities(*title)));
  p.abstract = Trimmed(ToValidUtf8(DecodeEntities(*summary)));
  // An unknown or malformed id comes back as an entry titled "Error" whose summary says why.
  if (p.title == "Error") return Status::NotFound("arXiv: " + Excerpt(p.abstract));
  if (p.title.empty() && p.abstract.empty()) return Status::Failed("arXiv's entry has an empty title and summary");
  return p;
}

PaperOptions PaperOptionsFromEnv() {
  PaperOptions o;
  if (const char* e = std::getenv("HF_ENDPOINT"); e && *e) o.hf_endpoint = e;
  while (!o.hf_endpoint.empty() && o.hf_endpoint.back() == '/') o.hf_endpoint.pop_back();
  if (const char* off = std::getenv("HF_HUB_OFFLINE"); off) {
    std::string v = off;
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    o.offline = v == "1" || v == "true" || v == "yes" || v == "on";
  }
  return o;
}

Result<PaperText> FetchPaper(const PaperRef& ref, net::Transport& transport, const PaperOptions& options) {
  if (options.offline) return Status::Unavailable("offline (HF_HUB_OFFLINE)");
  net::HttpRequest req;
  const bool hf = ref.source == PaperRef::kHfPaper;
  req.url = hf ? options.hf_endpoint + "/api/papers/" + ref.id
               : options.arxiv_endpoint + "/api/query?id_list=" + ref.id + "&max_results=1";
  req.headers = {{"Accept", hf ? "application/json" : "application/atom+xml"}};
  req.connect_timeout_ms = options.connect_timeout_ms;
  req.timeout_ms = options.total_timeout_ms;
  net::Exchange x = transport.Send(req);
  if (!x.ok()) return Status::Unavailable(req.url + " not reachable: " + x.error.message());
  const int status = x.response.status;
  if (status == 404) return Status::NotFound(req.url + ": no such paper (404)");
  if (status == 429 || status >= 500) return Status::Unavailable(req.url + " answered " + std::to_string(status));
  if (status != 200) return Status::Failed(req.url + " answered " + std::to_string(status));
  Result<PaperText> text = hf ? ParseHfPaper(x.response.body) : ParseArxivAtom(x.response.body);
  if (!text.ok()) return text.status().Wrap(req.url);
  return text;
}

}  // namespace dsx::autolab
