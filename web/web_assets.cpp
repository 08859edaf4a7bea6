#include "web_assets.hpp"

namespace dsx::web {

// Defined in the generated web_assets_data.cpp (web/embed.cmake).
extern const WebAsset kWebAssets[];
extern const std::size_t kWebAssetCount;

const WebAsset* FindWebAsset(std::string_view name) {
  for (std::size_t i = 0; i < kWebAssetCount; ++i) {
    if (kWebAssets[i].name == name) return &kWebAssets[i];
  }
  return nullptr;
}

}  // namespace dsx::web
