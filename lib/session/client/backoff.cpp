#include "session/client/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace dsx::session::client {

Backoff::Backoff(Options options, uint64_t seed) : options_(options), rng_(seed) {}

Millis Backoff::Next() {
  double nominal = static_cast<double>(options_.initial.count()) *
                   std::pow(options_.multiplier, static_cast<double>(std::min(attempt_, 62)));
  nominal = std::min(nominal, static_cast<double>(options_.max.count()));
  ++attempt_;
  std::uniform_real_distribution<double> dist(nominal / 2.0, nominal);
  return Millis(static_cast<int64_t>(std::llround(dist(rng_))));
}

}  // namespace dsx::session::client
