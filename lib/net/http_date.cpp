#include "net/http_date.hpp"

#include <curl/curl.h>

namespace dsx::net {

std::time_t ParseHttpDate(const std::string& value) { return curl_getdate(value.c_str(), nullptr); }

}  // namespace dsx::net
