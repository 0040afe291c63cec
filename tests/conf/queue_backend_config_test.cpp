// tests/conf/queue_backend_config_test.cpp — [queue] backend and node, [queue.postgresql]:
// defaults, the conninfo file (read only for the backend in use, refused when others may
// read it, never echoed in a diagnostic), and every diagnostic with file, line and key.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "conf/load.hpp"
#include "conf/secret_file.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

constexpr std::string_view base = test_support::minimal_config;
constexpr std::string_view secret = "s3cr3t-Passw0rd";

std::string errors_of(const std::string& text) {
  return test_support::diagnostics_text(load_string(text, "/etc/hubrelay/t.toml"));
}

std::string system_host_name() {
  std::array<char, HOST_NAME_MAX + 1> buffer{};
  EXPECT_EQ(::gethostname(buffer.data(), buffer.size() - 1), 0);
  return buffer.data();
}

/// A conninfo file of this test process (ctest runs the cases in parallel processes).
class ConninfoFile {
 public:
  explicit ConninfoFile(const std::string& text, ::mode_t mode = 0600)
      : dir_(std::filesystem::temp_directory_path() / ("hubrelay-conninfo-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "pg.conninfo").string();
    std::ofstream(path_, std::ios::trunc) << text;
    ::chmod(path_.c_str(), mode);
  }
  ~ConninfoFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

std::string postgresql(const std::string& file, const std::string& more = "") {
  return std::string(base) + "[queue]\nbackend = \"postgresql\"\nnode = \"relay1\"\n[queue.postgresql]\nconninfo_file = \"" +
         file + "\"\n" + more;
}

TEST(QueueBackendConfig, DefaultsAreSqliteAndTheSystemHostName) {
  for (const std::string& text : {std::string(base), std::string(base) + "[queue]\nlifetime = \"2d\"\n"}) {
    auto loaded = load_string(text, "/etc/hubrelay/t.toml");
    ASSERT_TRUE(loaded) << errors_of(text);
    const QueueConfig& q = (*loaded)->queue;
    EXPECT_EQ(q.backend, QueueBackend::sqlite);
    EXPECT_EQ(q.node, system_host_name());
    EXPECT_EQ(q.node_line, 0);
    EXPECT_TRUE(q.pg_conninfo_file.empty());
    EXPECT_EQ(q.pg_connect_timeout, Seconds{5});
    EXPECT_EQ(q.pg_lease_time, Seconds{120});
  }
  EXPECT_STREQ(to_string(QueueBackend::sqlite), "sqlite");
  EXPECT_STREQ(to_string(QueueBackend::postgresql), "postgresql");
}

TEST(QueueBackendConfig, ReadsEveryKeyAndTheConninfoFile) {
  const ConninfoFile file("# the shared queue\nhost=pg1,pg2 port=5432 dbname=hubrelay\n\n"
                          "  user=hubrelay password=" + std::string(secret) + " target_session_attrs=read-write  \r\n");
  const std::string text = postgresql(file.path(), "connect_timeout = \"10s\"\nlease_time = \"5m\"\n");
  auto loaded = load_string(text, "/etc/hubrelay/t.toml");
  ASSERT_TRUE(loaded) << errors_of(text);
  const QueueConfig& q = (*loaded)->queue;
  EXPECT_EQ(q.backend, QueueBackend::postgresql);
  EXPECT_EQ(q.backend_line, 13);
  EXPECT_EQ(q.node, "relay1");
  EXPECT_EQ(q.node_line, 14);
  EXPECT_EQ(q.pg_conninfo_file, file.path());
  EXPECT_EQ(q.pg_conninfo_file_line, 16);
  EXPECT_EQ(q.pg_conninfo, "host=pg1,pg2 port=5432 dbname=hubrelay user=hubrelay password=" + std::string(secret) +
                               " target_session_attrs=read-write");
  EXPECT_EQ(q.pg_connect_timeout, Seconds{10});
  EXPECT_EQ(q.pg_lease_time, Seconds{300});
}

// A node name is also a label for SQLite nodes; a fully qualified host name is one.
TEST(QueueBackendConfig, NodeNames) {
  for (const std::string& good : std::vector<std::string>{"relay1", "relay-2.dc1.example.com", "r_3", std::string(63, 'a')}) {
    auto loaded = load_string(std::string(base) + "[queue]\nnode = \"" + good + "\"\n", "/etc/hubrelay/t.toml");
    ASSERT_TRUE(loaded) << good;
    EXPECT_EQ((*loaded)->queue.node, good);
    EXPECT_EQ((*loaded)->queue.backend, QueueBackend::sqlite);
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "-relay", ".relay", "relay 1", "relay/1", "rélay", std::string(64, 'a')}) {
    const std::string errors = errors_of(std::string(base) + "[queue]\nnode = \"" + bad + "\"\n");
    EXPECT_NE(errors.find("t.toml:13: queue.node: "), std::string::npos) << bad << "\n" << errors;
    EXPECT_NE(errors.find("is not a node name"), std::string::npos) << errors;
  }
}

// Relative to the configuration file's directory, like every path in it; a sqlite node
// with a prepared [queue.postgresql] table does not need the file.
TEST(QueueBackendConfig, ConninfoFileIsOnlyReadForThePostgresqlBackend) {
  const std::string text = std::string(base) + "[queue.postgresql]\nconninfo_file = \"pg.conninfo\"\n";
  auto loaded = load_string(text, "/etc/hubrelay/t.toml");
  ASSERT_TRUE(loaded) << errors_of(text);
  EXPECT_EQ((*loaded)->queue.pg_conninfo_file, "/etc/hubrelay/pg.conninfo");
  EXPECT_TRUE((*loaded)->queue.pg_conninfo.empty());
}

// Refused when others may read or write it (it may hold a password), missing, empty or a
// directory; the diagnostic names the file and never shows what is in it.
TEST(QueueBackendConfig, ConninfoFileErrorsNameTheFileNotItsText) {
  {
    const ConninfoFile file("host=pg1 password=" + std::string(secret) + "\n", 0644);
    const std::string errors = errors_of(postgresql(file.path()));
    EXPECT_NE(errors.find("t.toml:16: queue.postgresql.conninfo_file: conninfo file " + file.path() +
                          " is readable by others; chmod 600"),
              std::string::npos)
        << errors;
    EXPECT_EQ(errors.find(secret), std::string::npos) << errors;
  }
  {
    const ConninfoFile file("host=pg1 password=" + std::string(secret) + "\n", 0602);
    EXPECT_NE(errors_of(postgresql(file.path())).find("is readable by others"), std::string::npos);
  }
  {
    const ConninfoFile file("# nothing but comments\n\n");
    const std::string errors = errors_of(postgresql(file.path()));
    EXPECT_NE(errors.find("conninfo file " + file.path() + " holds no connection string"), std::string::npos)
        << errors;
  }
  {
    const ConninfoFile file("host=pg1 password=" + std::string(secret) + "\x01\n");
    const std::string errors = errors_of(postgresql(file.path()));
    EXPECT_NE(errors.find("has a control character"), std::string::npos) << errors;
    EXPECT_EQ(errors.find(secret), std::string::npos) << errors;
  }
  {
    const ConninfoFile file("x");
    const std::string dir = std::filesystem::path(file.path()).parent_path().string();
    EXPECT_NE(errors_of(postgresql(dir)).find("conninfo file " + dir + " is not a regular file"), std::string::npos);
  }
  const std::string missing = "/nonexistent/hubrelay/pg.conninfo";
  const std::string errors = errors_of(postgresql(missing));
  EXPECT_NE(errors.find("t.toml:16: queue.postgresql.conninfo_file: cannot read conninfo file " + missing),
            std::string::npos)
      << errors;
}

TEST(QueueBackendConfig, ReadConninfoFileHelper) {
  const ConninfoFile file("postgresql://hubrelay@pg1,pg2/hubrelay?target_session_attrs=read-write\n");
  auto conninfo = read_conninfo_file(file.path());
  ASSERT_TRUE(conninfo) << conninfo.error();
  EXPECT_EQ(*conninfo, "postgresql://hubrelay@pg1,pg2/hubrelay?target_session_attrs=read-write");
  ::chmod(file.path().c_str(), 0640);  // group-readable (the hubrelay group) is allowed
  EXPECT_TRUE(read_conninfo_file(file.path()));
  ::chmod(file.path().c_str(), 0604);
  EXPECT_FALSE(read_conninfo_file(file.path()));
}

TEST(QueueBackendConfig, Diagnostics) {
  struct Case {
    std::string extra;
    std::string want;
  };
  const Case cases[] = {
      {"[queue]\nbackend = \"mysql\"\n", "t.toml:13: queue.backend: 'mysql' is not one of 'sqlite', 'postgresql'"},
      {"[queue]\nbackend = \"postgresql\"\n",
       "t.toml:13: queue.backend: \"postgresql\" needs a [queue.postgresql] table with conninfo_file"},
      {"[queue]\nbackend = \"postgresql\"\n[queue.postgresql]\nconnect_timeout = \"5s\"\n",
       "t.toml:14: queue.postgresql.conninfo_file: missing required key"},
      {"[queue.postgresql]\nconninfo_file = \"\"\n", "t.toml:13: queue.postgresql.conninfo_file: must not be empty"},
      {"[queue.postgresql]\nconninfo_file = \"a\"\nconnect_timeout = \"0s\"\n", "t.toml:14: queue.postgresql.connect_timeout"},
      {"[queue.postgresql]\nconninfo_file = \"a\"\nconnect_timeout = \"10m\"\n", "queue.postgresql.connect_timeout"},
      {"[queue.postgresql]\nconninfo_file = \"a\"\nlease_time = \"10s\"\n", "t.toml:14: queue.postgresql.lease_time"},
      {"[queue.postgresql]\nconninfo_file = \"a\"\nhost = \"pg1\"\n", "t.toml:14: queue.postgresql.host: unknown key"},
      {"[queue]\npostgresql = \"host=pg1\"\n", "t.toml:13: queue.postgresql"},
      {"[queue]\nnode = 7\n", "t.toml:13: queue.node"},
  };
  for (const auto& c : cases) {
    const std::string errors = errors_of(std::string(base) + c.extra);
    EXPECT_NE(errors.find(c.want), std::string::npos) << c.extra << "\n" << errors;
  }
}

}  // namespace
}  // namespace conf
