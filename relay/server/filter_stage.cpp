// relay/server/filter_stage.cpp — a session's content filters (see filter_stage.hpp).
#include "relay/server/filter_stage.hpp"

#include <spdlog/spdlog.h>

#include "queue/body_reader.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/milter/conversation.hpp"
#include "relay/milter/message_edit.hpp"
#include "relay/server/milter_link.hpp"
#include "relay/smtp/reply_table.hpp"

namespace relay {
namespace asio = boost::asio;
using milter::ReplyKind;
using milter::Stage;

namespace {

milter::MacroLists macro_lists(const conf::MilterConfig& config) {
  milter::MacroLists lists = milter::default_macro_lists();
  for (const auto& [stage, names] : config.macros)
    if (auto index = milter::macro_stage_from_name(stage)) lists[static_cast<std::size_t>(*index)] = names;
  return lists;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

milter::MacroValues macro_values(const FilterFacts& facts, std::string_view sender) {
  const std::string client_name = "[" + facts.client_address + "]";
  milter::MacroValues values = {
      {"j", facts.hostname},
      {"_", client_name + " [" + facts.client_address + "]"},
      {"{daemon_name}", facts.listener},
      {"{client_addr}", facts.client_address},
      {"{client_name}", client_name},
      {"{client_port}", std::to_string(facts.client_port)},
      {"{if_addr}", facts.local_address},
      {"i", facts.queue_id},
      {"{mail_addr}", std::string(sender)},
  };
  if (!facts.tls_version.empty()) {
    values.emplace_back("{tls_version}", facts.tls_version);
    values.emplace_back("{cipher}", facts.cipher);
  }
  if (!facts.auth_user.empty()) {
    values.emplace_back("{auth_type}", "PLAIN");
    values.emplace_back("{auth_authen}", facts.auth_user);
  }
  return values;
}

std::string_view default_action_name(conf::MilterConfig::DefaultAction action) {
  switch (action) {
    case conf::MilterConfig::DefaultAction::tempfail: return "tempfail";
    case conf::MilterConfig::DefaultAction::accept: return "accept";
    case conf::MilterConfig::DefaultAction::reject: return "reject";
    case conf::MilterConfig::DefaultAction::shutdown: return "shutdown";
  }
  return "tempfail";
}

// A spooled message's header section as the filters so far left it, and where its body
// starts in the file: a filter's edited section is in the envelope (body_prefix) and
// replaces the file's first body_skip octets; otherwise the file's own section is read.
struct SpooledHead {
  std::string section;
  std::uint64_t body_at = 0;
};

std::optional<SpooledHead> spooled_head(const queue::Spool& spool, const queue::NewMessage& message,
                                        std::string_view file_name) {
  if (message.body_skip > 0 || !message.body_prefix.empty()) return SpooledHead{message.body_prefix, message.body_skip};
  auto head = queue::read_header_section(spool, file_name, 4 * 1024 * 1024);
  if (!head) return std::nullopt;
  const std::uint64_t body_at = head->size();
  return SpooledHead{std::move(*head), body_at};
}

}  // namespace

struct FilterStage::Filter {
  Filter(const asio::any_io_executor& executor, const conf::MilterConfig& c)
      : config(c), conversation(macro_lists(c)), link(executor) {}
  conf::MilterConfig config;  // a copy: a reload may replace the Config while the session runs
  milter::Conversation conversation;
  MilterLink link;
  bool started = false;          // negotiated and connect sent on this link
  std::string session_refusal;   // refusal at connect or HELO: every MAIL gets it
  bool discard = false;          // discard at MAIL, RCPT or DATA: the message is dropped at its end
  bool data_sent = false;        // DATA went with the command (not BDAT): not again at the end
};

/// One filter's answer at one stage.
struct FilterStage::Outcome {
  enum class Kind : std::uint8_t { pass, refuse, discard, shutdown, failed };
  Kind kind = Kind::pass;
  Stage stage = Stage::eom;
  std::string action;  // for the log and the counter; "" when the filter was not asked
  std::string reply;   // refuse / shutdown
  std::string error;   // failed
};

/// What one filter's modifications did to the message.
struct FilterStage::Edits {
  ContentChanges changed;
  std::optional<std::string> quarantine;
};

FilterStage::FilterStage(const asio::any_io_executor& executor, const conf::Config& config,
                         const conf::ListenerConfig& listener, ListenerCounters& counters, std::string session_id,
                         queue::Spool* spool)
    : executor_(executor),
      listener_(listener.name),
      counters_(counters),
      session_id_(std::move(session_id)),
      spool_(spool) {
  for (const auto& name : listener.milters)
    if (const conf::MilterConfig* milter = config.find_milter(name))
      filters_.push_back(std::make_unique<Filter>(executor, *milter));
}

FilterStage::~FilterStage() = default;

namespace {

/// Sends one request and reads until the filter decides (progress re-arms the timeout).
asio::awaitable<milter::Outcome> exchange(MilterLink& link, milter::Conversation& conversation,
                                          milter::Request request, std::chrono::milliseconds timeout) {
  milter::Outcome outcome;
  outcome.status = milter::Outcome::Status::decided;
  if (request.bytes.empty()) co_return outcome;
  if (auto written = co_await link.write(request.bytes, timeout); !written) {
    conversation.fail();
    outcome.status = milter::Outcome::Status::failed;
    outcome.error = written.error();
    co_return outcome;
  }
  if (!request.await_reply) co_return outcome;
  for (;;) {
    auto packet = co_await link.read(timeout);
    if (!packet) {
      conversation.fail();
      outcome.status = milter::Outcome::Status::failed;
      outcome.error = packet.error();
      co_return outcome;
    }
    outcome = conversation.receive(*packet);
    if (outcome.status != milter::Outcome::Status::waiting) co_return outcome;
  }
}

/// What a filter's answer at `stage` means; nullopt: go on to the next stage.
std::optional<FilterStage::Outcome> judge(const milter::Outcome& outcome, Stage stage, const std::string& hostname) {
  using Kind = FilterStage::Outcome::Kind;
  FilterStage::Outcome o;
  o.stage = stage;
  if (outcome.status == milter::Outcome::Status::failed) {
    o.kind = Kind::failed;
    o.error = outcome.error;
    return o;
  }
  o.action = std::string(milter::to_string(outcome.verdict));
  switch (outcome.verdict) {
    case ReplyKind::continue_:
    case ReplyKind::skip:
      if (stage != Stage::eom) return std::nullopt;
      o.kind = Kind::pass;
      return o;
    case ReplyKind::accept:
      o.kind = Kind::pass;
      return o;
    case ReplyKind::discard:
      o.kind = Kind::discard;
      return o;
    case ReplyKind::reject:
      o.kind = Kind::refuse;
      o.reply = format_reply(ReplyId::filter_reject);
      return o;
    case ReplyKind::tempfail:
    case ReplyKind::connection_fail:
      o.kind = Kind::refuse;
      o.reply = format_reply(ReplyId::filter_tempfail);
      return o;
    case ReplyKind::reply_code:
      o.kind = Kind::refuse;
      o.reply = outcome.reply;
      return o;
    case ReplyKind::shutdown:
      o.kind = Kind::shutdown;
      o.reply = format_reply(ReplyId::filter_shutdown, hostname);
      return o;
    default:
      o.kind = Kind::failed;
      o.error = "unexpected verdict";
      return o;
  }
}

FilterStage::Outcome failed_at(Stage stage, std::string error) {
  FilterStage::Outcome o;
  o.kind = FilterStage::Outcome::Kind::failed;
  o.stage = stage;
  o.error = std::move(error);
  return o;
}

}  // namespace

asio::awaitable<std::optional<FilterStage::Outcome>> FilterStage::start(Filter& filter, const FilterFacts& facts,
                                                                        const std::string& helo) {
  using Kind = Outcome::Kind;
  if (filter.started) co_return std::nullopt;
  const auto& config = filter.config;
  if (milter_health().down(config.name, std::chrono::steady_clock::now()))
    co_return failed_at(Stage::negotiate, "marked down after a recent failure");
  filter.conversation = milter::Conversation(macro_lists(config));
  filter.session_refusal.clear();
  if (auto connected = co_await filter.link.connect(config); !connected)
    co_return failed_at(Stage::negotiate, connected.error());
  const auto negotiation = std::chrono::duration_cast<std::chrono::milliseconds>(config.connect_timeout);
  auto negotiated = co_await exchange(filter.link, filter.conversation, filter.conversation.negotiate(), negotiation);
  if (negotiated.status != milter::Outcome::Status::decided) co_return failed_at(Stage::negotiate, negotiated.error);
  filter.started = true;
  const auto command = std::chrono::duration_cast<std::chrono::milliseconds>(config.command_timeout);
  const milter::MacroValues values = macro_values(facts, {});
  const milter::ConnectInfo info{"[" + facts.client_address + "]", facts.client_address, facts.client_port,
                                 facts.client_address.find(':') != std::string::npos};
  // Two rounds, not a braced list: g++ 12 must not keep an initializer list across co_await.
  for (int round = 0; round < 2; ++round) {
    const Stage stage = round == 0 ? Stage::connect : Stage::helo;
    if (stage == Stage::helo && helo.empty()) break;
    auto request = stage == Stage::connect ? filter.conversation.connect(info, values)
                                           : filter.conversation.helo(helo, values);
    auto outcome = co_await exchange(filter.link, filter.conversation, std::move(request), command);
    if (auto verdict = judge(outcome, stage, facts.hostname)) {
      if (verdict->kind == Kind::refuse) filter.session_refusal = verdict->reply;
      co_return verdict;
    }
  }
  co_return std::nullopt;
}

asio::awaitable<FilterStage::Outcome> FilterStage::run_envelope(Filter& filter, const PolicyQuery& query,
                                                                const FilterFacts& facts) {
  using Kind = Outcome::Kind;
  const auto command = std::chrono::duration_cast<std::chrono::milliseconds>(filter.config.command_timeout);
  milter::MacroValues values = macro_values(facts, query.sender);
  Outcome pass;  // not asked, or continue: the action stays ""
  switch (query.kind) {
    case PolicyQueryKind::filter_connect: {
      if (auto verdict = co_await start(filter, facts, {})) co_return *verdict;
      co_return pass;
    }
    case PolicyQueryKind::filter_helo: {
      if (!filter.started) {
        if (auto verdict = co_await start(filter, facts, query.helo)) co_return *verdict;
        co_return pass;
      }
      auto outcome = co_await exchange(filter.link, filter.conversation, filter.conversation.helo(query.helo, values),
                                       command);
      if (auto verdict = judge(outcome, Stage::helo, facts.hostname)) {
        if (verdict->kind == Kind::refuse) filter.session_refusal = verdict->reply;
        co_return *verdict;
      }
      co_return pass;
    }
    case PolicyQueryKind::filter_mail: {
      filter.discard = false;
      filter.data_sent = false;
      // Connected again after a failure: connect and HELO first (a refusal there holds
      // for the session, like one said in step).
      if (auto verdict = co_await start(filter, facts, query.helo)) co_return *verdict;
      if (!filter.session_refusal.empty()) {
        Outcome refused{Kind::refuse, Stage::connect, "session_refused", filter.session_refusal, {}};
        co_return refused;
      }
      // The previous transaction ends here if the filter still has it open (RSET, a
      // refusal, a message refused by another filter).
      const std::string abort = filter.conversation.abort();
      if (!abort.empty()) {
        if (auto written = co_await filter.link.write(abort, command); !written) {
          filter.conversation.fail();
          co_return failed_at(Stage::mail, written.error());
        }
      }
      const auto arguments = split_words(query.parameters);
      auto outcome = co_await exchange(filter.link, filter.conversation,
                                       filter.conversation.mail(query.sender, arguments, values), command);
      if (auto verdict = judge(outcome, Stage::mail, facts.hostname)) co_return *verdict;
      co_return pass;
    }
    case PolicyQueryKind::filter_rcpt: {
      if (!filter.started) co_return pass;  // failed at MAIL with default accept: not this message
      const auto arguments = split_words(query.parameters);
      values.emplace_back("{rcpt_addr}", query.recipient);
      auto outcome = co_await exchange(filter.link, filter.conversation,
                                       filter.conversation.rcpt(query.recipient, arguments, values), command);
      if (auto verdict = judge(outcome, Stage::rcpt, facts.hostname)) co_return *verdict;
      co_return pass;
    }
    case PolicyQueryKind::filter_data: {
      if (!filter.started) co_return pass;
      filter.data_sent = true;
      auto outcome =
          co_await exchange(filter.link, filter.conversation, filter.conversation.data(values), command);
      if (auto verdict = judge(outcome, Stage::data, facts.hostname)) co_return *verdict;
      co_return pass;
    }
    default:
      co_return pass;
  }
}

asio::awaitable<FilterStage::Outcome> FilterStage::run_content(Filter& filter, const queue::NewMessage& message,
                                                               const std::optional<queue::FinishedBody>& file,
                                                               const FilterFacts& facts) {
  using Kind = Outcome::Kind;
  const auto& config = filter.config;
  const auto command = std::chrono::duration_cast<std::chrono::milliseconds>(config.command_timeout);
  const auto content = std::chrono::duration_cast<std::chrono::milliseconds>(config.content_timeout);
  const milter::MacroValues values = macro_values(facts, message.sender);
  const auto judge = [&](const milter::Outcome& outcome, Stage stage) {
    return ::relay::judge(outcome, stage, facts.hostname);
  };
  if (!filter.data_sent) {  // BDAT: DATA now
    auto outcome = co_await exchange(filter.link, filter.conversation, filter.conversation.data(values), command);
    if (auto verdict = judge(outcome, Stage::data)) co_return *verdict;
  }

  // The content: the header section first, then the body in chunks.
  std::string section;
  std::optional<queue::BodyReader> reader;
  if (file) {
    auto opened = queue::BodyReader::open(*spool_, file->name());
    auto head = spooled_head(*spool_, message, file->name());
    if (!opened || !head) co_return Outcome{Kind::failed, Stage::header, {}, {}, "cannot read the spooled body"};
    reader.emplace(std::move(*opened));
    reader->seek(head->body_at);  // the body follows the section sent below
    section = std::move(head->section);
  } else {
    const auto end = milter::header_section_end(message.body);
    section = message.body.substr(0, end.value_or(message.body.size()));
  }
  {
    std::string_view fields = section;
    if (fields.ends_with("\r\n\r\n")) fields.remove_suffix(2);
    else if (fields == "\r\n") fields = {};
    for (const auto& field : milter::split_header_section(fields)) {
      if (field.name.empty()) continue;
      auto outcome = co_await exchange(filter.link, filter.conversation,
                                       filter.conversation.header(field.name, milter::value_for_filter(field)),
                                       command);
      if (auto verdict = judge(outcome, Stage::header)) co_return *verdict;
    }
    auto outcome =
        co_await exchange(filter.link, filter.conversation, filter.conversation.end_of_headers(values), command);
    if (auto verdict = judge(outcome, Stage::eoh)) co_return *verdict;
  }
  if (filter.conversation.wants_body()) {
    std::string chunk;  // not zero-filled: each read overwrites the octets it returns
    chunk.resize_and_overwrite(milter::body_chunk_max, [](char*, std::size_t n) { return n; });
    std::uint64_t offset = section.size();
    while (filter.conversation.wants_body()) {
      std::string_view piece;
      if (reader) {
        auto n = reader->read(std::span<char>(chunk.data(), chunk.size()));
        if (!n) co_return Outcome{Kind::failed, Stage::body, {}, {}, "cannot read the spooled body"};
        piece = std::string_view(chunk.data(), *n);
      } else if (offset < message.body.size()) {
        piece = std::string_view(message.body).substr(offset, milter::body_chunk_max);
        offset += piece.size();
      }
      if (piece.empty()) break;
      auto outcome =
          co_await exchange(filter.link, filter.conversation, filter.conversation.body(piece), content);
      if (auto verdict = judge(outcome, Stage::body)) co_return *verdict;
    }
  }
  auto outcome =
      co_await exchange(filter.link, filter.conversation, filter.conversation.end_of_message(values), content);
  if (auto verdict = judge(outcome, Stage::eom)) co_return *verdict;
  co_return Outcome{Kind::pass, Stage::eom, "continue", {}, {}};
}

asio::awaitable<std::expected<FilterStage::Edits, std::string>> FilterStage::apply_edits(
    Filter& filter, queue::NewMessage& message, std::optional<queue::FinishedBody>& file) {
  Edits result;
  const auto& modifications = filter.conversation.modifications();
  if (modifications.empty()) co_return result;
  milter::Envelope envelope{message.sender, message.mail_parameters, message.recipients,
                            message.recipient_parameters};
  envelope.recipient_parameters.resize(envelope.recipients.size());
  std::string section;
  std::uint64_t body_at = 0;  // spooled: where the body starts in the file
  if (file) {
    auto head = spooled_head(*spool_, message, file->name());
    if (!head) co_return std::unexpected(std::string("cannot read the spooled body"));
    section = std::move(head->section);
    body_at = head->body_at;
  } else {
    section = message.body.substr(0, milter::header_section_end(message.body).value_or(message.body.size()));
  }
  if (!section.ends_with("\r\n\r\n") && section != "\r\n") section += "\r\n";  // no empty line: all header
  milter::MessageEdits edits = milter::apply_modifications(modifications, section, envelope);
  if (edits.quarantine_reason)
    result.quarantine = "quarantined by milter " + filter.config.name + ": " + *edits.quarantine_reason;
  result.changed.header_section = edits.headers_changed;
  result.changed.body = edits.body.has_value();
  if (edits.envelope_changed) {
    message.sender = std::move(envelope.sender);
    message.mail_parameters = std::move(envelope.mail_parameters);
    message.recipients = std::move(envelope.recipients);
    message.recipient_parameters = std::move(envelope.recipient_parameters);
  }
  if (!edits.headers_changed && !edits.body) co_return result;
  if (!file) {
    const std::size_t old_section = std::min(section.size(), message.body.size());
    std::string body = edits.body ? std::move(*edits.body) : message.body.substr(old_section);
    message.body = std::move(edits.header_section);
    message.body += body;
    co_return result;
  }
  if (!edits.body) {
    // Only the header section changed: it goes in the envelope and replaces the file's
    // first body_at octets for every reader (queue/stored_body_reader), as Postfix keeps
    // header edits apart from the body: no copy of the file, no second flush.
    message.body_prefix = std::move(edits.header_section);
    message.body_skip = body_at;
    co_return result;
  }
  // A replaced body is written to a new file, after the new header section; the commit
  // flushes it.
  auto writer = queue::BodyWriter::create(*spool_);
  if (!writer) co_return std::unexpected(std::string("cannot create a spool file: " + writer.error().message()));
  std::error_code error = writer->append(edits.header_section);
  if (!error) error = writer->append(*edits.body);
  if (error) co_return std::unexpected(std::string("cannot write the spool file: " + error.message()));
  auto finished = writer->finish();
  if (!finished) co_return std::unexpected(std::string("cannot write the spool file: " + finished.error().message()));
  // The commit flushes the new file as it does a received one (queue_bridge commit_spooled).
  message.body_file = finished->name();
  message.body_file_size = finished->size();
  message.body_prefix.clear();  // the new file holds the whole message
  message.body_skip = 0;
  file = std::move(*finished);  // the old file unlinks itself
  co_return result;
}

void FilterStage::settle(Filter& filter, Outcome& outcome, const FilterFacts& facts) {
  using Kind = Outcome::Kind;
  if (outcome.kind != Kind::failed) {
    if (filter.started) milter_health().succeeded(filter.config.name);
    return;
  }
  // The filter is down for everyone for a while; this session connects again at the next MAIL.
  filter.link.close();
  filter.started = false;
  // Within its back-off the mark stands as it was (the first error, the first deadline).
  const auto now = std::chrono::steady_clock::now();
  if (!milter_health().down(filter.config.name, now)) milter_health().failed(filter.config.name, outcome.error, now);
  const auto action = filter.config.default_action;
  outcome.action = "default_" + std::string(default_action_name(action));
  spdlog::warn("session={} milter={} stage={} failed: {}; default_action={}", session_id_, filter.config.name,
               milter::to_string(outcome.stage), outcome.error, default_action_name(action));
  switch (action) {
    case conf::MilterConfig::DefaultAction::accept: outcome.kind = Kind::pass; break;
    case conf::MilterConfig::DefaultAction::tempfail:
      outcome.kind = Kind::refuse;
      outcome.reply = format_reply(ReplyId::filter_tempfail);
      break;
    case conf::MilterConfig::DefaultAction::reject:
      outcome.kind = Kind::refuse;
      outcome.reply = format_reply(ReplyId::filter_reject);
      break;
    case conf::MilterConfig::DefaultAction::shutdown:
      outcome.kind = Kind::shutdown;
      outcome.reply = format_reply(ReplyId::filter_shutdown, facts.hostname);
      break;
  }
}

void FilterStage::record(const Filter& filter, const Outcome& outcome) {
  const std::string_view stage = milter::to_string(outcome.stage);
  ++counters_.milter_actions[{filter.config.name, std::string(stage), outcome.action}];
  spdlog::info("session={} listener={} milter={} stage={} action={}{}{}", session_id_, listener_, filter.config.name,
               stage, outcome.action, outcome.reply.empty() ? "" : " reply=",
               outcome.reply.substr(0, outcome.reply.find('\r')));
}

asio::awaitable<PolicyAnswer> FilterStage::answer(const PolicyQuery& query, const FilterFacts& facts) {
  using Kind = Outcome::Kind;
  PolicyAnswer answer;
  for (auto& owned : filters_) {
    Filter& filter = *owned;
    const auto started = std::chrono::steady_clock::now();
    Outcome outcome = co_await run_envelope(filter, query, facts);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    counters_.milter_latency[filter.config.name].observe(seconds);
    settle(filter, outcome, facts);
    // Going on is not news: only decisions are logged and counted.
    if (!outcome.action.empty()) record(filter, outcome);
    switch (outcome.kind) {
      case Kind::refuse:
        answer.filter_reply = outcome.reply;
        co_return answer;
      case Kind::shutdown:
        answer.filter_reply = outcome.reply;
        answer.filter_closes = true;
        co_return answer;
      case Kind::discard:
        filter.discard = true;  // the message goes on and is dropped at its end
        break;
      default:
        break;
    }
  }
  co_return answer;
}

asio::awaitable<FilterVerdict> FilterStage::check(queue::NewMessage& message, std::optional<queue::FinishedBody>& file,
                                                  const FilterFacts& facts) {
  using Kind = Outcome::Kind;
  FilterVerdict verdict;
  for (auto& owned : filters_) {  // a discard at MAIL or RCPT: the message ends here
    if (!owned->discard) continue;
    owned->discard = false;
    verdict.kind = FilterVerdict::Kind::discard;
    verdict.milter = owned->config.name;
    co_return verdict;
  }
  std::optional<std::string> quarantine;
  std::string quarantined_by;
  for (auto& owned : filters_) {
    Filter& filter = *owned;
    // Not interested any more: accepted (or failed with default accept) before now.
    if (!filter.started || filter.conversation.message_done()) continue;
    const auto started = std::chrono::steady_clock::now();
    Outcome outcome = co_await run_content(filter, message, file, facts);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    counters_.milter_latency[filter.config.name].observe(seconds);
    settle(filter, outcome, facts);
    if (outcome.kind == Kind::pass && outcome.stage == Stage::eom) {
      auto edits = co_await apply_edits(filter, message, file);
      if (!edits) {
        spdlog::error("session={} milter={} modifications not applied: {}", session_id_, filter.config.name,
                      edits.error());
        outcome.kind = Kind::refuse;
        outcome.action = "modify_failed";
        outcome.reply = format_reply(ReplyId::local_error);
      } else {
        verdict.changed.header_section |= edits->changed.header_section;
        verdict.changed.body |= edits->changed.body;
        if (edits->quarantine && !quarantine) {
          quarantine = std::move(edits->quarantine);
          quarantined_by = filter.config.name;
          outcome.action = "quarantine";
        }
      }
    }
    record(filter, outcome);
    verdict.milter = filter.config.name;
    verdict.reply = outcome.reply;
    switch (outcome.kind) {
      case Kind::refuse: verdict.kind = FilterVerdict::Kind::refuse; co_return verdict;
      case Kind::discard: verdict.kind = FilterVerdict::Kind::discard; co_return verdict;
      case Kind::shutdown: verdict.kind = FilterVerdict::Kind::shutdown; co_return verdict;
      default: break;
    }
    if (message.recipients.empty()) {  // every recipient deleted: nothing left to deliver
      spdlog::info("session={} milter={} deleted every recipient: message discarded", session_id_, filter.config.name);
      verdict.kind = FilterVerdict::Kind::discard;
      co_return verdict;
    }
  }
  verdict.milter.clear();
  verdict.reply.clear();
  if (quarantine) {
    verdict.kind = FilterVerdict::Kind::quarantine;
    verdict.milter = quarantined_by;
    verdict.reason = *quarantine;
  }
  co_return verdict;
}

bool answer_unstored(const FilterVerdict& verdict, ServerFsm& fsm, std::string_view queue_id, std::string& out) {
  std::string replaced;  // the FSM's own reply for the ended transaction, replaced by the filter's
  switch (verdict.kind) {
    case FilterVerdict::Kind::pass:
    case FilterVerdict::Kind::quarantine:
      return false;
    case FilterVerdict::Kind::discard:
      fsm.commit_done(CommitStatus::committed, queue_id, out);
      return true;
    case FilterVerdict::Kind::refuse:
      fsm.commit_done(CommitStatus::temporary_failure, {}, replaced);
      out += verdict.reply;
      return true;
    case FilterVerdict::Kind::shutdown:
      fsm.commit_done(CommitStatus::temporary_failure, {}, replaced);
      fsm.shutting_down(replaced);
      out += verdict.reply;
      return true;
  }
  return false;
}

asio::awaitable<void> FilterStage::close() {
  for (auto& filter : filters_) {
    if (!filter->link.is_open()) continue;
    const std::string quit = filter->conversation.quit();
    if (!quit.empty()) co_await filter->link.write(quit, std::chrono::seconds(1));
    filter->link.close();
  }
}

}  // namespace relay
