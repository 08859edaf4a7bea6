// MemoryStore: a StreamStore that keeps everything in RAM (`dsx session serve --memory`).
// Nothing survives a restart. Mutations complete synchronously, inside the submitting call.
#pragma once

#include <memory>

#include "session/store/stream_store.hpp"

namespace dsx::session {

std::unique_ptr<StreamStore> MakeMemoryStore();

}  // namespace dsx::session
