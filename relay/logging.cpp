// relay/logging.cpp — spdlog set-up for the daemon and the CLI.
#include "relay/logging.hpp"

#include <chrono>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/syslog_sink.h>
#include <syslog.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace relay {

std::string configure_logging(const conf::LogConfig& config) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (config.syslog) {
      // syslog adds its own time stamp and level; LOG_PID tells instances apart.
      logger = std::make_shared<spdlog::logger>(
          "hubrelay", std::make_shared<spdlog::sinks::syslog_sink_mt>("hubrelay", LOG_PID, LOG_MAIL, true));
    } else if (config.file.empty()) {
      logger = std::make_shared<spdlog::logger>("hubrelay", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else if (config.max_size > 0) {
      logger = std::make_shared<spdlog::logger>(
          "hubrelay", std::make_shared<spdlog::sinks::rotating_file_sink_mt>(config.file, config.max_size,
                                                                             config.max_files));
    } else {
      logger = std::make_shared<spdlog::logger>(
          "hubrelay", std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return std::string("cannot open log file: ") + e.what();
  }
  if (config.syslog) {
    logger->set_pattern("%l %v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  logger->set_level(spdlog::level::from_str(config.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  // Info lines (deliveries, decisions) otherwise sit in the file buffer until it fills;
  // an administrator tailing the log on a quiet relay expects them within a second.
  // Safe because every sink above is an _mt sink.
  spdlog::flush_every(std::chrono::seconds(1));
  return {};
}

}  // namespace relay
