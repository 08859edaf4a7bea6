// Reading the researcher's note files (see notes.hpp).
#include "autolab/notes.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "autolab/note_text.hpp"
#include "core/process_group.hpp"

namespace dsx::autolab {

namespace stdfs = std::filesystem;

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Keeps at most max_bytes of `text` (at a character boundary, made valid UTF-8) in `note`.
void Bound(Note& note, std::string_view text, std::size_t full_size, std::size_t max_bytes) {
  std::string valid = ToValidUtf8(Utf8Prefix(text, max_bytes));
  // Replacement characters may have grown it past the bound: cut again (it is valid now).
  note.text = std::string(Utf8Prefix(valid, max_bytes));
  note.full_size = full_size;
  note.cut = full_size > max_bytes || valid.size() > note.text.size();
}

// An unlinked temporary file: gone with its last descriptor, whatever happens to this process.
Result<int> AnonymousFile() {
  std::string tmpl = (stdfs::temp_directory_path() / "dsx-note-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) return Status::Failed("cannot create a temporary file in " + tmpl);
  unlink(tmpl.c_str());
  return fd;
}

// Up to `limit` bytes from the start of `fd`, and its whole size.
std::pair<std::string, std::size_t> ReadPrefix(int fd, std::size_t limit) {
  std::size_t size = static_cast<std::size_t>(std::max<off_t>(0, lseek(fd, 0, SEEK_END)));
  lseek(fd, 0, SEEK_SET);
  std::string out;
  char buf[8192];
  while (out.size() < limit) {
    ssize_t n = read(fd, buf, std::min(sizeof buf, limit - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return {out, size};
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<Note> PdfToText(const std::string& path, const NoteOptions& options) {
  // An absolute path: a relative one starting with '-' would be read as an option.
  std::error_code ec;
  const std::string abs = stdfs::absolute(path, ec).string();
  if (ec) return Status::Failed("cannot resolve " + path);
  Result<int> out = AnonymousFile();
  if (!out.ok()) return out.status();
  FdCloser out_closer{*out};
  Result<int> err = AnonymousFile();
  if (!err.ok()) return err.status();
  FdCloser err_closer{*err};
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  FdCloser null_closer{devnull};

  // -enc UTF-8: the prompt is UTF-8 whatever the locale; -l: only the first pages; "-": to stdout.
  const std::vector<std::string> argv = {
      options.pdftotext, "-q", "-enc", "UTF-8", "-l", std::to_string(options.pdf_max_pages), abs, "-"};
  auto group = proc::ProcessGroup::Spawn(argv, {devnull, *out, *err});
  if (!group.ok()) {
    return Status::Unavailable(
        "cannot run " + options.pdftotext +
        " to read a PDF note (install Debian's poppler-utils: scripts/deps/autolab-research.apt): " +
        group.status().message());
  }
  // A real process: poll its exit with a generous limit (a huge or hostile PDF must not hang the run).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.pdf_timeout_ms);
  while (!(*group)->PollExit()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      (*group)->Stop(std::chrono::milliseconds(500));
      return Status::Failed(options.pdftotext + " did not finish within " +
                            std::to_string(options.pdf_timeout_ms / 1000) + " s on " + path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  proc::ExitInfo exit = (*group)->exit_info();
  if (!exit.exited || exit.code != 0) {
    auto [msg, size] = ReadPrefix(*err, 500);
    (void)size;
    std::string why = OneLine(ToValidUtf8(msg));
    if (why.empty() && exit.exited && exit.code == 1) why = "not a readable PDF";  // -q silences its own message
    return Status::Failed(options.pdftotext + " could not read " + path + " (" + exit.Describe() + ")" +
                          (why.empty() ? "" : ": " + why));
  }
  auto [text, size] = ReadPrefix(*out, options.max_bytes + 4);
  Note note;
  Bound(note, text, size, options.max_bytes);
  return note;
}

Result<Note> ReadNoteFile(const std::string& dir, const std::string& entry, const NoteOptions& options) {
  const stdfs::path path = dir.empty() ? stdfs::path(entry) : stdfs::path(dir) / entry;
  std::error_code ec;
  auto st = stdfs::status(path, ec);
  if (ec || !stdfs::exists(st)) return Status::NotFound("note '" + entry + "' not found (" + path.string() + ")");
  if (stdfs::is_directory(st)) return Status::Usage("note '" + entry + "' is a folder, not a file");
  Note note;
  if (Lower(path.extension().string()) == ".pdf") {
    Result<Note> pdf = PdfToText(path.string(), options);
    if (!pdf.ok()) return pdf.status().Wrap("note '" + entry + "'");
    note = std::move(*pdf);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Failed("note '" + entry + "': cannot open " + path.string());
    std::string text(options.max_bytes + 4, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    std::size_t size = static_cast<std::size_t>(stdfs::file_size(path, ec));
    if (ec) size = text.size();
    if (text.find('\0') != std::string::npos) {
      return Status::Usage("note '" + entry +
                           "' is a binary file: notes are Markdown, text or PDF (a .pdf is converted with pdftotext)");
    }
    Bound(note, text, size, options.max_bytes);
  }
  note.name = entry;
  return note;
}

}  // namespace dsx::autolab
