// The worked example of docs/formats/segment-log.md, byte for byte where the doc gives bytes.
#include <doctest/doctest.h>

#include "session/store/file/coding.hpp"
#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

TEST_CASE("WorkedExampleOfTheFormatDoc") {
  TempDir dir;
  {
    auto store = Open(dir.path);
    REQUIRE(store->Load().ok());
    StreamMeta m = Meta(1, "/v1/stream/a", "text/plain");
    REQUIRE(CreateSync(*store, {m, {}, false}).ok());
    AppendOp op;
    op.id = 1;
    op.batch = MakeBatch({"hi"});
    op.producer = ProducerTuple{"p1", 0, 0};
    REQUIRE(AppendSync(*store, op).ok());
    // Crash here: the copy below is what the disk holds.
    fsys::copy(dir.path / "segments" / "0000000000000001.log", dir.path / "copy.log");
  }
  // The writer zeroes ahead of its records (file_store_prefill.cpp); the format ends at them.
  std::string seg = WithoutPrefill(Slurp(dir.path / "copy.log"));
  REQUIRE(seg.size() == 190);
  CHECK(seg.substr(0, 8) == "DSXSEG01");
  CHECK(LoadU64(seg.data() + 8) == 1);
  // Record 1: kCreate, payload 107 bytes, at 16.
  CHECK(LoadU32(seg.data() + 16 + 4) == 107);
  CHECK(seg[16 + 8] == 1);
  CHECK(LoadU64(seg.data() + 25) == 1);  // log id
  // Record 2: kAppend, payload 49 bytes, at 132.
  CHECK(LoadU32(seg.data() + 132 + 4) == 49);
  CHECK(seg[132 + 8] == 2);
  CHECK(LoadU64(seg.data() + 141 + 8) == 0);  // start_offset
  CHECK(seg[141 + 16] == 4);                  // flags: sets producer
  CHECK(seg.substr(seg.size() - 2) == "hi");
}

}  // namespace dsx::session::filestore
