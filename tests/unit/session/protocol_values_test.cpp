#include <doctest/doctest.h>

#include "session/model/producer.hpp"
#include "session/model/protocol_values.hpp"

using namespace dsx::session;

TEST_CASE("content types compare normalized") {
  CHECK(NormalizeContentType("Application/JSON; charset=utf-8") == "application/json");
  CHECK(NormalizeContentType("  text/plain ") == "text/plain");
  CHECK(IsJsonContentType("APPLICATION/JSON"));
  CHECK_FALSE(IsJsonContentType("application/ndjson"));
  CHECK_FALSE(SseNeedsBase64("text/plain"));
  CHECK_FALSE(SseNeedsBase64("application/json"));
  CHECK(SseNeedsBase64("application/octet-stream"));
  CHECK(SseNeedsBase64("application/ndjson"));
}

TEST_CASE("RFC 3339 timestamps parse to epoch milliseconds") {
  CHECK(ParseRfc3339Ms("1970-01-01T00:00:00Z") == 0);
  CHECK(ParseRfc3339Ms("2024-10-09T00:00:00.000Z") == 1728432000000);
  CHECK(ParseRfc3339Ms("2024-10-09T02:00:00.500+02:00") == 1728432000500);
  CHECK(ParseRfc3339Ms("2024-10-08T23:00:00-01:00") == 1728432000000);
  for (const char* bad : {"", "tomorrow", "2024-10-09", "2024-10-09T00:00:00", "2024-13-09T00:00:00Z",
                          "2024-10-09T00:00:00Zjunk", "2024-10-09T25:00:00Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseRfc3339Ms(bad));
  }
}

TEST_CASE("cursor: the current interval, or strictly above an echoed one") {
  const std::int64_t now = 1728432000000 + 20000 * 100 + 5;
  CHECK(NextCursor(now, std::nullopt) == 100);
  CHECK(NextCursor(now, 7) == 100);
  for (int i = 0; i < 100; ++i) {
    const auto c = NextCursor(now, 100);
    CHECK(c > 100);
    CHECK(c <= 100 + 180);
    CHECK(NextCursor(now, c) > c);
  }
}

TEST_CASE("producer fencing decisions") {
  CHECK(CheckProducer(nullptr, 0, 0).verdict == ProducerVerdict::kAccept);
  CHECK(CheckProducer(nullptr, 5, 0).verdict == ProducerVerdict::kAccept);
  auto gap = CheckProducer(nullptr, 0, 3);
  CHECK(gap.verdict == ProducerVerdict::kSeqGap);
  CHECK(gap.expected_seq == 0);

  const ProducerState st{1, 4};
  CHECK(CheckProducer(&st, 1, 5).verdict == ProducerVerdict::kAccept);
  auto dup = CheckProducer(&st, 1, 2);
  CHECK(dup.verdict == ProducerVerdict::kDuplicate);
  CHECK(dup.last_seq == 4);
  CHECK(CheckProducer(&st, 1, 4).verdict == ProducerVerdict::kDuplicate);
  auto g = CheckProducer(&st, 1, 7);
  CHECK(g.verdict == ProducerVerdict::kSeqGap);
  CHECK(g.expected_seq == 5);
  auto stale = CheckProducer(&st, 0, 9);
  CHECK(stale.verdict == ProducerVerdict::kStaleEpoch);
  CHECK(stale.current_epoch == 1);
  CHECK(CheckProducer(&st, 2, 0).verdict == ProducerVerdict::kAccept);
  CHECK(CheckProducer(&st, 2, 1).verdict == ProducerVerdict::kBadNewEpoch);
}
