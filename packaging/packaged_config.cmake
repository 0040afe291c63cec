# packaging/packaged_config.cmake — writes the configuration file that installs as
# /etc/hubrelay/hubrelay.toml, from conf/hubrelay.example.toml (the one source: it is the
# documented and tested example, so a second hand-kept copy would drift from it).
# Run as `cmake -DSOURCE=... -DDESTINATION=... -P packaged_config.cmake`.
# Changes, each checked so an edit of the example cannot silently skip one:
#   state_dir "state" -> "/var/lib/hubrelay": the unit's StateDirectory, the only
#     writable place for the queue under ProtectSystem=strict;
#   [log] file stays "" (stderr), which systemd hands to the journal;
#   [relay] user stays commented out: the unit starts the daemon as hubrelay already.
file(READ "${SOURCE}" text)

function(replace_once from to)
  string(FIND "${text}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "packaged_config.cmake: '${from}' not found in ${SOURCE}")
  endif()
  string(REPLACE "${from}" "${to}" replaced "${text}")
  set(text "${replaced}" PARENT_SCOPE)
endfunction()

replace_once("# hubrelay.example.toml — a complete, commented example configuration.\n"
             "# /etc/hubrelay/hubrelay.toml — hubrelay's configuration, as installed by the package.\n#\n# Made from the example configuration: state_dir is /var/lib/hubrelay and the log goes\n# to standard error, which systemd passes to the journal (journalctl -u hubrelay).\n# The listeners below bind loopback only: set your addresses, hops and routes, check with\n# `hubrelay check-config`, then `systemctl restart hubrelay`. See hubrelay.toml(5).\n")
replace_once("state_dir = \"state\"\n" "state_dir = \"/var/lib/hubrelay\"\n")
replace_once("# user = \"hubrelay\"\n"
             "# Under systemd the unit already runs hubrelay as this user: leave it unset.\n# user = \"hubrelay\"\n")
replace_once("file = \"\"\n" "file = \"\"\n# (with systemd: stderr goes to the journal; /var/log/hubrelay is writable for a file)\n")
file(WRITE "${DESTINATION}" "${text}")
