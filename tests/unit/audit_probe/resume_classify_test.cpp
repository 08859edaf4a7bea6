#include <doctest/doctest.h>

#include "audit/probe/fingerprint.hpp"

using namespace dsx::audit::probe;

namespace {
std::string Toks(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) {
    char b[16];
    std::snprintf(b, sizeof b, "tok-%04d ", i);
    s += b;
  }
  return s;
}
ResumeInput In(std::string before, std::string after, long status = 200, int first_event = 1) {
  ResumeInput in;
  in.before_text = std::move(before);
  in.after_text = std::move(after);
  in.status = status;
  in.first_event_tokens = first_event;
  return in;
}
}  // namespace

TEST_CASE("resume: cursor resume continues at the next token") {
  auto c = ClassifyResume(In(Toks(1, 4), Toks(5, 40)));
  CHECK(c.kind == ResumeKind::kCursor);
  CHECK(c.missing == 0);
  CHECK(c.duplicates == 0);
}

TEST_CASE("resume: a byte cursor that resumes inside a token is still a clean cursor") {
  // The drop cut "tok-0005 " after "tok-00"; the resumed bytes start with "05 ".
  auto c = ClassifyResume(In(Toks(1, 4) + "tok-00", "05 " + Toks(6, 20)));
  CHECK(c.kind == ResumeKind::kCursor);
  CHECK(c.missing == 0);
}

TEST_CASE("resume: full replay from the first token") {
  auto c = ClassifyResume(In(Toks(1, 4), Toks(1, 40)));
  CHECK(c.kind == ResumeKind::kFullReplay);
  CHECK(c.missing == 0);
}

TEST_CASE("resume: snapshot frame holding the text so far") {
  auto c = ClassifyResume(In(Toks(1, 4), Toks(1, 40), 200, 6));
  CHECK(c.kind == ResumeKind::kSnapshot);
}

TEST_CASE("resume: a gap is lossy") {
  auto c = ClassifyResume(In(Toks(1, 4), Toks(9, 40)));
  CHECK(c.kind == ResumeKind::kLossy);
  CHECK(c.missing == 4);
}

TEST_CASE("resume: overlap without snapshot counts duplicates") {
  auto c = ClassifyResume(In(Toks(1, 6), Toks(5, 20)));
  CHECK(c.kind == ResumeKind::kCursor);
  CHECK(c.duplicates == 2);
}

TEST_CASE("resume: 204, 404 and empty 200 mean nothing to resume; no answer is undetermined") {
  CHECK(ClassifyResume(In(Toks(1, 4), "", 204)).kind == ResumeKind::kNone);
  CHECK(ClassifyResume(In(Toks(1, 4), "{\"error\":\"not found\"}", 404)).kind == ResumeKind::kNone);
  CHECK(ClassifyResume(In(Toks(1, 4), "", 200)).kind == ResumeKind::kNone);
  CHECK(ClassifyResume(In(Toks(1, 4), "", 0)).kind == ResumeKind::kUndetermined);
}
