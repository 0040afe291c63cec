// queue/pg_pipeline.cpp — PgPipeline: sending ahead, reading results in order.
#include "queue/pg_pipeline.hpp"

#include <utility>

namespace queue {

bool PgPipeline::start(PGconn* connection) noexcept {
  reset();
  if (connection == nullptr || PQenterPipelineMode(connection) != 1) return false;
  connection_ = connection;
  return true;
}

void PgPipeline::reset() noexcept {
  connection_ = nullptr;
  unread_.clear();
  flushed_ = true;
  failure_ = PgResult();
  failed_ = false;
}

bool PgPipeline::queued(int sent, bool wanted) {
  if (sent != 1) return false;
  unread_.push_back(wanted);
  flushed_ = false;
  return true;
}

bool PgPipeline::defer(const char* statement, const PgParams& params) {
  return connection_ != nullptr && queued(PQsendQueryPrepared(connection_, statement, params.count(), params.values(),
                                                              params.lengths(), params.formats(), 0),
                                          false);
}

bool PgPipeline::send(const char* statement, const PgParams& params, bool binary_result) {
  return connection_ != nullptr && queued(PQsendQueryPrepared(connection_, statement, params.count(), params.values(),
                                                              params.lengths(), params.formats(), binary_result ? 1 : 0),
                                          true);
}

// Extended protocol even without parameters: pipeline mode allows nothing else.
bool PgPipeline::defer_sql(const char* sql) {
  return connection_ != nullptr &&
         queued(PQsendQueryParams(connection_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0), false);
}

bool PgPipeline::send_sql(const char* sql, const PgParams& params, bool binary_result) {
  return connection_ != nullptr && queued(PQsendQueryParams(connection_, sql, params.count(), nullptr, params.values(),
                                                            params.lengths(), params.formats(), binary_result ? 1 : 0),
                                          true);
}

PgResult PgPipeline::take() noexcept {
  PgResult result(PQgetResult(connection_));
  // Each statement's results end with a null; the connection failing ends them early.
  if (result.get() != nullptr) PQclear(PQgetResult(connection_));
  return result;
}

bool PgPipeline::flush() noexcept {
  if (flushed_) return true;
  if (PQsendFlushRequest(connection_) != 1 || PQflush(connection_) != 0) return false;
  flushed_ = true;
  return true;
}

void PgPipeline::note(PgResult result) noexcept {
  if (failed_ || result.ok()) return;
  failure_ = std::move(result);
  failed_ = true;
}

PgResult PgPipeline::read() {
  if (connection_ == nullptr || !flush()) return PgResult();
  while (!unread_.empty()) {
    const bool wanted = unread_.front();
    unread_.pop_front();
    PgResult result = take();
    if (result.get() == nullptr) {  // the connection failed: nothing more will come
      unread_.clear();
      return result;
    }
    if (!wanted) {
      note(std::move(result));
      continue;
    }
    // A statement after a failed one was skipped: the failure is the news.
    if (failed_ && failure_.get() != nullptr) return std::move(failure_);
    return result;
  }
  return PgResult();  // nothing was sent to read
}

PgResult PgPipeline::finish() {
  if (connection_ == nullptr) return PgResult();
  PGconn* const connection = connection_;
  if (PQpipelineSync(connection) != 1) {
    reset();
    return PgResult();
  }
  PgResult last;
  while (!unread_.empty()) {
    const bool wanted = unread_.front();
    unread_.pop_front();
    PgResult result = take();
    if (result.get() == nullptr) {
      reset();
      return result;
    }
    if (wanted) {
      last = std::move(result);
    } else {
      note(std::move(result));
    }
  }
  PgResult sync(PQgetResult(connection));
  const bool synced = sync.status() == PGRES_PIPELINE_SYNC && PQexitPipelineMode(connection) == 1;
  PgResult failure = std::move(failure_);
  const bool failed = failed_;
  reset();
  if (!synced) return PgResult();
  return failed && failure.get() != nullptr ? std::move(failure) : std::move(last);
}

}  // namespace queue
