// tests/relay/admin/admin_api_test.cpp — the writable admin API: request parsing, dispatch,
// the token rules of mutations, JSON errors, and the OpenAPI document's coverage.
#include <gtest/gtest.h>

#include "health/json_reader.hpp"
#include "relay/admin/admin_http.hpp"
#include "relay/admin/api_request.hpp"

using namespace relay;

namespace {

class ApiBackend : public admin::Backend {
 public:
  metrics::Snapshot snapshot() override { return {}; }
  std::expected<std::string, std::string> queue_list(const admin::Query&) override { return std::string(); }
  std::expected<std::string, std::string> queue_summary() override { return std::string(); }
  std::expected<std::string, admin::QueueError> queue_show(std::string_view) override { return std::string("{}"); }
  std::expected<admin::QueueActionResult, admin::ApiError> queue_action(const admin::QueueAction& a,
                                                                       std::string_view who) override {
    last_queue = a;
    last_who = std::string(who);
    if (!a.ids.empty() && a.ids.front() == "FFFF") return std::unexpected(admin::ApiError{404, "not_found", "no message"});
    return admin::QueueActionResult{a.action, a.dry_run, 2, a.dry_run ? 0u : 2u, 3, 0, {"1", "2"}};
  }
  std::expected<admin::HopActionResult, admin::ApiError> hop_action(const admin::HopAction& a, std::string_view) override {
    last_hop = a;
    if (a.hop != "relay-a") return std::unexpected(admin::ApiError{404, "not_found", "no hop"});
    if (!a.suspend) return std::unexpected(admin::ApiError{409, "conflict", "not suspended"});
    return admin::HopActionResult{a.hop, "suspended", 1234, a.reason};
  }
  std::expected<admin::PathActionResult, admin::ApiError> path_action(const admin::PathAction& a,
                                                                     std::string_view) override {
    last_path = a;
    if (a.path != "wan") return std::unexpected(admin::ApiError{404, "not_found", "no path"});
    return admin::PathActionResult{a.path, a.up ? "UP" : "DOWN", a.release ? 0 : 99, a.reason};
  }
  std::string tracking_dir() override { return dir; }
  // Like relay/tracking/search: the newest `limit` of the stored records, oldest first.
  std::expected<std::vector<tracking::Record>, admin::ApiError> tracking_search(const admin::TrackingSearch& s) override {
    last_search = s;
    std::vector<tracking::Record> found = stored;
    const std::size_t limit = s.request.options.limit;
    if (limit > 0 && found.size() > limit) found.erase(found.begin(), found.end() - static_cast<std::ptrdiff_t>(limit));
    return found;
  }
  std::string dir = "/var/lib/hubrelay/tracking";
  std::vector<tracking::Record> stored;
  std::optional<admin::TrackingSearch> last_search;
  std::optional<admin::QueueAction> last_queue;
  std::optional<admin::PathAction> last_path;
  std::optional<admin::HopAction> last_hop;
  std::string last_who;
};

constexpr std::string_view token = "0123456789abcdef";

admin::Response post(admin::Backend& b, std::string target, std::string body, std::string auth = "Bearer 0123456789abcdef",
                     std::string_view configured = token) {
  admin::Request r{"POST", std::move(target), std::move(auth)};
  r.body = std::move(body);
  r.remote = "127.0.0.9";
  return admin::handle(r, configured, b);
}

// The "code" of a JSON error body.
std::string error_code(const admin::Response& r) {
  std::string code;
  health::JsonReader reader(r.body);
  reader.object([&](const std::string& key) {
    if (key != "error") return reader.skip_value();
    return reader.object([&](const std::string& inner) {
      if (inner != "code") return reader.skip_value();
      code = reader.string().value_or("?");
      return true;
    });
  });
  return code;
}

}  // namespace

TEST(AdminApi, MutationsNeedTheTokenAsAHeader) {
  ApiBackend b;
  const std::string body = R"({"ids":["2A"]})";
  auto none = post(b, "/api/queue/hold", body, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(none.challenge);
  EXPECT_EQ(error_code(none), "unauthorized");
  EXPECT_EQ(post(b, "/api/queue/hold", body, "Bearer 0123456789abcdeX").status, 401);
  EXPECT_EQ(post(b, "/api/queue/hold?token=0123456789abcdef", body, "").status, 401);  // never in the URL
  EXPECT_FALSE(b.last_queue.has_value());
  // No token configured: reads stay open on loopback, but nothing can be changed.
  auto off = post(b, "/api/queue/hold", body, "", "");
  EXPECT_EQ(off.status, 403);
  EXPECT_EQ(error_code(off), "forbidden");
  EXPECT_FALSE(b.last_queue.has_value());
  auto ok = post(b, "/api/queue/hold", body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.content_type, "application/json");
  EXPECT_EQ(b.last_who, "api client=127.0.0.9");
  EXPECT_EQ(b.last_queue->ids, std::vector<std::string>{"2A"});
}

TEST(AdminApi, QueueActionBodies) {
  ApiBackend b;
  auto r = post(b, "/api/queue/bounce", R"({"filter":{"sender":"x@example.org","older":"2h"},"dry_run":true})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(b.last_queue->action, "bounce");
  EXPECT_TRUE(b.last_queue->dry_run);
  EXPECT_EQ(b.last_queue->filter->at("sender"), "x@example.org");
  EXPECT_EQ(r.body, "{\"action\":\"bounce\",\"dry_run\":true,\"matched\":2,\"messages\":0,\"recipients\":3,"
                    "\"notices\":0,\"ids\":[\"1\",\"2\"]}\n");
  EXPECT_EQ(post(b, "/api/queue/retry", R"({"domain":"example.org"})").status, 200);
  EXPECT_EQ(b.last_queue->domain, "example.org");
  EXPECT_EQ(post(b, "/api/queue/delete", R"({"all":true,"report":true})").status, 200);
  EXPECT_TRUE(b.last_queue->report);

  struct Case { const char* target; const char* body; int status; const char* code; };
  const Case refused[] = {
      {"/api/queue/hold", "{", 400, "bad_json"},
      {"/api/queue/hold", "[1]", 400, "bad_json"},
      {"/api/queue/hold", R"({"ids":["1"]} x)", 400, "bad_json"},
      {"/api/queue/hold", R"({"ids":["1"],"colour":"red"})", 400, "unknown_field"},
      {"/api/queue/hold", R"({"filter":{"flavour":"x"}})", 400, "unknown_field"},
      {"/api/queue/hold", R"({"domain":"x.org"})", 400, "unknown_field"},  // retry only
      {"/api/queue/hold", R"({"ids":"1"})", 400, "bad_request"},
      {"/api/queue/hold", R"({"dry_run":"yes","all":true})", 400, "bad_request"},
      {"/api/queue/hold", R"({})", 400, "bad_request"},                     // nothing named
      {"/api/queue/hold", R"({"ids":["1"],"all":true})", 400, "bad_request"},  // two selections
      {"/api/queue/hold", R"({"filter":{}})", 400, "bad_request"},
      {"/api/queue/bounce", R"({"all":true})", 400, "bad_request"},
      {"/api/queue/hold", "{\"ids\":[\"\\uZZZZ\"]}", 400, "bad_json"},     // the reader's exception
      {"/api/queue/hold", R"({"ids":["FFFF"]})", 404, "not_found"},
  };
  for (const auto& c : refused) {
    const auto r2 = post(b, c.target, c.body);
    EXPECT_EQ(r2.status, c.status) << c.body << " -> " << r2.body;
    EXPECT_EQ(error_code(r2), c.code) << c.body << " -> " << r2.body;
    EXPECT_EQ(r2.content_type, "application/json");
  }
}

TEST(AdminApi, HopSuspendAndResume) {
  ApiBackend b;
  auto r = post(b, "/api/hops/relay-a/suspend", R"({"duration":"30m","reason":"upstream maintenance"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(b.last_hop->seconds, 1800);
  EXPECT_EQ(b.last_hop->reason, "upstream maintenance");
  EXPECT_EQ(r.body, "{\"hop\":\"relay-a\",\"state\":\"suspended\",\"suspended_until\":1234,\"reason\":\"upstream maintenance\"}\n");
  EXPECT_EQ(post(b, "/api/hops/relay-a/suspend", R"({"duration":90})").status, 200);
  EXPECT_EQ(b.last_hop->seconds, 90);
  EXPECT_EQ(error_code(post(b, "/api/hops/relay-a/suspend", "{}")), "bad_request");  // duration required
  EXPECT_EQ(error_code(post(b, "/api/hops/relay-a/suspend", R"({"duration":"8d"})")), "bad_request");
  EXPECT_EQ(error_code(post(b, "/api/hops/relay-a/suspend", R"({"duration":"-5"})")), "bad_request");
  EXPECT_EQ(error_code(post(b, "/api/hops/relay-a/resume", R"({"duration":"5m"})")), "unknown_field");
  EXPECT_EQ(post(b, "/api/hops/nope/suspend", R"({"duration":"1m"})").status, 404);
  EXPECT_EQ(post(b, "/api/hops/relay-a/resume", "").status, 409);  // an empty body is {}
  EXPECT_FALSE(b.last_hop->suspend);
  const auto get = admin::handle({"GET", "/api/hops/relay-a/suspend", "Bearer 0123456789abcdef"}, token, b);
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(error_code(get), "method_not_allowed");
}

TEST(AdminApi, PathForceAndRelease) {
  ApiBackend b;
  auto r = post(b, "/api/paths/wan/force", R"({"state":"down","duration":"2h","reason":"line work"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(b.last_path->up);
  EXPECT_EQ(b.last_path->seconds, 7200);
  EXPECT_EQ(r.body, "{\"path\":\"wan\",\"state\":\"DOWN\",\"forced_until\":99,\"reason\":\"line work\"}\n");
  EXPECT_EQ(post(b, "/api/paths/wan/force", R"({"state":"up","duration":60})").status, 200);
  EXPECT_TRUE(b.last_path->up);
  EXPECT_EQ(error_code(post(b, "/api/paths/wan/force", R"({"state":"sideways","duration":"1m"})")), "bad_request");
  EXPECT_EQ(error_code(post(b, "/api/paths/wan/force", R"({"state":"down"})")), "bad_request");
  EXPECT_EQ(error_code(post(b, "/api/paths/wan/release", R"({"state":"up"})")), "unknown_field");
  EXPECT_EQ(post(b, "/api/paths/wan/release", "").status, 200);
  EXPECT_TRUE(b.last_path->release);
  EXPECT_EQ(post(b, "/api/paths/lan/release", "").status, 404);
  EXPECT_EQ(post(b, "/api/paths/wan/force", R"({"state":"down","duration":"1m"})", "").status, 401);
}

TEST(AdminApi, OpenApiDocumentNamesEveryOperation) {
  ApiBackend b;
  const auto r = admin::handle({"GET", "/api/openapi.json", ""}, "", b);
  ASSERT_EQ(r.status, 200);
  health::JsonReader reader(r.body);
  ASSERT_TRUE(reader.skip_value());
  EXPECT_TRUE(reader.at_end());
  for (const char* id : {"getMetrics", "getStatus", "getOpenApi", "listQueue", "getQueueSummary", "getQueuedMessage",
                         "holdMessages", "releaseMessages", "retryMessages", "deleteMessages", "bounceMessages",
                         "expireMessages", "suspendHop", "resumeHop", "forcePath", "releasePath", "getStatusPage", "searchTracking"})
    EXPECT_NE(r.body.find(std::string("\"operationId\": \"") + id + "\""), std::string::npos) << id;
}

// --- tracking search ------------------------------------------------------------------------

namespace {

constexpr std::int64_t request_time = 1'800'000'000'000;  // Unix ms

admin::Response get(admin::Backend& b, std::string target, std::string auth = "", std::string_view configured = "") {
  admin::Request r{"GET", std::move(target), std::move(auth)};
  r.now_ms = request_time;
  return admin::handle(r, configured, b);
}

tracking::Record record_at(std::int64_t time, std::string queue_id) {
  tracking::Record r;
  r.time = time;
  r.event = tracking::Event::deliver;
  r.queue_id = std::move(queue_id);
  r.recipients = {"b@example.com"};
  return r;
}

}  // namespace

TEST(AdminApi, TrackingSearchReadsTheCriteriaOfHubrelayTrack) {
  ApiBackend b;
  b.stored = {record_at(1000, "0A"), record_at(2000, "0B")};
  const auto r = get(b, "/api/tracking?sender=a%40x.org&recipient=example.com&queue_id=0A,0B&client=192.0.2.1"
                        "&message_id=m%40x&event=deliver,defer&since=2h&until=2026-12-04T10:00:00&by_message=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_TRUE(b.last_search.has_value());
  const auto& q = b.last_search->request.query;
  EXPECT_EQ(q.sender, "a@x.org");
  EXPECT_EQ(q.recipient, "example.com");
  EXPECT_EQ(q.queue_ids, (std::set<std::string>{"0A", "0B"}));
  EXPECT_EQ(q.client, "192.0.2.1");
  EXPECT_EQ(q.message_id, "m@x");
  EXPECT_EQ(q.events, (std::set<tracking::Event>{tracking::Event::deliver, tracking::Event::defer}));
  EXPECT_EQ(q.since, request_time - 2 * 3'600'000);
  EXPECT_EQ(q.until, tracking::parse_time("2026-12-04T10:00:00"));
  EXPECT_TRUE(b.last_search->request.options.whole_messages);
  EXPECT_EQ(b.last_search->dir, "/var/lib/hubrelay/tracking");
  EXPECT_EQ(b.last_search->limit, admin::tracking_default_limit);
  EXPECT_EQ(r.body.substr(0, 46), R"({"count":2,"limit":1000,"truncated":false,"rec)");
  EXPECT_NE(r.body.find(R"("records":[{"time":"1970-01-01T00:00:01.000Z","event":"deliver","queue_id":"0A")"),
            std::string::npos)
      << r.body;
  health::JsonReader reader(r.body);
  EXPECT_TRUE(reader.skip_value());
}

TEST(AdminApi, TrackingSearchIsBoundedAndSaysSo) {
  ApiBackend b;
  b.stored = {record_at(1000, "01"), record_at(2000, "02"), record_at(3000, "03")};
  const auto cut = get(b, "/api/tracking?limit=2");
  ASSERT_EQ(cut.status, 200) << cut.body;
  EXPECT_EQ(b.last_search->request.options.limit, 3u);  // one more, to know
  EXPECT_NE(cut.body.find(R"({"count":2,"limit":2,"truncated":true,)"), std::string::npos) << cut.body;
  EXPECT_EQ(cut.body.find(R"("queue_id":"01")"), std::string::npos);  // the newest ones are kept
  EXPECT_NE(cut.body.find(R"("queue_id":"03")"), std::string::npos);
  const auto whole = get(b, "/api/tracking?limit=3");
  EXPECT_NE(whole.body.find(R"({"count":3,"limit":3,"truncated":false,)"), std::string::npos) << whole.body;
}

TEST(AdminApi, TrackingSearchErrorsAreJson) {
  ApiBackend b;
  for (const char* target : {"/api/tracking?since=yesterday", "/api/tracking?until=2026-13-01",
                             "/api/tracking?event=deliverd", "/api/tracking?limit=0", "/api/tracking?limit=ten",
                             "/api/tracking?limit=10001"}) {
    const auto r = get(b, target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.content_type, "application/json") << target;
    EXPECT_EQ(error_code(r), "bad_request") << target << " " << r.body;
  }
  EXPECT_FALSE(b.last_search.has_value());
  EXPECT_NE(get(b, "/api/tracking?event=deliverd").body.find("unknown event 'deliverd'"), std::string::npos);
  const auto posted = post(b, "/api/tracking", "{}");
  EXPECT_EQ(posted.status, 405);
  EXPECT_EQ(error_code(posted), "method_not_allowed");
  b.dir.clear();
  const auto starting = get(b, "/api/tracking");
  EXPECT_EQ(starting.status, 503);
  EXPECT_EQ(error_code(starting), "internal");
}

TEST(AdminApi, TrackingSearchIsAReadLikeTheQueueList) {
  ApiBackend b;
  // No token configured: open, as GET /api/queue is.
  EXPECT_EQ(get(b, "/api/tracking").status, 200);
  // A token configured: as a header or ?token= (a browser's status page).
  const auto refused = get(b, "/api/tracking", "", token);
  EXPECT_EQ(refused.status, 401);
  EXPECT_TRUE(refused.challenge);
  EXPECT_EQ(error_code(refused), "unauthorized");
  EXPECT_EQ(get(b, "/api/tracking", "Bearer 0123456789abcdef", token).status, 200);
  EXPECT_EQ(get(b, "/api/tracking?token=0123456789abcdef", "", token).status, 200);
  EXPECT_EQ(admin::handle({"GET", "/api/queue", ""}, token, b).status, refused.status);
}

TEST(AdminApi, TrackingSearchIsHandedToTheDriverToRunElsewhere) {
  ApiBackend b;
  admin::Request r{"GET", "/api/tracking?recipient=b%40example.com", ""};
  r.now_ms = request_time;
  auto routed = admin::route(r, "", b);
  const auto* search = std::get_if<admin::TrackingSearch>(&routed);
  ASSERT_NE(search, nullptr);
  EXPECT_FALSE(b.last_search.has_value());  // route() does not search
  EXPECT_EQ(search->request.query.recipient, "b@example.com");
  EXPECT_EQ(admin::answer_tracking(*search, b).status, 200);
  EXPECT_TRUE(b.last_search.has_value());
  EXPECT_TRUE(std::holds_alternative<admin::Response>(admin::route({"GET", "/api/status", ""}, "", b)));
}
