// tests/support/pg_server.hpp — a private PostgreSQL server on loopback for one test process.
//
// Owns: a cluster made with initdb in a temporary directory and started with pg_ctl on
// 127.0.0.1 and a free port (socket directory inside the temporary directory; fsync and
// synchronous_commit on, as in production), one fresh database per test, and stopping the
// server and removing the directory at process exit. Each test process (ctest runs one
// test per process, -j2 runs two at once) has its own cluster, so nothing is shared.
// As root the server runs as the `postgres` system user (PostgreSQL refuses root).
// Header-only; test code only. PgServer::shared() is null, with skip_reason() saying
// why, only when the PostgreSQL server programs are not installed.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace test_support {

class PgServer {
 public:
  /// The server of this process, started on first use; null when it cannot run here.
  static PgServer* shared() {
    static std::unique_ptr<PgServer> server = start_new();
    return server.get();
  }
  static std::string& skip_reason() {
    static std::string reason;
    return reason;
  }

  /// A new empty database; returns its conninfo.
  std::string create_database() {
    static std::atomic<int> counter{0};
    const std::string name = "queue_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    PGconn* admin = PQconnectdb(conninfo("postgres").c_str());
    const bool connected = PQstatus(admin) == CONNECTION_OK;
    if (!connected) ADD_FAILURE() << "cannot reach the test server: " << PQerrorMessage(admin);
    if (connected) {
      PGresult* r = PQexec(admin, ("CREATE DATABASE " + name).c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) ADD_FAILURE() << "CREATE DATABASE: " << PQerrorMessage(admin);
      PQclear(r);
    }
    PQfinish(admin);
    return conninfo(name);
  }

  std::string conninfo(const std::string& database) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=hubrelay connect_timeout=10 dbname=" + database;
  }

  ~PgServer() {
    if (started_) run(ctl() + " -m immediate stop >>" + dir_.file("ctl.log") + " 2>&1");
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

 private:
  PgServer() = default;

  static std::filesystem::path bin_dir() {
    if (const char* dir = std::getenv("HUBRELAY_PG_BIN")) return dir;
    std::filesystem::path best;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(entry.path() / "bin/pg_ctl") && entry.path() > best) best = entry.path();
    }
    return best.empty() ? best : best / "bin";
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) == 0) {
      port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
  }

  // As root, through runuser to the postgres user.
  std::string as_owner(const std::string& command) const {
    return ::geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  }
  std::string ctl() const { return as_owner((bin_ / "pg_ctl").string() + " -D " + dir_.file("data")); }
  static bool run(const std::string& command) { return std::system(command.c_str()) == 0; }

  static std::unique_ptr<PgServer> start_new() {
    std::unique_ptr<PgServer> s(new PgServer());
    s->bin_ = bin_dir();
    if (s->bin_.empty() || !std::filesystem::exists(s->bin_ / "initdb")) {
      skip_reason() = "PostgreSQL server programs (initdb, pg_ctl) not installed; install the postgresql package";
      return nullptr;
    }
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr || ::chown(s->dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        ADD_FAILURE() << "running as root needs the postgres user to own the test cluster";
        return nullptr;
      }
    }
    const std::string log = " >>" + s->dir_.file("ctl.log") + " 2>&1";
    if (!run(s->as_owner((s->bin_ / "initdb").string() + " -D " + s->dir_.file("data") +
                         " -U hubrelay --auth=trust -N -E UTF8 --locale=C") + log)) {
      ADD_FAILURE() << "initdb failed; see " << s->dir_.file("ctl.log");
      return nullptr;
    }
    for (int tries = 0; tries < 5 && !s->started_; ++tries) {
      s->port_ = free_port();
      const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(s->port_) + " -k " +
                                  s->dir_.path().string() +
                                  " -c fsync=on -c synchronous_commit=on -c shared_buffers=16MB -c max_connections=40";
      s->started_ = run(s->ctl() + " -l " + s->dir_.file("server.log") + " -w -t 60 -o '" + options + "' start" + log);
    }
    if (!s->started_) {
      ADD_FAILURE() << "pg_ctl start failed; see " << s->dir_.file("server.log");
      return nullptr;
    }
    return s;
  }

  TempDir dir_{"hubrelay-pg"};  // destroyed after the server stopped
  std::filesystem::path bin_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace test_support
