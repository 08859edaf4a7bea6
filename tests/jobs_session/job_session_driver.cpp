// A job's watcher in miniature, for tests/jobs_session/job_session_test.py: opens a JobSession
// for a job against a real `dsx session serve` and obeys commands on stdin, one per line:
//   log <text> | flood <n> <prefix> | state <state> [detail] | flush | end <state> [exit code]
// answering each with "OK" or "ERR <exit code> <message>" on stdout. A control.cancel prints
// "CANCEL <reason>" and is confirmed (--cancel ok) or refused (--cancel refuse) as a backend would.
// The token comes from DSX_TOKEN (never argv: it would show in ps).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "jobs/session/job_session.hpp"

using namespace dsx;
using namespace dsx::jobs;

namespace {

std::mutex out_mu;

void Say(const std::string& line) {
  std::lock_guard lock(out_mu);
  std::cout << line << std::endl;
}

std::string Err(const Status& st) { return "ERR " + std::to_string(st.exit_code()) + " " + st.message(); }

}  // namespace

int main(int argc, char** argv) {
  std::string server, job, cancel_mode = "ok";
  long retry_for_ms = 60000;
  long lease_ms = 15000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--server") server = v;
    else if (k == "--job") job = v;
    else if (k == "--cancel") cancel_mode = v;
    else if (k == "--retry-for-ms") retry_for_ms = std::stol(v);
    else if (k == "--lease-ms") lease_ms = std::stol(v);
    else {
      std::cerr << "unknown flag " << k << "\n";
      return 2;
    }
  }
  JobRecord record;
  record.id = job;
  record.request.name = "driver-" + job;
  record.request.kind = "generic";
  record.request.backend = "local";
  record.request.command = {"python3", "train.py"};
  record.backend_id = "12345";
  JobSessionOptions o;
  o.server = server;
  o.session = "jobs/" + job;
  if (const char* t = std::getenv("DSX_TOKEN")) o.token = t;
  o.retry_for_ms = retry_for_ms;
  o.lease_ms = lease_ms;
  o.on_cancel = [&](const std::string& reason) -> Status {
    Say("CANCEL " + reason);
    if (cancel_mode == "ok") return Status::Ok();
    return Status::Unavailable("backend refused the cancel (test)");
  };
  auto opened = JobSession::Open(o, record);
  if (!opened.ok()) {
    Say(Err(opened.status()));
    return opened.status().exit_code();
  }
  JobSession& js = **opened;
  Say("OPEN " + js.run() + " " + js.msg());
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    std::string rest;
    std::getline(in >> std::ws, rest);
    Status st;
    if (cmd == "log") {
      st = js.Log(rest);
    } else if (cmd == "flood") {
      std::istringstream r(rest);
      long n = 0;
      std::string prefix;
      r >> n >> prefix;
      for (long i = 0; i < n && st.ok(); ++i) st = js.Log(prefix + " " + std::to_string(i));
    } else if (cmd == "flush") {
      st = js.Flush();
    } else if (cmd == "state" || cmd == "end") {
      std::istringstream r(rest);
      std::string name, extra;
      r >> name;
      std::getline(r >> std::ws, extra);
      auto state = ParseJobState(name);
      if (!state.ok()) {
        Say(Err(state.status()));
        continue;
      }
      JobStatus s;
      s.state = *state;
      s.backend_state = name;
      if (cmd == "state") {
        s.detail = extra;
        st = js.State(s);
      } else {
        if (!extra.empty()) s.exit_code = std::stoi(extra);
        st = js.End(s);
        Say(st.ok() ? "OK" : Err(st));
        return st.exit_code();
      }
    } else {
      st = Status::Usage("unknown command '" + cmd + "'");
    }
    Say(st.ok() ? "OK" : Err(st));
  }
  return 0;
}
