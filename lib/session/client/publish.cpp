#include "session/client/publish.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "session/client/appender.hpp"
#include "session/client/json_lines.hpp"

namespace dsx::session::client {
namespace {

// read(2) that retries on EINTR. Returns bytes read, 0 at EOF, -1 on error (errno set).
ssize_t ReadSome(int fd, char* buf, size_t cap) {
  for (;;) {
    ssize_t n = ::read(fd, buf, cap);
    if (n >= 0 || errno != EINTR) return n;
  }
}

// Publishing state shared by the byte and JSON paths.
struct Publisher {
  const PublishOptions& options;
  Appender& appender;
  PublishResult result;
  bool retry_notice_shown = false;

  void Notice(const std::string& line) const {
    if (options.notice) options.notice(line);
  }

  Status Append(const std::string& body, uint64_t payload_bytes, uint64_t count) {
    auto r = appender.Append(body);
    if (!r.ok()) return r.status();
    if (retry_notice_shown) {
      Notice("server reachable again; resumed");
      retry_notice_shown = false;
    }
    if (!r->next_offset.empty()) result.next_offset = r->next_offset;
    result.bytes += payload_bytes;
    result.messages += count;
    return Status::Ok();
  }
};

Status PublishJson(Publisher& p, int fd, bool whole_input) {
  constexpr size_t kBatchBytes = 1 << 20;
  JsonLines lines;
  std::string buf(1 << 16, '\0');
  auto flush = [&]() -> Status {
    while (lines.pending_messages() > 0) {
      size_t count = 0;
      std::string body = lines.TakeBatch(kBatchBytes, &count);
      DSX_RETURN_IF_ERROR(p.Append(body, body.size() - 1 - count, count));  // minus '[', ']' and commas
    }
    return Status::Ok();
  };
  auto invalid = [&](const Status& why) {
    if (p.result.messages == 0) return Status::Failed(why.message() + "; nothing was appended");
    return Status::Failed(why.message() + "; the " + std::to_string(p.result.messages) +
                          " messages before it were appended");
  };
  for (;;) {
    ssize_t n = ReadSome(fd, buf.data(), buf.size());
    if (n < 0) return Status::Failed(std::string("cannot read stdin: ") + std::strerror(errno));
    if (n == 0) break;
    Status st = lines.Feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!st.ok()) return invalid(st);
    if (!whole_input) DSX_RETURN_IF_ERROR(flush());
  }
  Status st = lines.Finish();
  if (!st.ok()) return invalid(st);
  return flush();
}

Status PublishBytes(Publisher& p, int fd, bool regular_file) {
  std::string buf(regular_file ? (1 << 20) : (1 << 16), '\0');
  for (;;) {
    ssize_t n = ReadSome(fd, buf.data(), buf.size());
    if (n < 0) return Status::Failed(std::string("cannot read stdin: ") + std::strerror(errno));
    if (n == 0) return Status::Ok();
    DSX_RETURN_IF_ERROR(p.Append(std::string(buf.data(), static_cast<size_t>(n)), static_cast<uint64_t>(n), 1));
  }
}

}  // namespace

Result<PublishResult> Publish(StreamClient& client, int fd, const PublishOptions& o, Clock& clock) {
  // Learn the stream's content type (and that it exists). With create, create it only if
  // missing: an existing stream is used as is, unless the content type contradicts it.
  auto info = client.Head();
  if (!info.ok() && info.status().code() == Code::kNotFound && o.create) {
    auto created = client.Create(o.create_options);
    if (!created.ok()) return created.status();
    info = created->info;
  }
  if (!info.ok()) {
    Status st = info.status();
    if (st.code() == Code::kNotFound && !o.create) st = Status::NotFound(st.message() + " (use --create)");
    return st;
  }
  const std::string& wanted = o.create_options.content_type;
  if (!wanted.empty() && NormalizeContentType(wanted) != NormalizeContentType(info->content_type)) {
    return Status::Conflict("stream exists with content type '" + info->content_type + "', not '" + wanted + "'");
  }
  if (info->closed) return Status::Conflict("stream is closed");

  const auto now = static_cast<uint64_t>(clock.NowMs());
  Appender::Options ao;
  ao.content_type = info->content_type.empty() ? "application/octet-stream" : info->content_type;
  ao.retry_for = Millis(o.retry_for_ms);
  ao.clock = &clock;
  ao.seed = now;
  if (!o.producer.empty()) {
    // Default epoch: wall-clock milliseconds, so each run fences the runs before it.
    ao.producer = ProducerId{o.producer, o.epoch.value_or(now), !o.epoch.has_value()};
  }
  Publisher* publisher = nullptr;
  ao.on_retry = [&publisher](const Status& why, Millis) {
    if (publisher && !publisher->retry_notice_shown) {
      publisher->Notice(why.message() + "; retrying");
      publisher->retry_notice_shown = true;
    }
  };
  Appender appender(client, ao);
  Publisher p{o, appender, {}};
  publisher = &p;
  p.result.next_offset = info->next_offset;

  struct stat st_in {};
  const bool regular = ::fstat(fd, &st_in) == 0 && S_ISREG(st_in.st_mode);
  Status st =
      IsJsonContentType(info->content_type) ? PublishJson(p, fd, regular || o.read_all) : PublishBytes(p, fd, regular);
  if (st.ok() && o.close) {
    auto r = appender.Close();
    if (!r.ok()) return r.status();
    p.result.closed = true;
    if (!r->next_offset.empty()) p.result.next_offset = r->next_offset;
  }
  if (!st.ok()) return st;
  return p.result;
}

}  // namespace dsx::session::client
