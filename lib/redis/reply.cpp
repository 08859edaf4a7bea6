// ConvertReply: a hiredis reply tree copied into Reply (the hiredis reply is freed by the caller).
#include "redis/reply.hpp"

#include <hiredis/hiredis.h>

namespace dsx::redis {

Reply ConvertReply(const redisReply* r) {
  Reply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(ConvertReply(r->element[i]));
      break;
    case REDIS_REPLY_NIL:
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

bool IsErrorWith(const Reply& reply, std::string_view prefix) {
  return reply.is_error() && std::string_view(reply.str).substr(0, prefix.size()) == prefix;
}

}  // namespace dsx::redis
