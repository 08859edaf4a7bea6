// The AutoLab researcher's notes: the files `researcher.notes` lists (relative to the plan's
// folder), read into bounded text the prompt quotes and the model cites by name. Markdown, text and
// other plain files are read as they are; a .pdf goes through `pdftotext` (Debian poppler-utils,
// scripts/deps/autolab-research.apt), run without a shell, with a time limit. Each note is cut to a
// bound (the prompt says so), because a model's context is finite and a long paper's first pages
// (abstract, method) are what a one-change hypothesis draws on. Paper pages ("arxiv:<id>",
// "hf-paper:<id>") are not files: papers.hpp fetches them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.hpp"

namespace dsx::autolab {

struct Note {
  std::string name;           // the entry as the plan writes it ("notes.md", "arxiv:2406.12345")
  std::string text;           // valid UTF-8, at most NoteOptions::max_bytes; "" when skipped
  bool cut = false;           // the text was cut at the bound
  std::size_t full_size = 0;  // bytes of text before cutting (for a file read only up to the bound: at least)
  std::string skipped;        // why the note is not in the prompt (a paper that was not reachable); "" = read
};

struct NoteOptions {
  std::size_t max_bytes = 20000;        // per note
  std::string pdftotext = "pdftotext";  // program (PATH lookup); tests point it elsewhere
  std::int64_t pdf_timeout_ms = 60000;  // the converter's process group is killed after this
  int pdf_max_pages = 50;               // pages converted (the bound keeps only the first ones anyway)
};

// Reads the note file `entry` (relative to `dir`). kNotFound when it does not exist; kUsage for a
// folder or a binary file that is not a PDF; kUnavailable when pdftotext is missing (naming the
// package to install) and kFailed when it cannot convert the file (its message).
Result<Note> ReadNoteFile(const std::string& dir, const std::string& entry, const NoteOptions& options = {});

// The text of a PDF (UTF-8, layout-free reading order), at most `max_bytes` bytes kept; `cut` says
// whether more was there. Errors as ReadNoteFile.
Result<Note> PdfToText(const std::string& path, const NoteOptions& options = {});

}  // namespace dsx::autolab
