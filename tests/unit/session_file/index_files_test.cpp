// Index and checkpoint files (index_files.cpp).
#include <doctest/doctest.h>

#include "session/store/file/index_files.hpp"
#include "store_test_util.hpp"

namespace dsx::session::filestore {

TEST_CASE("SegmentIndexRoundTrip") {
  SegmentIndex idx{4, 12345, {{1, 0, 16, 60, 5, 1, 30}, {2, 100, 76, 80, 20, 3, 21}}};
  auto back = DecodeIndex(EncodeIndex(idx));
  REQUIRE(back);
  CHECK(back->segment == 4);
  CHECK(back->segment_size == 12345);
  REQUIRE(back->entries.size() == 2);
  CHECK(back->entries[1].lid == 2);
  CHECK(back->entries[1].start_offset == 100);
  CHECK(back->entries[1].record_pos == 76);
  CHECK(back->entries[1].record_len == 80);
  CHECK(back->entries[1].data_len == 20);
  CHECK(back->entries[1].msg_count == 3);
  CHECK(back->entries[1].data_off == 21);
  CHECK(EncodeIndex(idx).size() == 8 + 8 + 8 + 4 + 2 * kIndexEntrySize + 4);
}

TEST_CASE("IndexChecksumMismatch") {
  std::string bytes = EncodeIndex(SegmentIndex{4, 100, {{1, 0, 16, 60, 5, 1, 30}}});
  bytes[30] ^= 0x40;
  CHECK_FALSE(DecodeIndex(bytes));
}

TEST_CASE("TruncatedIndex") {
  std::string bytes = EncodeIndex(SegmentIndex{4, 100, {{1, 0, 16, 60, 5, 1, 30}}});
  CHECK_FALSE(DecodeIndex(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(DecodeIndex(""));
}

TEST_CASE("CheckpointRoundTrip") {
  Checkpoint cp;
  cp.replay_segment = 9;
  cp.next_lid = 44;
  CheckpointStream s;
  s.lid = 43;
  s.state.meta = testing::Meta(12, "/v1/stream/x");
  s.state.meta.soft_deleted = true;
  s.state.meta.ttl_seconds = 5;
  s.state.tail = 999;
  s.state.closed = true;
  s.state.stream_seq = "abc";
  s.state.producers["p"] = ProducerState{3, 7};
  s.state.producers["q"] = ProducerState{0, 0};
  s.state.closed_by = ProducerTuple{"p", 3, 7};
  s.state.message_count = 17;
  cp.streams.push_back(s);
  auto back = DecodeCheckpoint(EncodeCheckpoint(cp));
  REQUIRE(back);
  CHECK(back->replay_segment == 9);
  CHECK(back->next_lid == 44);
  REQUIRE(back->streams.size() == 1);
  const StreamState& st = back->streams[0].state;
  CHECK(back->streams[0].lid == 43);
  CHECK(st.meta.id == 12);
  CHECK(st.meta.soft_deleted);
  CHECK(st.meta.ttl_seconds == std::optional<std::uint64_t>(5));
  CHECK(st.tail == 999);
  CHECK(st.closed);
  CHECK(st.stream_seq == std::optional<std::string>("abc"));
  CHECK(st.producers == s.state.producers);
  CHECK(st.closed_by == s.state.closed_by);
  CHECK(st.message_count == 17);
}

TEST_CASE("CheckpointChecksumMismatch") {
  Checkpoint cp;
  std::string bytes = EncodeCheckpoint(cp);
  bytes[9] ^= 1;
  CHECK_FALSE(DecodeCheckpoint(bytes));
}

}  // namespace dsx::session::filestore
