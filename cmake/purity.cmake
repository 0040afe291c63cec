# cmake/purity.cmake — pure targets link and include no Asio, OpenSSL, c-ares or SQLite.
#
# Owns: the list of pure targets (protocol, decisions, formatting: values in, values out)
# and two checks of it. (1) At configure time, hubrelay_check_purity_links() walks each
# pure target's link closure (LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES, recursively)
# and stops the configuration with the offending chain when it reaches a forbidden
# library or one of the project's I/O targets. (2) The ctest `purity_includes` runs
# cmake/purity_includes.py over generated source lists and fails when a pure target's
# sources, or any project header they include (followed transitively), include an Asio,
# Beast, OpenSSL, c-ares or SQLite header, or a header of an I/O target.
# The one exception: policy/password_hash.cpp derives PBKDF2-HMAC-SHA256 keys with
# libcrypto (OpenSSL::Crypto, <openssl/evp.h> and <openssl/crypto.h> for the constant-time
# compare) — a pure computation over bytes, no I/O; reimplementing it would be worse than
# the dependency. It is allowed for that file and for hubrelay_policy's own link only.
# See also: docs/architecture.md (dependency direction), STYLE.md B1.

set(HUBRELAY_PURE_TARGETS
  hubrelay_conf hubrelay_policy hubrelay_routing hubrelay_health hubrelay_smtp hubrelay_server_fsm
  hubrelay_client_judge hubrelay_notices hubrelay_hop_limits hubrelay_admin_core hubrelay_route_explain hubrelay_counters
  hubrelay_queue_model hubrelay_cli_args hubrelay_tracking_core hubrelay_dkim_core hubrelay_milter hubrelay_tlsrpt_core)

# Targets that do I/O: a pure target linking one of them links Asio, OpenSSL, c-ares or
# SQLite through it, and their headers are off limits to pure code.
set(HUBRELAY_IO_TARGETS
  hubrelay_asio hubrelay_runtime hubrelay_queue hubrelay_routing_io hubrelay_health_io hubrelay_server
  hubrelay_client hubrelay_delivery hubrelay_admin hubrelay_cli hubrelay_daemon hubrelay_tracking hubrelay_dkim)

set(HUBRELAY_FORBIDDEN_LINKS
  ${HUBRELAY_IO_TARGETS} OpenSSL::SSL OpenSSL::Crypto PkgConfig::CARES SQLite::SQLite3
  Boost::asio Boost::beast Boost::system)
# The same libraries linked by plain name or path instead of their imported targets.
set(HUBRELAY_FORBIDDEN_LINK_REGEX "(^|/|-l)(lib)?(ssl|crypto|cares|sqlite3|boost_system)([.]|$)")
# "<target>><dependency>" edges that are allowed (see the header comment).
set(HUBRELAY_PURITY_ALLOWED_EDGES "hubrelay_policy>OpenSSL::Crypto")

# The direct dependencies of `target`, generator expressions $<LINK_ONLY:x> unwrapped,
# other generator expressions dropped.
function(_hubrelay_direct_links target out_var)
  set(result "")
  foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(links ${target} ${property})
    if(NOT links)
      continue()
    endif()
    foreach(link IN LISTS links)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
      if(link MATCHES "^\\$<" OR link STREQUAL "")
        continue()
      endif()
      list(APPEND result "${link}")
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

# Stops the configuration when a pure target reaches a forbidden library.
function(hubrelay_check_purity_links)
  set(problems "")
  foreach(pure IN LISTS HUBRELAY_PURE_TARGETS)
    if(NOT TARGET ${pure})
      list(APPEND problems "pure target ${pure} does not exist (update cmake/purity.cmake)")
      continue()
    endif()
    set(seen ${pure})
    set(queue ${pure})
    set(chain_${pure} "${pure}")
    while(queue)
      list(POP_FRONT queue current)
      _hubrelay_direct_links(${current} links)
      foreach(link IN LISTS links)
        if("${current}>${link}" IN_LIST HUBRELAY_PURITY_ALLOWED_EDGES OR link IN_LIST seen)
          continue()
        endif()
        list(APPEND seen "${link}")
        string(MAKE_C_IDENTIFIER "${link}" id)
        string(MAKE_C_IDENTIFIER "${current}" current_id)
        if(current STREQUAL pure)
          set(chain_${id} "${pure} -> ${link}")
        else()
          set(chain_${id} "${chain_${current_id}} -> ${link}")
        endif()
        if(link IN_LIST HUBRELAY_FORBIDDEN_LINKS OR link MATCHES "${HUBRELAY_FORBIDDEN_LINK_REGEX}")
          list(APPEND problems "${chain_${id}}")
        elseif(TARGET ${link})
          list(APPEND queue "${link}")
        endif()
      endforeach()
    endwhile()
  endforeach()
  if(problems)
    list(JOIN problems "\n  " text)
    message(FATAL_ERROR "purity: pure targets link Asio, OpenSSL, c-ares, SQLite or an I/O target:\n  ${text}\n"
                        "(pure targets and exceptions: cmake/purity.cmake)")
  endif()
endfunction()

# Writes <build>/purity/{pure,io}/<target>.txt (the target's SOURCE_DIR, then its sources)
# and registers the ctest that checks their includes.
function(hubrelay_add_purity_include_test)
  foreach(kind pure io)
    if(kind STREQUAL "pure")
      set(targets ${HUBRELAY_PURE_TARGETS})
    else()
      set(targets ${HUBRELAY_IO_TARGETS})
    endif()
    foreach(target IN LISTS targets)
      file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/purity/${kind}/${target}.txt
           CONTENT "$<TARGET_PROPERTY:${target},SOURCE_DIR>\n$<JOIN:$<TARGET_PROPERTY:${target},SOURCES>,\n>\n")
    endforeach()
  endforeach()
  add_test(NAME purity_includes
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/cmake/purity_includes.py
                   ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/purity)
endfunction()
