// relay/server/server_fsm_policy.cpp — policy decisions of the server session and the
// asynchronous questions behind some of them (DNSBL, recipient verification).
//
// The FSM decides *whether* to ask and what an answer means; the driver only fetches the
// answer. While a question is open, consume() takes nothing, so pipelined commands wait
// in the driver's buffer (like behind awaiting_commit) and are answered in order.
// DNSBL at RCPT (the default) is asked once per session, at the first RCPT that passed
// the synchronous rules; the result holds for the rest of the session. Trusted and
// authenticated clients are never asked about (they may relay anyway).
#include "relay/server/server_fsm.hpp"

#include <utility>

namespace relay {

// Every policy evaluation passes here, so the driver sees each one once.
PolicyEvent ServerFsm::event_for(PolicyStage stage, policy::Decision decision) const {
  PolicyEvent event{.stage = stage, .decision = decision, .helo = helo_};
  if (stage == PolicyStage::rcpt || stage == PolicyStage::data) event.sender = tx_.message.sender;
  return event;
}

// Every policy evaluation passes here, so the driver sees each one once.
void ServerFsm::decided(PolicyEvent event) {
  event.reply = reply_for(event.decision, event.stage);
  last_decision_ = event.decision;
  last_decision_stage_ = event.stage;
  if (decision_observer_) decision_observer_(event);
}

bool ServerFsm::peer_trusted() const noexcept { return policy_->trusted(client()); }

void ServerFsm::ask(PolicyQuery query) {
  query_ = std::move(query);
  enter(ServerState::checking_policy);
}

void ServerFsm::after_rcpt_policy(std::string recipient, std::string& out) {
  const bool trusted = peer_trusted();
  if (settings_.dnsbl && !trusted) {
    if (dnsbl_state_ == DnsblState::unchecked && !settings_.dnsbl_at_connect) {
      query_at_connect_ = false;
      return ask(PolicyQuery{PolicyQueryKind::dnsbl, peer_.ip, peer_.address, tx_.message.sender, std::move(recipient)});
    }
    if (dnsbl_state_ == DnsblState::listed) return refuse_listed(recipient, out);
  }
  if (settings_.verify_recipients && !trusted) {
    const auto at = recipient.rfind('@');
    const std::string_view domain = at == std::string::npos ? std::string_view{} : std::string_view(recipient).substr(at + 1);
    if (policy_->accepts_domain(domain)) {
      return ask(
          PolicyQuery{PolicyQueryKind::recipient, peer_.ip, peer_.address, tx_.message.sender, std::move(recipient)});
    }
  }
  accept_recipient(std::move(recipient), out);
}

void ServerFsm::accept_recipient(std::string recipient, std::string& out) {
  policy::Decision decision;
  if (limits_ != nullptr) decision = limits_->take_recipient(peer_.ip, peer_trusted(), steady_now());
  if (!decision.accepted()) return refuse_recipient(decision, recipient, out);
  // The content filters see the recipient last: only one we would take.
  if (settings_.filters) {
    PolicyQuery query{PolicyQueryKind::filter_rcpt, peer_.ip, peer_.address, tx_.message.sender, std::move(recipient)};
    query.helo = helo_;
    query.parameters = tx_.rcpt_parameters;
    query.queue_id = tx_.message.queue_id.text;
    return ask(std::move(query));
  }
  take_recipient(std::move(recipient), out);
}

void ServerFsm::take_recipient(std::string recipient, std::string& out) {
  PolicyEvent event = event_for(PolicyStage::rcpt, policy::Decision::accept());
  event.recipient = recipient;
  decided(event);
  tx_.message.recipients.push_back(std::move(recipient));
  tx_.message.recipient_parameters.push_back(std::exchange(tx_.rcpt_parameters, {}));
  reply(out, ReplyId::recipient_ok);
}

void ServerFsm::refuse_recipient(policy::Decision decision, std::string_view recipient, std::string& out) {
  PolicyEvent event = event_for(PolicyStage::rcpt, decision);
  event.recipient = recipient;
  decided(event);
  policy_refusal(out, reply_for(decision, PolicyStage::rcpt));
}

void ServerFsm::refuse_listed(std::string_view recipient, std::string& out) {
  PolicyEvent event = event_for(PolicyStage::rcpt, policy::Decision::reject(policy::Reason::dnsbl_listed));
  event.recipient = recipient;
  decided(event);
  policy_refusal(out, ReplyId::dnsbl_listed, {peer_.address, dnsbl_listing_});
}

void ServerFsm::policy_answered(const PolicyAnswer& answer, std::string& out) {
  if (state_ != ServerState::checking_policy) return;
  PolicyQuery query = std::exchange(query_, PolicyQuery{});
  if (is_filter_query(query.kind)) return filter_answered(query, answer, out);
  if (query.kind == PolicyQueryKind::dnsbl) {
    const bool listed = answer.decision.verdict == policy::Verdict::reject;
    dnsbl_state_ = listed ? DnsblState::listed : DnsblState::passed;
    // "zone" or "zone; the zone's TXT reason", as Postfix's reject_rbl_client words it.
    dnsbl_listing_ = !listed ? std::string{} : answer.reason.empty() ? answer.zone : answer.zone + "; " + answer.reason;
    dnsbl_header_ = listed ? std::string{} : answer.header;
    if (query_at_connect_) {
      query_at_connect_ = false;
      if (listed) {
        decided(event_for(PolicyStage::connect, policy::Decision::reject(policy::Reason::dnsbl_listed)));
        // Before the banner only 554 then closing makes sense (RFC 5321 §3.1).
        reply(out, ReplyId::dnsbl_listed, {peer_.address, dnsbl_listing_});
        return enter(ServerState::closed);
      }
      decided(event_for(PolicyStage::connect, policy::Decision::accept()));
      if (settings_.filters) return ask(PolicyQuery{PolicyQueryKind::filter_connect, peer_.ip, peer_.address, {}, {}});
      reply(out, ReplyId::banner, {settings_.hostname});
      return enter(ServerState::awaiting_helo);
    }
    enter(ServerState::in_transaction);
    if (listed) return refuse_listed(query.recipient, out);
    return after_rcpt_policy(std::move(query.recipient), out);
  }
  enter(ServerState::in_transaction);
  if (answer.decision.accepted()) return accept_recipient(std::move(query.recipient), out);
  refuse_recipient(answer.decision, query.recipient, out);
}

// --- Content filters ---------------------------------------------------------------------
//
// What a filter's answer does, as Postfix's smtpd_milters: at connect or HELO a refusal
// holds for the session — the greeting goes on, every later MAIL gets the filters' reply,
// the client may still QUIT; at MAIL the transaction does not begin; at RCPT only that
// recipient is refused; at DATA the transaction ends. A 421 (a filter's shutdown) is said
// at once and ends the session.

bool ServerFsm::query_in_transaction() const noexcept {
  switch (query_.kind) {
    case PolicyQueryKind::dnsbl: return !query_at_connect_;
    case PolicyQueryKind::recipient:
    case PolicyQueryKind::filter_rcpt:
    case PolicyQueryKind::filter_data: return true;
    case PolicyQueryKind::filter_connect:
    case PolicyQueryKind::filter_helo:
    case PolicyQueryKind::filter_mail: return false;
  }
  return false;
}

void ServerFsm::filter_refused(std::string_view text, std::string& out) {
  out += text;
  if (!text.starts_with('5')) return;
  ++errors_;
  if (settings_.max_errors != 0 && errors_ >= settings_.max_errors) close_with(out, ReplyId::too_many_errors);
}

void ServerFsm::filter_answered(const PolicyQuery& query, const PolicyAnswer& answer, std::string& out) {
  const bool refused = !answer.filter_reply.empty();
  if (refused && answer.filter_closes) {
    reset_transaction();
    out += answer.filter_reply;
    return enter(ServerState::closed);
  }
  switch (query.kind) {
    case PolicyQueryKind::filter_connect:
      if (refused) filter_refusal_ = answer.filter_reply;
      reply(out, ReplyId::banner, {settings_.hostname});
      return enter(ServerState::awaiting_helo);
    case PolicyQueryKind::filter_helo:
      if (refused) filter_refusal_ = answer.filter_reply;
      return finish_greet(out);
    case PolicyQueryKind::filter_mail:
      if (refused) {
        reset_transaction();
        enter(ServerState::ready);
        return filter_refused(answer.filter_reply, out);
      }
      reply(out, ReplyId::sender_ok);
      return enter(ServerState::in_transaction);
    case PolicyQueryKind::filter_rcpt:
      enter(ServerState::in_transaction);
      if (refused) {
        tx_.rcpt_parameters.clear();
        return filter_refused(answer.filter_reply, out);
      }
      return take_recipient(query.recipient, out);
    case PolicyQueryKind::filter_data:
      // A refused DATA ends the transaction, as a refused message does: the filters are
      // done with it, and a second DATA must not slip past them.
      if (refused) {
        reset_transaction();
        enter(ServerState::ready);
        return filter_refused(answer.filter_reply, out);
      }
      enter(ServerState::in_transaction);
      return start_data(tx_.data_requested, out);
    default:
      return;
  }
}

}  // namespace relay
