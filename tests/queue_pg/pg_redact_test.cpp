// Tests for queue/pg_redact.cpp: what libpq may say about a connection, without the
// conninfo's password, whatever form the conninfo has.
#include "queue/pg_redact.hpp"

#include <gtest/gtest.h>

#include <string>

namespace queue {
namespace {

struct Case {
  const char* name;
  std::string conninfo;
  std::string message;
  std::string want;
};

TEST(PgRedactTest, SecretsOfTheConninfoNeverSurvive) {
  const Case cases[] = {
      {"keyword password echoed as a database name", "host=db password=Tr0ub4dor dbname=x",
       "connection to server at \"db\" failed: FATAL:  database \"Tr0ub4dor\" does not exist\n",
       "connection to server at \"db\" failed: FATAL:  database \"********\" does not exist"},
      {"quoted password with a space", "host=db password='a b\\'c'", "echo: a b'c here", "echo: ******** here"},
      {"password pair quoted back", "host=db password=s3cret", "invalid value: password=s3cret host=db",
       "invalid value: password=******** host=db"},
      {"password pair of another string", "host=db", "bad option PASSWORD = 'x y' and more",
       "bad option PASSWORD = ******** and more"},
      {"URI userinfo", "postgresql://relay:Sec%40ret@db1,db2/hubrelay",
       "could not parse postgresql://relay:Sec%40ret@db1,db2/hubrelay and Sec@ret",
       "could not parse postgresql://relay:********@db1,db2/hubrelay and ********"},
      {"URI userinfo of another string", "host=db", "host postgres://u:pw@h:5432/d?x=1",
       "host postgres://u:********@h:5432/d?x=1"},
      {"URI without password keeps its user", "postgresql://relay@db/hubrelay",
       "connection to server at \"db\" failed: postgresql://relay@db", "connection to server at \"db\" failed: postgresql://relay@db"},
      {"several hosts, one line", "host=a,b port=1,2 password=pw",
       "connection to server at \"a\", port 1 failed: Connection refused\n"
       "connection to server at \"b\", port 2 failed: session is read-only\n",
       "connection to server at \"a\", port 1 failed: Connection refused; "
       "connection to server at \"b\", port 2 failed: session is read-only"},
      {"continuation lines", "host=db", "server closed the connection unexpectedly\n\tThis probably means\n",
       "server closed the connection unexpectedly; This probably means"},
      {"nothing secret", "host=db user=hubrelay", "FATAL:  password authentication failed for user \"hubrelay\"",
       "FATAL:  password authentication failed for user \"hubrelay\""},
      {"malformed conninfo is never quoted", "host=db password=pw pw", "missing \"=\" after \"pw\" in connection info",
       "the connection string is not valid libpq syntax (key=value pairs or a postgresql:// URI)"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(redact_connection_error(c.conninfo, c.message), c.want) << c.name;
  }
}

}  // namespace
}  // namespace queue
