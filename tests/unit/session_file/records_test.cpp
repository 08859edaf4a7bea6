// Record encoding and the per-record checks (records.cpp): one failure per test case.
#include <doctest/doctest.h>

#include "core/hash.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/records.hpp"
#include "store_test_util.hpp"

namespace dsx::session::filestore {
namespace {

std::string AppendRecordBytes() {
  AppendOp op;
  op.id = 7;
  op.batch = testing::MakeBatch({"hello", "world!"});
  op.producer = ProducerTuple{"p1", 2, 9};
  op.stream_seq = "0042";
  op.close = true;
  std::string rec = BeginRecord();
  EncodeAppend(rec, 3, 100, op);
  FinishRecord(rec, RecordType::kAppend);
  return rec;
}

std::string_view Header(const std::string& r) { return std::string_view(r).substr(0, kRecordHeaderSize); }
std::string_view Payload(const std::string& r) { return std::string_view(r).substr(kRecordHeaderSize); }

}  // namespace

TEST_CASE("Crc32cMatchesRfc3720Vectors") {
  CHECK(hash::Crc32c("123456789", 9) == 0xE3069283u);
  std::string zeros(32, '\0');
  CHECK(hash::Crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  std::string ones(32, '\xff');
  CHECK(hash::Crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  CHECK(hash::UnmaskCrc(hash::MaskCrc(0x12345678u)) == 0x12345678u);
  CHECK(hash::MaskCrc(0x12345678u) != 0x12345678u);
}

TEST_CASE("AppendRecordRoundTrip") {
  std::string rec = AppendRecordBytes();
  CHECK(CheckRecord(Header(rec), Payload(rec)).empty());
  auto r = DecodeAppend(Payload(rec));
  REQUIRE(r);
  CHECK(r->lid == 3);
  CHECK(r->start_offset == 100);
  CHECK(r->close);
  CHECK(*r->stream_seq == "0042");
  CHECK(*r->producer == ProducerTuple{"p1", 2, 9});
  CHECK(r->batch.msg_count == 2);
  CHECK(r->batch.data_len == 11);
  std::vector<std::uint32_t> sizes;
  std::string_view bytes;
  REQUIRE(DecodeBatchData(Payload(rec), r->batch.data_off, &sizes, &bytes));
  CHECK(sizes == std::vector<std::uint32_t>{5, 6});
  CHECK(bytes == "helloworld!");
}

TEST_CASE("CreateRecordRoundTrip") {
  StreamMeta m = testing::Meta(5, "/v1/stream/fork", "application/json");
  m.ttl_seconds = 60;
  m.expires_at = "2030-01-01T00:00:00Z";
  m.expires_at_ms = 1893456000000;
  m.fork_source = 4;
  m.base_offset = 77;
  m.fork_sub_offset = 2;
  m.fork_offset_given = true;
  std::string rec = BeginRecord();
  EncodeCreate(rec, 9, m, true, {testing::MakeBatch({"[1]"}), testing::MakeBatch({"2", "3"})});
  FinishRecord(rec, RecordType::kCreate);
  REQUIRE(CheckRecord(Header(rec), Payload(rec)).empty());
  auto r = DecodeCreate(Payload(rec));
  REQUIRE(r);
  CHECK(r->lid == 9);
  CHECK(r->closed);
  CHECK(r->meta.path == "/v1/stream/fork");
  CHECK(r->meta.ttl_seconds == std::optional<std::uint64_t>(60));
  CHECK(r->meta.expires_at == std::optional<std::string>("2030-01-01T00:00:00Z"));
  CHECK(r->meta.expires_at_ms == std::optional<std::int64_t>(1893456000000));
  CHECK(r->meta.fork_source == std::optional<StreamId>(4));
  CHECK(r->meta.base_offset == 77);
  CHECK(r->meta.fork_sub_offset == 2);
  CHECK(r->meta.fork_offset_given);
  CHECK_FALSE(r->meta.soft_deleted);
  REQUIRE(r->batches.size() == 2);
  CHECK(r->batches[0].data_len == 3);
  CHECK(r->batches[1].msg_count == 2);
}

TEST_CASE("ChecksumMismatch") {
  std::string rec = AppendRecordBytes();
  rec[rec.size() - 3] ^= 0x01;  // one bit of message data
  CHECK(CheckRecord(Header(rec), Payload(rec)) == "checksum mismatch");
}

TEST_CASE("ChecksumCoversTheType") {
  std::string rec = AppendRecordBytes();
  rec[8] = static_cast<char>(RecordType::kCreate);
  CHECK(CheckRecord(Header(rec), Payload(rec)) == "checksum mismatch");
}

TEST_CASE("TruncatedRecord") {
  std::string rec = AppendRecordBytes();
  rec.resize(rec.size() - 1);
  CHECK(CheckRecord(Header(rec), Payload(rec)) == "truncated record");
}

TEST_CASE("TruncatedHeader") {
  std::string rec = AppendRecordBytes();
  CHECK(CheckRecord(std::string_view(rec).substr(0, 5), {}) == "truncated header");
}

TEST_CASE("BadRecordLength") {
  std::string rec = AppendRecordBytes();
  StoreU32(&rec[4], kMaxRecordPayload + 1);
  CHECK(CheckRecord(Header(rec), Payload(rec)) == "bad record length");
}

TEST_CASE("BadRecordType") {
  std::string rec = AppendRecordBytes();
  rec[8] = 0;
  CHECK(CheckRecord(Header(rec), Payload(rec)) == "bad record type");
  rec[8] = static_cast<char>(kMaxRecordType + 1);
  CHECK(CheckRecord(Header(rec), Payload(rec)) == "bad record type");
}

TEST_CASE("AllZeroRecordIsRejected") {
  std::string zeros(64, '\0');  // a file extended with zeros by a crash
  CHECK_FALSE(CheckRecord(std::string_view(zeros).substr(0, 9), std::string_view(zeros).substr(9)).empty());
}

TEST_CASE("PayloadThatDoesNotParseIsRejected") {
  std::string rec = BeginRecord();
  rec += "short";
  FinishRecord(rec, RecordType::kAppend);
  CHECK(CheckRecord(Header(rec), Payload(rec)).empty());  // the CRC is fine...
  CHECK_FALSE(DecodeAppend(Payload(rec)));                // ...the layout is not
  CHECK_FALSE(DecodeCreate(Payload(rec)));
  CHECK_FALSE(DecodeLid(Payload(rec)));
}

TEST_CASE("BatchSizesLargerThanThePayloadAreRejected") {
  std::string payload;
  PutU64(payload, 1);
  PutU64(payload, 0);
  PutU8(payload, 0);
  PutU32(payload, 1);
  PutU32(payload, 1000);  // claims 1000 bytes
  payload += "abc";
  CHECK_FALSE(DecodeAppend(payload));
}

}  // namespace dsx::session::filestore
