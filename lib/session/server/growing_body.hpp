// A request body read into a std::string that grows as bytes arrive.
//
// Beast's string_body reserves the declared Content-Length as soon as the head is parsed, so a
// client that declares 60 MB and sends 10 bytes makes the server allocate 60 MB (and under an
// address-space limit, throw std::bad_alloc out of the I/O thread). This body reserves at most
// kInitialReserve up front and then grows geometrically with what was actually received, so
// memory follows the bytes on the wire, never the client's claim. An allocation failure while
// growing is reported as http::error::buffer_overflow (the request is refused), not thrown.
// Requests only: responses keep string_body.
#pragma once

#include <algorithm>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace dsx::session::server {

struct GrowingStringBody {
  using value_type = std::string;
  static constexpr std::size_t kInitialReserve = 64u << 10;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.max_size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return;
      }
      try {
        body_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, kInitialReserve)));
      } catch (const std::bad_alloc&) {
        ec = boost::beast::http::error::buffer_overflow;
      }
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      const std::size_t extra = boost::asio::buffer_size(buffers);
      if (extra > body_.max_size() - body_.size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return 0;
      }
      try {
        // append grows the capacity geometrically (amortized), from what has arrived.
        for (const auto b : boost::beast::buffers_range_ref(buffers)) {
          body_.append(static_cast<const char*>(b.data()), b.size());
        }
      } catch (const std::exception&) {  // bad_alloc, length_error
        ec = boost::beast::http::error::buffer_overflow;
        return 0;
      }
      ec = {};
      return extra;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace dsx::session::server
