// relay/cli/arguments.cpp — see arguments.hpp.
#include "relay/cli/arguments.hpp"

namespace relay::cli {

std::expected<Words, std::string> parse_words(const std::vector<std::string>& words, const OptionSpec& spec) {
  Words out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "--help" || word == "-h") {
      out.help = true;
      continue;
    }
    // A lone "-" is a positional (conventionally standard input); "-c" is --config.
    if (!word.starts_with("-") || word == "-") {
      out.positional.push_back(word);
      continue;
    }
    std::string key = word == "-c" ? "config" : word.starts_with("--") ? word.substr(2) : std::string{};
    if (key.empty()) return std::unexpected("unknown option " + word);
    std::optional<std::string> value;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.erase(eq);
    }
    const bool is_config = key == "config";
    if (spec.flags.contains(key)) {
      if (value) return std::unexpected("option --" + key + " takes no value");
      out.flags.insert(key);
      continue;
    }
    if (!is_config && !spec.valued.contains(key)) return std::unexpected("unknown option --" + key);
    if (!value) {
      // The next word is the value unless it is itself an option: "--state --json"
      // is a forgotten value, not a state called "--json".
      if (i + 1 >= words.size() || (words[i + 1].starts_with("--") && words[i + 1].size() > 2))
        return std::unexpected("option --" + key + " needs a value");
      value = words[++i];
    }
    if (is_config) out.config = *value;
    else out.options[key] = *value;
  }
  return out;
}

}  // namespace relay::cli

namespace relay::cli {

std::optional<std::size_t> first_positional(const std::vector<std::string>& words) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--config" || words[i] == "-c") {
      ++i;
    } else if (!words[i].starts_with("-") || words[i] == "-") {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace relay::cli
